//go:build race

package main

// raceEnabled reports that the tests run with the race detector, so that
// the command they build and run gets it too.
const raceEnabled = true
