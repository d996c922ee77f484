package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	benchstat "github.com/gosimplepeer/simplepeer/bench/internal/stat"
)

// stat is the median, minimum and maximum of some values.
type stat = benchstat.Stat

// summarize returns the stat of xs.
func summarize(xs []float64) stat { return benchstat.Summarize(xs) }

// percentile returns the q-quantile (0..1) of xs by the nearest rank.
func percentile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// ratio formats x/b, or "-" without a baseline.
func ratio(x, b float64) string {
	if b == 0 || math.IsNaN(b) || math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.2fx", x/b)
}

func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
}

// verdict formats one target line.
func verdict(w io.Writer, ok bool, format string, args ...any) {
	mark := "MET   "
	if !ok {
		mark = "MISSED"
	}
	fmt.Fprintf(w, "  target %s "+format+"\n", append([]any{mark}, args...)...)
}

// printTable prints one throughput row per label and variant, in order of
// appearance, with ratios to the baseline variant of the same label.
func printTable(w io.Writer, samples []sample) {
	type row struct {
		key                               string
		setup, mib, drp, pdrp, stall, cpu []float64
		fails                             []string
	}
	var rows []*row
	byKey := map[string]*row{}
	for _, s := range samples {
		key := s.variant
		if s.label != "" {
			key = s.label + "/" + s.variant
		}
		r := byKey[key]
		if r == nil {
			r = &row{key: key}
			byKey[key] = r
			rows = append(rows, r)
		}
		if s.err != "" {
			r.fails = append(r.fails, s.err)
			continue
		}
		r.setup = append(r.setup, s.setupMS)
		r.mib = append(r.mib, s.mibps)
		r.drp = append(r.drp, float64(s.drops))
		if s.pionDrops >= 0 { // -1: not measured (Node)
			r.pdrp = append(r.pdrp, float64(s.pionDrops))
		}
		if s.stallMS >= 0 {
			r.stall = append(r.stall, s.stallMS)
		}
		if s.cpuPerGiB > 0 {
			r.cpu = append(r.cpu, s.cpuPerGiB)
		}
	}
	base := func(key string) *row {
		if i := strings.LastIndex(key, "/"); i >= 0 {
			return byKey[key[:i+1]+baseline]
		}
		return byKey[baseline]
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "variant\tok\tsetup ms med\t[min, max]\tvs base\tMiB/s med\t[min, max]\tvs base\tCPU s/GiB\tvs base\tkernel drops\t[min, max]\tPion drops\t[min, max]\tstall ms med\t[min, max]\t")
	for _, r := range rows {
		su, th := summarize(r.setup), summarize(r.mib)
		dr, cp := summarize(r.drp), summarize(r.cpu)
		var bs, bt, bc stat
		if b := base(r.key); b != nil {
			bs, bt, bc = summarize(b.setup), summarize(b.mib), summarize(b.cpu)
		}
		cpu := "-"
		if len(r.cpu) > 0 {
			cpu = fmt.Sprintf("%.1f", cp.Med)
		}
		fmt.Fprintf(tw, "%s\t%d/%d\t%.0f\t[%.0f, %.0f]\t%s\t%.1f\t[%.1f, %.1f]\t%s\t%s\t%s\t%.0f\t[%.0f, %.0f]\t%s\t%s\t\n",
			r.key, len(r.mib), len(r.mib)+len(r.fails), su.Med, su.Min, su.Max, ratio(su.Med, bs.Med),
			th.Med, th.Min, th.Max, ratio(th.Med, bt.Med), cpu, ratio(cp.Med, bc.Med),
			dr.Med, dr.Min, dr.Max, medRange(r.pdrp, "%.0f"), medRange(r.stall, "%.0f"))
	}
	_ = tw.Flush()
	for _, r := range rows {
		for _, f := range r.fails {
			fmt.Fprintf(w, "FAILED %s: %s\n", r.key, f)
		}
	}
}

// medRange formats the median and [min, max] of xs as two cells, or
// "-" cells when there are none.
func medRange(xs []float64, f string) string {
	if len(xs) == 0 {
		return "-\t-"
	}
	st := summarize(xs)
	return fmt.Sprintf(f+"\t["+f+", "+f+"]", st.Med, st.Min, st.Max)
}

// appendSamples appends samples to a CSV file, for -report.
func appendSamples(path string, samples []sample) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(f)
	for _, s := range samples {
		_ = cw.Write([]string{s.label, s.variant, strconv.FormatFloat(s.setupMS, 'f', 3, 64),
			strconv.FormatFloat(s.mibps, 'f', 3, 64), strconv.FormatInt(s.drops, 10),
			strconv.FormatInt(s.pionDrops, 10), strconv.FormatFloat(s.stallMS, 'f', 3, 64), s.err,
			strconv.FormatFloat(s.cpuPerGiB, 'f', 3, 64)})
	}
	cw.Flush()
	return errors.Join(cw.Error(), f.Close())
}

// readSamples reads a file written by appendSamples (older files have no
// CPU column).
func readSamples(path string) ([]sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, err
	}
	var out []sample
	for _, r := range recs {
		if len(r) != 8 && len(r) != 9 {
			return nil, fmt.Errorf("%s: bad record %q", path, r)
		}
		s := sample{label: r[0], variant: r[1], err: r[7]}
		s.setupMS, _ = strconv.ParseFloat(r[2], 64)
		s.mibps, _ = strconv.ParseFloat(r[3], 64)
		s.drops, _ = strconv.ParseInt(r[4], 10, 64)
		s.pionDrops, _ = strconv.ParseInt(r[5], 10, 64)
		s.stallMS, _ = strconv.ParseFloat(r[6], 64)
		if len(r) == 9 {
			s.cpuPerGiB, _ = strconv.ParseFloat(r[8], 64)
		}
		out = append(out, s)
	}
	return out, nil
}
