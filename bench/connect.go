package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime/pprof"
	"time"
)

// The connect section: connect latency of the library and of raw Pion with
// the same settings (sp-tuned, pion-tuned), trickle on and off, at each
// signalling latency; from creating the two peers to both data channels
// open. Each connect's pair is closed before the next one starts.

type connectCell struct {
	v variant
	o connOpts
}

func (c connectCell) cond() string {
	t := "trickle"
	if c.o.noTrickle {
		t = "no trickle"
	}
	return fmt.Sprintf("%s, sig %v", t, c.o.delay)
}

// runConnect runs n connects of every cell, interleaved (the order rotates
// by round), and prints p50/p90/max per cell.
func runConnect(n int, delays []time.Duration) {
	var cells []connectCell
	for _, noTrickle := range []bool{false, true} {
		for _, d := range delays {
			for _, v := range []variant{spTuned, pionTuned} {
				cells = append(cells, connectCell{v, connOpts{delay: d, noTrickle: noTrickle}})
			}
		}
	}
	fmt.Printf("\n== connect: %d connects per row, interleaved; peers created -> both data channels open; pair closed after each\n", n)
	times := make([][]float64, len(cells))
	fails := make([][]string, len(cells))
	start := time.Now()
	for r := 0; r < n; r++ {
		for i := range cells {
			j := (i + r) % len(cells)
			var p pair
			var err error
			t0 := time.Now()
			pprof.Do(context.Background(), pprof.Labels("row", cells[j].v.name), func(context.Context) {
				p, err = cells[j].v.connectWith(cells[j].o)
			})
			if err != nil {
				fails[j] = append(fails[j], err.Error())
				continue
			}
			times[j] = append(times[j], ms(time.Since(t0)))
			if err := closeWithin(p); err != nil {
				fails[j] = append(fails[j], err.Error())
			}
		}
		if (r+1)%25 == 0 {
			fmt.Fprintf(os.Stderr, "connect: round %d/%d (%v)\n", r+1, n, time.Since(start).Round(time.Second))
		}
	}
	tw := newTable(os.Stdout)
	fmt.Fprintln(tw, "signalling\tvariant\tok\tp50 ms\tp90 ms\tmax ms\tp50 vs pion\tp90 vs pion\t")
	type q struct{ p50, p90, max float64 }
	qs := make([]q, len(cells))
	for i := range cells {
		qs[i] = q{percentile(times[i], 0.5), percentile(times[i], 0.9), percentile(times[i], 1)}
	}
	for i, c := range cells {
		b := qs[i-i%2+1] // the pion-tuned cell of the same condition
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%.1f\t%.1f\t%.1f\t%s\t%s\t\n", c.cond(), c.v.name,
			len(times[i]), len(times[i])+len(fails[i]), qs[i].p50, qs[i].p90, qs[i].max,
			ratio(qs[i].p50, b.p50), ratio(qs[i].p90, b.p90))
	}
	_ = tw.Flush()
	for i, c := range cells {
		for _, f := range fails[i] {
			fmt.Printf("FAILED %s %s: %s\n", c.cond(), c.v.name, f)
		}
	}
	for i, c := range cells {
		if c.v.name != spTuned.name {
			continue
		}
		if !c.o.noTrickle && c.o.delay == 0 {
			verdict(os.Stdout, qs[i].p90 <= 50, "%s: sp-tuned p90 %.1f ms <= 50 ms", c.cond(), qs[i].p90)
		}
		if !c.o.noTrickle {
			// "No worse" at the table's resolution, 0.1 ms.
			sp50, pion50 := math.Round(qs[i].p50*10), math.Round(qs[i+1].p50*10)
			verdict(os.Stdout, sp50 <= pion50, "%s: sp-tuned p50 %.1f ms no worse than pion-tuned's %.1f ms (%s)",
				c.cond(), qs[i].p50, qs[i+1].p50, ratio(qs[i].p50, qs[i+1].p50))
		}
	}
}
