package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// The allocs section: testing.Benchmark of one 64-byte message sent and
// received, one way, in process and in steady state (connected and warmed
// up), with the messages section's bounded window (so acknowledgements and
// timers are part of the cost, as in a real stream of messages). The
// process-wide counters include both ends; the mixed pairs (a simplepeer
// initiator and a raw Pion answerer) separate the library's send cost from
// its receive cost.

type allocRow struct {
	name, about string
	connect     func() (interface{ close() }, endpoint, endpoint, error)
}

func allocRows() []allocRow {
	both := func(v variant) func() (interface{ close() }, endpoint, endpoint, error) {
		return func() (interface{ close() }, endpoint, endpoint, error) {
			p, err := v.connect()
			if err != nil {
				return nil, nil, nil, err
			}
			a, b := p.ends()
			return p, a, b, nil
		}
	}
	mixed := func(reverse bool) func() (interface{ close() }, endpoint, endpoint, error) {
		return func() (interface{ close() }, endpoint, endpoint, error) {
			p, err := connectMixed()
			if err != nil {
				return nil, nil, nil, err
			}
			a, b := p.ends()
			if reverse {
				a, b = b, a
			}
			return p, a, b, nil
		}
	}
	return []allocRow{
		{"pion -> pion", "raw Pion Send -> OnMessage (the baseline)", both(pionTuned)},
		{"sp -> sp", "simplepeer Send -> OnData", both(spTuned)},
		{"sp -> pion", "simplepeer Send -> raw Pion OnMessage: the library's send side", mixed(false)},
		{"pion -> sp", "raw Pion Send -> simplepeer OnData: the library's receive side", mixed(true)},
		{"sp -> sp +log", "sp -> sp with a LoggerFactory in the SettingEngine (the bench's drop counter, which keeps nothing): the library's redacting logger wraps it", both(spTunedLog)},
	}
}

type allocResult struct {
	allocs, bytes, ns []float64
	fails             []string
}

// runAllocs benchmarks every row; only, if not empty, keeps the rows named
// in it (for profiling one row; the baseline stays first).
func runAllocs(runs, window int, timeout time.Duration, only string) {
	rows := allocRows()
	if only != "" {
		rows = slices.DeleteFunc(rows, func(r allocRow) bool {
			return r.name != rows[0].name && !slices.Contains(strings.Split(only, ","), r.name)
		})
	}
	res := make([]allocResult, len(rows))
	fmt.Printf("\n== allocs: testing.Benchmark of one %d B message one way (window %d), %d runs, process-wide -benchmem counters (both ends)\n",
		smallMsg, window, runs)
	for r := 0; r < runs; r++ {
		for i := range rows {
			j := (i + r) % len(rows)
			br, err := benchRow(rows[j], window, timeout)
			if err != nil {
				res[j].fails = append(res[j].fails, err.Error())
				fmt.Fprintf(os.Stderr, "allocs run %d/%d %s: FAILED: %v\n", r+1, runs, rows[j].name, err)
				continue
			}
			fmt.Fprintf(os.Stderr, "allocs run %d/%d %s: %d messages, %s\n", r+1, runs, rows[j].name, br.N, br.MemString())
			res[j].allocs = append(res[j].allocs, float64(br.MemAllocs)/float64(br.N))
			res[j].bytes = append(res[j].bytes, float64(br.MemBytes)/float64(br.N))
			res[j].ns = append(res[j].ns, float64(br.NsPerOp()))
		}
	}
	base := res[0]
	ba, bb, bn := summarize(base.allocs).Med, summarize(base.bytes).Med, summarize(base.ns).Med
	tw := newTable(os.Stdout)
	fmt.Fprintln(tw, "sender -> receiver\tok\tallocs/msg\t[min, max]\t+ vs pion\tB/msg\t+ vs pion\tns/msg\tvs pion\t")
	for i, w := range rows {
		a, b, n := summarize(res[i].allocs), summarize(res[i].bytes), summarize(res[i].ns)
		fmt.Fprintf(tw, "%s\t%d/%d\t%.2f\t[%.2f, %.2f]\t%+.2f\t%.0f\t%+.0f\t%.0f\t%s\t\n", w.name,
			len(res[i].allocs), len(res[i].allocs)+len(res[i].fails), a.Med, a.Min, a.Max, a.Med-ba,
			b.Med, b.Med-bb, n.Med, ratio(n.Med, bn))
	}
	_ = tw.Flush()
	for i, w := range rows {
		fmt.Printf("  %-13s %s\n", w.name, w.about)
		for _, f := range res[i].fails {
			fmt.Printf("FAILED %s: %s\n", w.name, f)
		}
	}
	extra := func(name string) (float64, bool) {
		i := slices.IndexFunc(rows, func(r allocRow) bool { return r.name == name })
		if i < 0 || len(res[i].allocs) == 0 {
			return 0, false
		}
		return summarize(res[i].allocs).Med - ba, true
	}
	sp, ok1 := extra("sp -> sp")
	send, ok2 := extra("sp -> pion")
	recv, ok3 := extra("pion -> sp")
	if ok1 && ok2 && ok3 {
		verdict(os.Stdout, sp <= 1, "the wrapper adds %.2f allocs per message (send %+.2f, receive %+.2f) <= 1 over raw Pion's %.2f", sp, send, recv, ba)
	}
}

// benchRow connects the row's pair, warms it up and benchmarks it.
func benchRow(row allocRow, window int, timeout time.Duration) (testing.BenchmarkResult, error) {
	p, a, b, err := row.connect()
	if err != nil {
		return testing.BenchmarkResult{}, fmt.Errorf("connect: %w", err)
	}
	defer func() { _ = closeWithin(p) }()
	if _, err := messageRate(a, b, 2000, window, timeout); err != nil {
		return testing.BenchmarkResult{}, fmt.Errorf("warm-up: %w", err)
	}
	var benchErr error
	br := testing.Benchmark(func(tb *testing.B) {
		tb.ReportAllocs()
		tb.ResetTimer()
		if _, err := messageRate(a, b, tb.N, window, timeout); err != nil && benchErr == nil {
			benchErr = err
		}
	})
	return br, benchErr
}
