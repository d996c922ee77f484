// Package stat summarizes the benchmarks' samples.
package stat

import "slices"

// Stat is the median, minimum and maximum of some values.
type Stat struct{ Med, Min, Max float64 }

// Summarize returns the Stat of xs (zero for none).
func Summarize(xs []float64) Stat {
	if len(xs) == 0 {
		return Stat{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Stat{med, s[0], s[len(s)-1]}
}
