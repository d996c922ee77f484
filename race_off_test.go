//go:build !race

package simplepeer_test

// raceEnabled reports that the race detector is on: it slows the peers
// 5-10x, so the longest tests run fewer rounds.
const raceEnabled = false
