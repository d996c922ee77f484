package main

import (
	"fmt"
	"runtime"
	"time"
)

// measurePeers connects pairs pairs of v and reports heap and goroutines per
// peer, then closes them and reports goroutines still alive after 5 s.
func measurePeers(v variant, pairs int) string {
	settle := func() (heap uint64, goroutines int) {
		time.Sleep(time.Second) // let handshake goroutines and timers finish
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc, runtime.NumGoroutine()
	}
	heap0, g0 := settle()
	var ps []pair
	defer func() {
		for _, p := range ps {
			_ = closeWithin(p)
		}
	}()
	for i := 0; i < pairs; i++ {
		p, err := v.connect()
		if err != nil {
			return fmt.Sprintf("%-14s FAILED at pair %d: %v", v.name, i+1, err)
		}
		ps = append(ps, p)
	}
	heap1, g1 := settle()
	peers := float64(2 * pairs)
	var hung int
	for _, p := range ps {
		if closeWithin(p) != nil {
			hung++
		}
	}
	ps = nil
	left := runtime.NumGoroutine() - g0
	for deadline := time.Now().Add(5 * time.Second); left > 0 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		left = runtime.NumGoroutine() - g0
	}
	out := fmt.Sprintf("%-14s heap %6.1f KiB/peer   goroutines %5.1f/peer   left after Close: %d goroutines",
		v.name, (float64(heap1)-float64(heap0))/peers/1024, float64(g1-g0)/peers, left)
	if hung > 0 {
		out += fmt.Sprintf(", %d closes hung", hung)
	}
	return out
}

// runPeers is the peers section.
func runPeers(vs []variant, pairs int) {
	saved := sigDelay
	sigDelay = 0 // couriers with a delay run goroutines of their own
	defer func() { sigDelay = saved }()
	fmt.Printf("\n== pairs: per connected peer, %d pairs (heap after GC, goroutines)\n", pairs)
	for _, v := range vs {
		fmt.Println(measurePeers(v, pairs))
	}
}
