package main

import (
	"bufio"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/gosimplepeer/simplepeer/internal/leakcheck"
)

// snapshot is the process's goroutines and memory after a full GC.
type snapshot struct {
	goroutines int
	heap       uint64 // HeapInuse
	stacks     uint64 // StackInuse
}

func (s snapshot) mem() uint64 { return s.heap + s.stacks }

func take() snapshot {
	runtime.GC()
	runtime.GC() // the first may leave finalizers' objects for the second
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return snapshot{goroutines: runtime.NumGoroutine(), heap: ms.HeapInuse, stacks: ms.StackInuse}
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// groups counts the process's goroutines by where they wait: the first
// frame outside the runtime and sync, and the function that started them.
type groups map[string]int

func goroutineGroups() groups {
	return parseStacks(strings.NewReader(strings.Join(leakcheck.Stacks(), "\n\n")))
}

// parseStacks reads runtime.Stack(all) output.
func parseStacks(r io.Reader) groups {
	g := groups{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	var top, creator string
	in := false
	flush := func() {
		if in {
			g[top+"  ← "+creator]++
		}
		in, top, creator = false, "", "?"
	}
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "goroutine "):
			flush()
			in = true
		case line == "" || strings.HasPrefix(line, "\t"):
		case strings.HasPrefix(line, "created by "):
			creator = strings.TrimPrefix(line, "created by ")
			if i := strings.Index(creator, " in goroutine "); i >= 0 {
				creator = creator[:i]
			}
		case top == "":
			fn := line
			if i := strings.LastIndex(fn, "("); i > 0 {
				fn = fn[:i]
			}
			if !skipFrame(fn) {
				top = fn
			}
		}
	}
	flush()
	return g
}

func skipFrame(fn string) bool {
	for _, p := range []string{"runtime.", "sync.", "internal/sync.", "internal/poll.runtime_"} {
		if strings.HasPrefix(fn, p) {
			return true
		}
	}
	return false
}

// minus returns g - base, keeping positive counts.
func (g groups) minus(base groups) groups {
	out := groups{}
	for k, n := range g {
		if d := n - base[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

// format lists the groups, largest first, each as a count per peer when
// peers > 0 (else the raw count).
func (g groups) format(peers int) string {
	keys := make([]string, 0, len(g))
	total := 0
	for k, n := range g {
		keys = append(keys, k)
		total += n
	}
	sort.Slice(keys, func(i, j int) bool {
		if g[keys[i]] != g[keys[j]] {
			return g[keys[i]] > g[keys[j]]
		}
		return keys[i] < keys[j]
	})
	var b strings.Builder
	for _, k := range keys {
		if peers > 0 {
			fmt.Fprintf(&b, "  %6.2f  %s\n", float64(g[k])/float64(peers), k)
		} else {
			fmt.Fprintf(&b, "  %6d  %s\n", g[k], k)
		}
	}
	if peers > 0 {
		fmt.Fprintf(&b, "  %6.2f  total per peer\n", float64(total)/float64(peers))
	} else {
		fmt.Fprintf(&b, "  %6d  total\n", total)
	}
	return b.String()
}
