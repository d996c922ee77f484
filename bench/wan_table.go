package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// printWANTable prints one row per condition and variant, conditions and
// rows in the order given: the median and [min, max] of the successful
// runs, the ratio of medians to wanBaseline at the same condition, and the
// medians of the other measures; failed runs are listed below it.
func printWANTable(w io.Writer, samples []wanSample, conds, rows []string) {
	type cell struct {
		size                                         int
		rateOnly                                     bool
		mib, drop, rtx, rto, tx, ice, srtt, cpu, all []float64
		fails                                        []string
	}
	cells := map[[2]string]*cell{}
	get := func(cond, variant string) *cell {
		k := [2]string{cond, variant}
		if cells[k] == nil {
			cells[k] = &cell{}
		}
		return cells[k]
	}
	for _, s := range samples {
		c := get(s.cond, s.variant)
		c.size, c.rateOnly = s.size, s.rateOnly
		c.all = append(c.all, 0)
		if s.err != "" {
			c.fails = append(c.fails, s.err)
			continue
		}
		c.mib = append(c.mib, s.mibps)
		if s.rateOnly {
			continue
		}
		c.drop = append(c.drop, float64(s.dropped))
		c.rtx = append(c.rtx, float64(s.rtx))
		c.rto = append(c.rto, float64(s.rtos))
		c.tx = append(c.tx, s.txRatio)
		c.ice = append(c.ice, float64(s.iceRTT.Microseconds())/1000)
		c.srtt = append(c.srtt, float64(s.srtt.Microseconds())/1000)
		c.cpu = append(c.cpu, s.cpuPerGiB)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "RTT/loss\tvariant\tok\tKiB\tMiB/s med\t[min, max]\tvs pion-fc\tdropped\trtx\tRTOs\ttx/payload\tICE RTT ms\tSRTT ms\tCPU s/GiB\t")
	for _, cond := range conds {
		var base float64
		if b := cells[[2]string{cond, wanBaseline}]; b != nil {
			base = summarize(b.mib).Med
		}
		for _, row := range rows {
			c := cells[[2]string{cond, row}]
			if c == nil {
				continue
			}
			th := summarize(c.mib)
			rate, span, ratio := "-", "-", "-"
			if len(c.mib) > 0 {
				rate, span = fmt.Sprintf("%.2f", th.Med), fmt.Sprintf("[%.2f, %.2f]", th.Min, th.Max)
				if base > 0 {
					ratio = fmt.Sprintf("%.2fx", th.Med/base)
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
				cond, row, len(c.mib), len(c.all), c.size>>10, rate, span, ratio,
				med(c.drop, "%.0f"), med(c.rtx, "%.0f"), med(c.rto, "%.0f"), med(c.tx, "%.3f"),
				med(c.ice, "%.1f"), med(c.srtt, "%.1f"), med(c.cpu, "%.1f"))
		}
	}
	_ = tw.Flush()
	for _, cond := range conds {
		for _, row := range rows {
			if c := cells[[2]string{cond, row}]; c != nil {
				for _, f := range c.fails {
					fmt.Fprintf(w, "FAILED %s %s: %s\n", cond, row, f)
				}
			}
		}
	}
}

// med formats the median of xs, or "-" when there is none.
func med(xs []float64, format string) string {
	if len(xs) == 0 {
		return "-"
	}
	return fmt.Sprintf(format, summarize(xs).Med)
}
