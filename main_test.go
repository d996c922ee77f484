package simplepeer_test

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// leakGrace is how long TestMain lets goroutines finish after the tests:
// Pion ends some of its goroutines (timers, UDP readers) a moment after
// Close returns.
const leakGrace = 5 * time.Second

// TestMain runs the tests, then fails if goroutines started by them are
// still alive: the library promises that no goroutine outlives Close (the
// README's "no goroutine left behind"), and every test closes its peers.
func TestMain(m *testing.M) {
	before := goroutineIDs(goroutineStacks())
	code := m.Run()
	if code == 0 {
		if leaked := waitForLeaks(before); len(leaked) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: %d goroutines left after the tests:\n\n%s\n",
				len(leaked), strings.Join(leaked, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

// waitForLeaks polls, for up to leakGrace, for goroutines that were not
// running before the tests, ignoring the runtime's and testing's own. It
// returns their stacks, or nil once there are none. The bounded sleep
// between polls is the one place where the tests sleep: there is no event
// to wait on for "another package's goroutine has exited".
func waitForLeaks(before map[string]bool) []string {
	deadline := time.Now().Add(leakGrace)
	for {
		var leaked []string
		for _, g := range goroutineStacks() {
			if !before[goroutineID(g)] && !isSystemGoroutine(g) {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// goroutineStacks returns the stack of every goroutine, one per element,
// as runtime.Stack formats them ("goroutine N [state]:\nframes...").
func goroutineStacks() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	return strings.Split(strings.TrimSpace(string(buf)), "\n\n")
}

// goroutineID returns the "goroutine N" header of a stack.
func goroutineID(stack string) string {
	header, _, _ := strings.Cut(stack, "[")
	return strings.TrimSpace(header)
}

func goroutineIDs(stacks []string) map[string]bool {
	ids := make(map[string]bool, len(stacks))
	for _, s := range stacks {
		ids[goroutineID(s)] = true
	}
	return ids
}

// isSystemGoroutine reports whether every function in the stack belongs to
// the runtime or the testing package (GC workers, the test runner, the
// goroutine running TestMain), so it is not one a test leaked.
func isSystemGoroutine(stack string) bool {
	lines := strings.Split(stack, "\n")
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "\t") {
			continue // file:line
		}
		fn := strings.TrimPrefix(l, "created by ")
		switch {
		case strings.HasPrefix(fn, "runtime."),
			strings.HasPrefix(fn, "runtime/"),
			strings.HasPrefix(fn, "testing."),
			strings.HasPrefix(fn, "os/signal."),
			strings.HasPrefix(fn, "main.main"):
			continue
		}
		return false
	}
	return true
}
