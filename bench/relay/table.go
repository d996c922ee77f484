package main

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
)

// stat is the median, minimum and maximum of some values.
type stat struct{ med, min, max float64 }

func summarize(xs []float64) stat {
	if len(xs) == 0 {
		return stat{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return stat{med, s[0], s[len(s)-1]}
}

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
			r.name, len(r.cols[0]), len(r.cols[0])+len(r.fails), st[0].med, st[0].min, st[0].max,
			st[1].med, st[2].med, st[3].med, orDash(st[4].med), st[5].med, st[6].med,
			st[7].med, st[7].min, st[7].max, st[8].med, st[9].med, st[10].med)
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
