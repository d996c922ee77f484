package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// report collects per-cell numbers and prints them as a table at the end of
// TestInterop (and into out/summary.txt).
type report struct {
	mu    sync.Mutex
	cells []*cellResult
}

type cellResult struct {
	name       string
	failed     bool
	connects   []time.Duration // both sides connected, from peer creation
	goConnects []time.Duration // the Go peer's connect, from its creation
	jsConnects []time.Duration // the JS peer's own connect time (its clock)
	closes     []time.Duration // destroy on one side → close on the other
	media      []string        // what the media checks saw
	restarts   []string        // what the ICE restarts took
}

func (r *report) cell(name string) *cellResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := &cellResult{name: name}
	r.cells = append(r.cells, c)
	return c
}

func (c *cellResult) addConnect(d time.Duration, pr *pair) {
	c.connects = append(c.connects, d)
	c.goConnects = append(c.goConnects, pr.g.connectAt.Sub(pr.start))
	c.jsConnects = append(c.jsConnects, time.Duration(pr.js.connectEv.Ms*float64(time.Millisecond)))
}

func (c *cellResult) addClose(d time.Duration) { c.closes = append(c.closes, d) }

func (c *cellResult) addRestart(s string) { c.restarts = append(c.restarts, s) }

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func (r *report) print(t *testing.T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	w := len("cell")
	for _, c := range r.cells {
		w = max(w, len(c.name))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-*s %-6s %7s %16s %16s %16s %14s\n", w, "cell", "result", "n", "median connect", "Go connect", "JS connect", "max close")
	for _, c := range r.cells {
		res := "PASS"
		if c.failed {
			res = "FAIL"
		}
		maxClose := time.Duration(0)
		if len(c.closes) > 0 {
			maxClose = slices.Max(c.closes)
		}
		fmt.Fprintf(&b, "%-*s %-6s %7d %16s %16s %16s %14s\n", w, c.name, res, len(c.connects),
			ms(median(c.connects)), ms(median(c.goConnects)), ms(median(c.jsConnects)), ms(maxClose))
	}
	for _, c := range r.cells {
		for _, s := range c.restarts {
			fmt.Fprintf(&b, "%s ice-restart: %s\n", c.name, s)
		}
	}
	for _, c := range r.cells {
		for _, m := range c.media {
			fmt.Fprintf(&b, "%s media: %s\n", c.name, m)
		}
	}
	t.Logf("interop summary (connect: peers created → both connected, loopback, no ICE servers):\n%s", b.String())
	_ = os.WriteFile(filepath.Join(outDir, "summary.txt"), []byte(b.String()), 0o644)
}
