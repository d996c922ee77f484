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

// measureMessages connects a pair of v, warms it up, runs both
// measurements and closes it.
func measureMessages(v variant, c msgConfig) msgSample {
	p, err := v.connect()
	if err != nil {
		return msgSample{err: fmt.Errorf("connect: %w", err)}
	}
	defer func() { _ = closeWithin(p) }()
	a, b := p.ends()
	if _, err := messageRate(a, b, 1000, c.window, c.timeout); err != nil {
		return msgSample{err: fmt.Errorf("warm-up: %w", err)}
	}
	var s msgSample
	if s.rate, err = messageRate(a, b, c.count, c.window, c.timeout); err != nil {
		return msgSample{err: fmt.Errorf("rate: %w", err)}
	}
	if s.rtts, err = pingPong(a, b, c.roundTrips, 100, c.timeout); err != nil {
		return msgSample{err: fmt.Errorf("ping-pong: %w", err)}
	}
	return s
}

func runMessages(c msgConfig) {
	type row struct {
		name  string
		run   func() msgSample
		rates []float64
		rtts  []float64
		fails []string
	}
	rows := []*row{
		{name: "sp-tuned", run: func() msgSample { return measureMessages(spTuned, c) }},
		{name: "pion-tuned", run: func() msgSample { return measureMessages(pionTuned, c) }},
	}
	if c.node != nil {
		rows = append(rows, &row{name: nodeRow, run: func() msgSample { return c.node.messages(c) }})
	}
	if c.nodeOnly {
		rows = rows[1:]
	}
	fmt.Printf("\n== messages: %d runs; rate: %d x %d B one way, at most %d in flight (the receiver wakes the sender every %d); round trip: %d x %d B ping-pong (after 100 unmeasured)\n",
		c.runs, c.count, smallMsg, c.window, max(c.window/4, 1), c.roundTrips, smallMsg)
	fmt.Println("  simplepeer: Send / OnData; raw Pion: DataChannel.Send / OnMessage; node-node: simple-peer send / 'data', both peers in one Node process")
	for r := 0; r < c.runs; r++ {
		for i := range rows {
			w := rows[(i+r)%len(rows)]
			var s msgSample
			// The pair's goroutines inherit the label: -cpuprofile then
			// tells the rows apart (go tool pprof -tagfocus row=sp-tuned).
			pprof.Do(context.Background(), pprof.Labels("row", w.name), func(context.Context) { s = w.run() })
			if s.err != nil {
				w.fails = append(w.fails, s.err.Error())
				fmt.Fprintf(os.Stderr, "messages run %d/%d %s: FAILED: %v\n", r+1, c.runs, w.name, s.err)
				continue
			}
			w.rates = append(w.rates, s.rate)
			w.rtts = append(w.rtts, s.rtts...)
			fmt.Fprintf(os.Stderr, "messages run %d/%d %s: %.0f msg/s, RTT p50 %.3f ms\n", r+1, c.runs, w.name, s.rate, percentile(s.rtts, 0.5))
		}
	}
	base := rows[0]
	if !c.nodeOnly {
		base = rows[1]
	}
	br, b50, b99 := summarize(base.rates).med, percentile(base.rtts, 0.5), percentile(base.rtts, 0.99)
	tw := newTable(os.Stdout)
	fmt.Fprintln(tw, "variant\tok\tmsg/s med\t[min, max]\tvs pion\tRTT p50 ms\tvs pion\tRTT p99 ms\tvs pion\tround trips\t")
	for _, w := range rows {
		st := summarize(w.rates)
		p50, p99 := percentile(w.rtts, 0.5), percentile(w.rtts, 0.99)
		fmt.Fprintf(tw, "%s\t%d/%d\t%.0f\t[%.0f, %.0f]\t%s\t%.3f\t%s\t%.3f\t%s\t%d\t\n", w.name,
			len(w.rates), len(w.rates)+len(w.fails), st.med, st.min, st.max, ratio(st.med, br),
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
	sp := rows[0]
	spr, sp50 := summarize(sp.rates).med, percentile(sp.rtts, 0.5)
	verdict(os.Stdout, spr >= br, "64 B rate: sp-tuned %.0f msg/s >= pion-tuned's %.0f (%s)", spr, br, ratio(spr, br))
	verdict(os.Stdout, sp50 <= 1.1*b50, "64 B RTT p50: sp-tuned %.3f ms within 10%% of pion-tuned's %.3f (%s)", sp50, b50, ratio(sp50, b50))
}
