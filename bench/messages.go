package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"sync/atomic"
	"time"
)

// The messages section: 64-byte messages one way at the highest rate a
// bounded in-flight window allows, and the round trip of a 64-byte
// ping-pong, simplepeer (Send / OnData) against raw Pion (DataChannel.Send
// / OnMessage) with the same settings, and Node simple-peer when present.

const smallMsg = 64

type msgConfig struct {
	runs, count, window, roundTrips int
	timeout                         time.Duration
	node                            *nodeRunner
	blocks                          int  // turns per run (Go rows)
	nodeOnly                        bool // no sp-tuned row
}

// msgSample is one run of one row.
type msgSample struct {
	rate float64   // messages per second, one way
	rtts []float64 // ms
	err  error
}

// messageRate sends n messages of smallMsg bytes from a to b, keeping at
// most window of them sent but not yet received (the receiver wakes the
// sender every window/4 messages), and returns messages per second from
// the first send to the last arrival.
func messageRate(a, b endpoint, n, window int, timeout time.Duration) (float64, error) {
	var got atomic.Int64
	wake := make(chan struct{}, 1)
	step := int64(max(window/4, 1))
	b.onMessage(func([]byte) {
		if c := got.Add(1); c%step == 0 || c == int64(n) {
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	})
	defer b.onMessage(func([]byte) {})
	msg := make([]byte, smallMsg)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	wait := func() error {
		select {
		case <-wake:
			return nil
		case <-timer.C:
			return fmt.Errorf("timeout: %d of %d messages received", got.Load(), n)
		}
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		for int64(i)-got.Load() >= int64(window) {
			if err := wait(); err != nil {
				return 0, err
			}
		}
		if err := a.send(msg); err != nil {
			return 0, fmt.Errorf("send %d: %w", i, err)
		}
	}
	for got.Load() < int64(n) {
		if err := wait(); err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// pingPong sends a smallMsg message from a, which b echoes, n times one
// after the other, and returns each round trip in ms. The first warm
// round trips are not counted.
func pingPong(a, b endpoint, n, warm int, timeout time.Duration) ([]float64, error) {
	b.onMessage(func(m []byte) { _ = b.send(m) })
	pong := make(chan struct{}, 1)
	a.onMessage(func([]byte) { pong <- struct{}{} })
	defer a.onMessage(func([]byte) {})
	defer b.onMessage(func([]byte) {})
	msg := make([]byte, smallMsg)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	rtts := make([]float64, 0, n)
	for i := 0; i < warm+n; i++ {
		t0 := time.Now()
		if err := a.send(msg); err != nil {
			return nil, fmt.Errorf("send %d: %w", i, err)
		}
		select {
		case <-pong:
		case <-timer.C:
			return nil, fmt.Errorf("timeout after %d round trips", i)
		}
		if i >= warm {
			rtts = append(rtts, float64(time.Since(t0).Nanoseconds())/1e6)
		}
	}
	return rtts, nil
}

// pairedRatio is the median of x/base over the blocks both have; 0 if none.
func pairedRatio(x, base map[[2]int]float64) float64 {
	var rs []float64
	for k, v := range x {
		if b, ok := base[k]; ok && b > 0 {
			rs = append(rs, v/b)
		}
	}
	if len(rs) == 0 {
		return 0
	}
	return summarize(rs).Med
}

// msgEnds is a connected pair's endpoints.
type msgEnds struct {
	p    interface{ close() }
	a, b endpoint
}

// connectMessages connects a pair of v and warms it up; read receives with
// Read instead of OnData.
func connectMessages(v variant, c msgConfig, read bool) (msgEnds, error) {
	p, err := v.connect()
	if err != nil {
		return msgEnds{}, fmt.Errorf("connect: %w", err)
	}
	if read {
		p = spReadPair{p.(*spPair)}
	}
	a, b := p.ends()
	if _, err := messageRate(a, b, 1000, c.window, c.timeout); err != nil {
		_ = closeWithin(p)
		return msgEnds{}, fmt.Errorf("warm-up: %w", err)
	}
	return msgEnds{p, a, b}, nil
}

// runMessages runs c.runs runs. In each, every Go row gets a fresh pair
// and the rows then take turns in c.blocks blocks (the order rotating),
// each a rate measurement of count/blocks messages and roundTrips/blocks
// ping-pongs: a load change on the shared machine hits every row alike.
// The table's rate is the median over all blocks. The Node row is one
// Node process per run, with the whole count.
func runMessages(c msgConfig) {
	type row struct {
		name    string
		connect func() (msgEnds, error) // Go rows
		run     func() msgSample        // the Node row
		ok      int
		byBlock map[[2]int]float64 // rate by run and block, for paired ratios
		rates   []float64
		rtts    []float64
		fails   []string
	}
	rows := []*row{
		{name: "sp-tuned", connect: func() (msgEnds, error) { return connectMessages(spTuned, c, false) }},
		{name: "pion-tuned", connect: func() (msgEnds, error) { return connectMessages(pionTuned, c, false) }},
		{name: "sp-read", connect: func() (msgEnds, error) { return connectMessages(spTuned, c, true) }},
	}
	if c.nodeOnly {
		rows = rows[1:2:2] // pion-tuned, the baseline
	}
	if c.node != nil {
		rows = append(rows, &row{name: nodeRow, run: func() msgSample { return c.node.messages(c) }})
	}
	blocks := max(c.blocks, 1)
	fmt.Printf("\n== messages: %d runs x %d blocks per row; rate: %d x %d B one way, at most %d in flight (the receiver wakes the sender every %d); round trip: %d x %d B ping-pong (after 100 unmeasured)\n",
		c.runs, blocks, c.count, smallMsg, c.window, max(c.window/4, 1), c.roundTrips, smallMsg)
	fmt.Println("  simplepeer: Send / OnData (sp-read: Send / Read, no dispatcher goroutine between); raw Pion: DataChannel.Send / OnMessage; node-node: simple-peer send / 'data', both peers in one Node process (one process per run, not in blocks)")
	// label runs f with the row's pprof label; the pair's goroutines
	// inherit it at connect, so -cpuprofile tells the rows apart
	// (go tool pprof -tagfocus row=sp-tuned).
	label := func(w *row, f func()) {
		pprof.Do(context.Background(), pprof.Labels("row", w.name), func(context.Context) { f() })
	}
	fail := func(r int, w *row, err error) {
		w.fails = append(w.fails, err.Error())
		fmt.Fprintf(os.Stderr, "messages run %d/%d %s: FAILED: %v\n", r+1, c.runs, w.name, err)
	}
	for r := 0; r < c.runs; r++ {
		live := map[*row]msgEnds{}
		var order []*row
		for i := range rows {
			w := rows[(i+r)%len(rows)]
			if w.connect == nil {
				continue
			}
			var e msgEnds
			var err error
			label(w, func() { e, err = w.connect() })
			if err != nil {
				fail(r, w, err)
				continue
			}
			live[w] = e
			order = append(order, w)
		}
		runRates := map[*row][]float64{}
		for blk := 0; blk < blocks && len(order) > 0; blk++ {
			for i := range order {
				w := order[(i+blk)%len(order)]
				e, ok := live[w]
				if !ok {
					continue
				}
				var rate float64
				var rtts []float64
				var err error
				label(w, func() {
					rate, err = messageRate(e.a, e.b, max(c.count/blocks, 1), c.window, c.timeout)
					if err == nil {
						rtts, err = pingPong(e.a, e.b, max(c.roundTrips/blocks, 1), 10, c.timeout)
					}
				})
				if err != nil {
					fail(r, w, err)
					_ = closeWithin(e.p)
					delete(live, w)
					continue
				}
				runRates[w] = append(runRates[w], rate)
				if w.byBlock == nil {
					w.byBlock = map[[2]int]float64{}
				}
				w.byBlock[[2]int{r, blk}] = rate
				w.rtts = append(w.rtts, rtts...)
			}
		}
		for _, w := range order {
			if e, ok := live[w]; ok {
				_ = closeWithin(e.p)
				w.ok++
				w.rates = append(w.rates, runRates[w]...)
				fmt.Fprintf(os.Stderr, "messages run %d/%d %s: %.0f msg/s (median of %d blocks)\n",
					r+1, c.runs, w.name, summarize(runRates[w]).Med, len(runRates[w]))
			}
		}
		for _, w := range rows {
			if w.run == nil {
				continue
			}
			s := w.run()
			if s.err != nil {
				fail(r, w, s.err)
				continue
			}
			w.ok++
			w.rates = append(w.rates, s.rate)
			w.rtts = append(w.rtts, s.rtts...)
			fmt.Fprintf(os.Stderr, "messages run %d/%d %s: %.0f msg/s, RTT p50 %.3f ms\n", r+1, c.runs, w.name, s.rate, percentile(s.rtts, 0.5))
		}
	}
	base := rows[0]
	if !c.nodeOnly {
		base = rows[1]
	}
	br, b50, b99 := summarize(base.rates).Med, percentile(base.rtts, 0.5), percentile(base.rtts, 0.99)
	tw := newTable(os.Stdout)
	fmt.Fprintln(tw, "variant\truns ok\tmsg/s med\t[min, max]\tvs pion\tpaired\tRTT p50 ms\tvs pion\tRTT p99 ms\tvs pion\tround trips\t")
	for _, w := range rows {
		st := summarize(w.rates)
		p50, p99 := percentile(w.rtts, 0.5), percentile(w.rtts, 0.99)
		paired := "-"
		if pr := pairedRatio(w.byBlock, base.byBlock); pr > 0 {
			paired = fmt.Sprintf("%.2fx", pr)
		}
		fmt.Fprintf(tw, "%s\t%d/%d\t%.0f\t[%.0f, %.0f]\t%s\t%s\t%.3f\t%s\t%.3f\t%s\t%d\t\n", w.name,
			w.ok, c.runs, st.Med, st.Min, st.Max, ratio(st.Med, br), paired,
			p50, ratio(p50, b50), p99, ratio(p99, b99), len(w.rtts))
	}
	_ = tw.Flush()
	for _, w := range rows {
		for _, f := range w.fails {
			fmt.Printf("FAILED %s: %s\n", w.name, f)
		}
	}
	if c.nodeOnly {
		return
	}
	fmt.Println("  paired: median over (run, block) of the row's rate / pion-tuned's in the same block (the blocks alternate), robust to load drift")
	sp := rows[0]
	spr, sp50 := summarize(sp.rates).Med, percentile(sp.rtts, 0.5)
	pr := pairedRatio(sp.byBlock, base.byBlock)
	verdict(os.Stdout, pr >= 1, "64 B rate: sp-tuned >= pion-tuned: paired %.2fx (medians %.0f vs %.0f msg/s, %s)", pr, spr, br, ratio(spr, br))
	verdict(os.Stdout, sp50 <= 1.1*b50, "64 B RTT p50: sp-tuned %.3f ms within 10%% of pion-tuned's %.3f (%s)", sp50, b50, ratio(sp50, b50))
}
