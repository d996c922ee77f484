// Package leakcheck finds goroutines that tests left running. The library
// promises that no goroutine outlives Close; the test binaries of the
// package and of the examples check it with Main.
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Grace is how long Leaked waits for goroutines to finish: Pion ends some
// of its goroutines (timers, UDP readers) a moment after Close returns.
const Grace = 5 * time.Second

// Main runs the tests and, when they passed, fails the binary if
// goroutines they started are still alive after Grace, printing them.
func Main(m *testing.M) {
	before := Snapshot()
	code := m.Run()
	if code == 0 {
		if leaked := Leaked(before); len(leaked) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: %d goroutines left after the tests:\n\n%s\n",
				len(leaked), strings.Join(leaked, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

// Set holds the "goroutine N" headers of goroutines.
type Set map[string]bool

// Snapshot returns the goroutines running now.
func Snapshot() Set {
	ids := Set{}
	for _, g := range Stacks() {
		ids[header(g)] = true
	}
	return ids
}

// Leaked polls, for up to Grace, for goroutines not in before, other than
// the runtime's and testing's own, and returns their stacks (nil once there
// are none). The bounded sleep between polls is the one place where tests
// sleep: there is no event for "another package's goroutine has exited".
func Leaked(before Set) []string {
	deadline := time.Now().Add(Grace)
	for {
		var leaked []string
		for _, g := range Stacks() {
			if !before[header(g)] && !isSystem(g) {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stacks returns each goroutine's stack as runtime.Stack formats it.
// Stacks returns the stack of every goroutine, one string each.
func Stacks() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Split(strings.TrimSpace(string(buf[:n])), "\n\n")
		}
		buf = make([]byte, 2*len(buf))
	}
}

func header(stack string) string {
	h, _, _ := strings.Cut(stack, "[")
	return strings.TrimSpace(h)
}

// isSystem reports whether every function in the stack belongs to the
// runtime, testing or signal handling (GC workers, the test runner, the
// goroutine running TestMain).
func isSystem(stack string) bool {
	for _, l := range strings.Split(stack, "\n")[1:] {
		if strings.HasPrefix(l, "\t") {
			continue // file:line
		}
		fn := strings.TrimPrefix(l, "created by ")
		switch {
		case strings.HasPrefix(fn, "runtime."), strings.HasPrefix(fn, "runtime/"),
			strings.HasPrefix(fn, "testing."), strings.HasPrefix(fn, "os/signal."),
			strings.HasPrefix(fn, "main.main"):
			continue
		}
		return false
	}
	return true
}
