package main

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	benchstat "github.com/gosimplepeer/simplepeer/bench/internal/stat"
)

// stat is the median, minimum and maximum of some values.
type stat = benchstat.Stat

// summarize returns the stat of xs.
func summarize(xs []float64) stat { return benchstat.Summarize(xs) }

// printTable prints one line per row, in order of appearance: medians and
// [min, max] over the successful runs, then every failure.
func printTable(w io.Writer, samples []sample) {
	type acc struct {
		name  string
		cols  [11][]float64
		fails []string
	}
	var rows []*acc
	for _, s := range samples {
		i := slices.IndexFunc(rows, func(a *acc) bool { return a.name == s.row })
		if i < 0 {
			rows = append(rows, &acc{name: s.row})
			i = len(rows) - 1
		}
		r := rows[i]
		if s.err != "" {
			r.fails = append(r.fails, s.err)
			continue
		}
		for j, v := range []float64{s.mibps, s.setupMS, s.iceA, s.iceB, s.sctpA,
			float64(s.lost), float64(s.overflow), float64(s.kernel), float64(s.sndSock), float64(s.rcvSock), float64(s.pion)} {
			r.cols[j] = append(r.cols[j], v)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "row\tok\tMiB/s med\t[min, max]\tsetup ms\tICE RTT ms snd/rcv\tSCTP SRTT ms\trelay lost\trelay overflow\tkernel drops\t[min, max]\tat sender\tat receiver\tPion drops\t")
	for _, r := range rows {
		var st [11]stat
		for j := range st {
			st[j] = summarize(r.cols[j])
		}
		fmt.Fprintf(tw, "%s\t%d/%d\t%.1f\t[%.1f, %.1f]\t%.0f\t%.1f/%.1f\t%s\t%.0f\t%.0f\t%.0f\t[%.0f, %.0f]\t%.0f\t%.0f\t%.0f\t\n",
			r.name, len(r.cols[0]), len(r.cols[0])+len(r.fails), st[0].Med, st[0].Min, st[0].Max,
			st[1].Med, st[2].Med, st[3].Med, orDash(st[4].Med), st[5].Med, st[6].Med,
			st[7].Med, st[7].Min, st[7].Max, st[8].Med, st[9].Med, st[10].Med)
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "(medians unless [min, max]; drops are datagrams per run; kernel drops are machine-wide RcvbufErrors, \"at sender\"/\"at receiver\" those at each peer's own sockets to the TURN server)")
	for _, r := range rows {
		for _, f := range r.fails {
			fmt.Fprintf(w, "FAILED %s: %s\n", r.name, f)
		}
	}
}

func orDash(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", v)
}
