// Command scale measures how simplepeer scales in one process against raw
// Pion WebRTC: N concurrent connected pairs (both sides in this process,
// on the loopback interface, signals passed in process), the time until
// all are connected, goroutines and memory (heap + goroutine stacks) per
// peer, the CPU the connected pairs use while idle (ICE keepalives and
// timers), and what is left 5 s after closing them all. See README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

type config struct {
	pairs      []int
	variants   []string
	parallel   int
	idle       time.Duration
	settle     time.Duration
	runs       int
	timeout    time.Duration
	gsummary   int
	profile    string // "variant:N"
	cpuprofile string
	cpuphase   string
	memprofile string
}

func parseFlags(args []string) (*config, error) {
	fs := flag.NewFlagSet("scale", flag.ContinueOnError)
	c := &config{}
	pairs := fs.String("pairs", "100,500,1000,2000", "comma-separated numbers of concurrent pairs")
	vs := fs.String("variants", strings.Join(variantOrder, ","), "comma-separated variants: "+strings.Join(variantOrder, ", "))
	fs.IntVar(&c.parallel, "parallel", 32, "pairs connecting at once")
	fs.DurationVar(&c.idle, "idle", 5*time.Second, "how long the connected pairs idle while CPU is measured")
	fs.DurationVar(&c.settle, "settle", 5*time.Second, "wait after closing every pair before the leftovers are counted")
	fs.IntVar(&c.runs, "runs", 0, "runs of each (variant, N); 0 means 3 for N <= 1000 and 1 above")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "bound on one pair's connect")
	fs.IntVar(&c.gsummary, "gsummary", 100, "N at which to print each variant's goroutines per peer by where they wait (0: never)")
	fs.StringVar(&c.profile, "profile", "", "variant:N whose first run -cpuprofile and -memprofile profile, e.g. sp:1000")
	fs.StringVar(&c.cpuprofile, "cpuprofile", "", "write a CPU profile of -profile's -cpuphase to this file")
	fs.StringVar(&c.cpuphase, "cpuphase", "idle", "phase the CPU profile covers: idle or connect")
	fs.StringVar(&c.memprofile, "memprofile", "", "write a heap profile of -profile, taken with every pair connected, to this file")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, s := range strings.Split(*pairs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad -pairs entry %q", s)
		}
		c.pairs = append(c.pairs, n)
	}
	for _, s := range strings.Split(*vs, ",") {
		s = strings.TrimSpace(s)
		if _, ok := variants[s]; !ok {
			return nil, fmt.Errorf("unknown variant %q (have %s)", s, strings.Join(variantOrder, ", "))
		}
		c.variants = append(c.variants, s)
	}
	if c.parallel <= 0 || c.runs < 0 || c.timeout <= 0 || c.idle <= 0 || c.settle < 0 {
		return nil, fmt.Errorf("-parallel, -timeout and -idle must be positive, -runs and -settle not negative")
	}
	if c.cpuphase != "idle" && c.cpuphase != "connect" {
		return nil, fmt.Errorf("-cpuphase must be idle or connect")
	}
	if (c.cpuprofile != "" || c.memprofile != "") && c.profile == "" {
		return nil, fmt.Errorf("-cpuprofile and -memprofile need -profile variant:N")
	}
	return c, nil
}

// result is one run of one (variant, N).
type result struct {
	variant              string
	n                    int
	connected, connFails int
	pingFails            int
	connect, connectCPU  time.Duration
	pairP50, pairP99     time.Duration // one pair's connect, from its first New
	closeDur             time.Duration
	gPerPeer             float64
	kibPerPeer           float64 // heap + stacks
	stackKiBPerPeer      float64
	idlePct              float64 // of one core
	leftG                int
	leftKiB              float64
	leftDump             string
	summary              string
}

func main() {
	c, err := parseFlags(os.Args[1:])
	if err != nil {
		if err == flag.ErrHelp {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(2)
	}
	var summaries, leftovers []string
	for _, n := range c.pairs {
		runs := c.runs
		if runs == 0 {
			runs = 3
			if n > 1000 {
				runs = 1
			}
		}
		byVariant := map[string][]result{}
		for r := range runs {
			order := append(slices.Clone(c.variants[r%len(c.variants):]), c.variants[:r%len(c.variants)]...)
			for _, v := range order {
				first := r == 0
				res, err := runOne(c, v, n, first && c.profile == fmt.Sprintf("%s:%d", v, n), first && n == c.gsummary)
				if err != nil {
					fmt.Fprintf(os.Stderr, "scale: %s N=%d: %v\n", v, n, err)
					os.Exit(1)
				}
				logResult(r, runs, res)
				byVariant[v] = append(byVariant[v], res)
				if res.summary != "" {
					summaries = append(summaries, fmt.Sprintf("%s, N=%d: goroutines per peer (above the baseline), by where they wait  ← who started them\n%s", v, n, res.summary))
				}
				if res.leftDump != "" {
					leftovers = append(leftovers, fmt.Sprintf("%s, N=%d, run %d: %d goroutines left after close:\n%s", v, n, r+1, res.leftG, res.leftDump))
				}
			}
		}
		printTable(c, n, runs, byVariant)
	}
	for _, s := range summaries {
		fmt.Println()
		fmt.Print(s)
	}
	for _, s := range leftovers {
		fmt.Println()
		fmt.Print(s)
	}
}

func logResult(r, runs int, res result) {
	fmt.Fprintf(os.Stderr, "N=%d run %d/%d %-15s connected %d (fail %d, ping fail %d) in %.2fs (pair p50 %v, p99 %v; CPU %.2fs); %.1f goroutines, %.0f KiB (%.0f stacks) per peer; idle CPU %.1f%%; closed in %.2fs; left %+d goroutines, %+.0f KiB\n",
		res.n, r+1, runs, res.variant, res.connected, res.connFails, res.pingFails, res.connect.Seconds(),
		res.pairP50.Round(time.Millisecond), res.pairP99.Round(time.Millisecond), res.connectCPU.Seconds(),
		res.gPerPeer, res.kibPerPeer, res.stackKiBPerPeer, res.idlePct, res.closeDur.Seconds(), res.leftG, res.leftKiB)
}

// runOne connects n pairs of variant v, measures them, closes them and
// counts what is left.
func runOne(c *config, v string, n int, profile, summary bool) (result, error) {
	res := result{variant: v, n: n}
	time.Sleep(time.Second) // let the previous run's stragglers finish
	base := take()
	var baseGroups groups
	if summary {
		baseGroups = goroutineGroups()
	}
	e, err := variants[v]()
	if err != nil {
		return res, err
	}

	stopCPU := func() {}
	if profile && c.cpuprofile != "" && c.cpuphase == "connect" {
		if stopCPU, err = startCPUProfile(c.cpuprofile); err != nil {
			return res, err
		}
	}
	pairs := make([]pair, n)
	took := make([]time.Duration, n) // 0 for a failed connect
	var fails atomic.Int64
	var firstErr atomic.Value
	sem := make(chan struct{}, c.parallel)
	var wg sync.WaitGroup
	cpu0, t0 := cpuTime(), time.Now()
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
			defer cancel()
			start := time.Now()
			p, err := e.connect(ctx)
			took[i] = time.Since(start)
			<-sem
			if err != nil {
				fails.Add(1)
				firstErr.CompareAndSwap(nil, err)
				return
			}
			pairs[i] = p
		}()
	}
	wg.Wait()
	res.connect, res.connectCPU = time.Since(t0), cpuTime()-cpu0
	stopCPU()
	res.connFails = int(fails.Load())
	res.connected = n - res.connFails
	res.pairP50, res.pairP99 = percentiles(took, pairs)
	if err, _ := firstErr.Load().(error); err != nil {
		fmt.Fprintf(os.Stderr, "scale: %s N=%d: %d connects failed, the first: %v\n", v, n, res.connFails, err)
	}

	// One message each way on every pair.
	var pingFails atomic.Int64
	forEach(pairs, c.parallel, func(i int, p pair) {
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		defer cancel()
		if err := p.ping(ctx, i); err != nil {
			if pingFails.Add(1) == 1 {
				fmt.Fprintf(os.Stderr, "scale: %s N=%d: pair %d: ping: %v\n", v, n, i, err)
			}
		}
	})
	res.pingFails = int(pingFails.Load())

	after := take()
	if peers := 2 * res.connected; peers > 0 {
		res.gPerPeer = float64(after.goroutines-base.goroutines) / float64(peers)
		res.kibPerPeer = (float64(after.mem()) - float64(base.mem())) / 1024 / float64(peers)
		res.stackKiBPerPeer = (float64(after.stacks) - float64(base.stacks)) / 1024 / float64(peers)
		if summary {
			res.summary = goroutineGroups().minus(baseGroups).format(peers)
		}
	}
	if profile && c.memprofile != "" {
		if err := writeHeapProfile(c.memprofile); err != nil {
			return res, err
		}
	}

	// Idle: nothing but keepalives and timers.
	if profile && c.cpuprofile != "" && c.cpuphase == "idle" {
		if stopCPU, err = startCPUProfile(c.cpuprofile); err != nil {
			return res, err
		}
	}
	cpu0, t0 = cpuTime(), time.Now()
	time.Sleep(c.idle)
	res.idlePct = 100 * float64(cpuTime()-cpu0) / float64(time.Since(t0))
	stopCPU()

	t0 = time.Now()
	forEach(pairs, c.parallel, func(_ int, p pair) { p.close() })
	if err := e.close(); err != nil {
		fmt.Fprintf(os.Stderr, "scale: %s N=%d: closing the shared port: %v\n", v, n, err)
	}
	res.closeDur = time.Since(t0)
	pairs = nil
	time.Sleep(c.settle)
	end := take()
	res.leftG = end.goroutines - base.goroutines
	res.leftKiB = (float64(end.mem()) - float64(base.mem())) / 1024
	if res.leftG > 0 {
		if baseGroups == nil {
			// No baseline stacks: list every goroutine; the few of the
			// program itself are the same in every dump.
			res.leftDump = goroutineGroups().format(0)
		} else {
			res.leftDump = goroutineGroups().minus(baseGroups).format(0)
		}
	}
	return res, nil
}

// forEach runs f on every non-nil pair, at most parallel at once.
func forEach(pairs []pair, parallel int, f func(i int, p pair)) {
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, p := range pairs {
		if p == nil {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f(i, p)
		}()
	}
	wg.Wait()
}

func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); _ = f.Close() }, nil
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// percentiles returns the median and 99th percentile of the connected
// pairs' connect times.
func percentiles(took []time.Duration, pairs []pair) (p50, p99 time.Duration) {
	var ok []time.Duration
	for i, p := range pairs {
		if p != nil {
			ok = append(ok, took[i])
		}
	}
	if len(ok) == 0 {
		return 0, 0
	}
	slices.Sort(ok)
	return ok[len(ok)/2], ok[min(len(ok)-1, len(ok)*99/100)]
}

func median(rs []result, f func(result) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func printTable(c *config, n, runs int, by map[string][]result) {
	fmt.Printf("\nN = %d pairs (%d peers), -parallel %d, medians of %d run(s)\n", n, 2*n, c.parallel, runs)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "variant\tconnect s\t(min-max)\tpair p50 ms\tpair p99 ms\tconnect CPU s\tgoroutines/peer\tKiB/peer\tof which stacks\tidle CPU % of core\tclose s\tleft goroutines\tleft KiB\tfailed\t\n")
	type med struct{ connect, g, kib, idle float64 }
	meds := map[string]med{}
	for _, v := range c.variants {
		rs := by[v]
		if len(rs) == 0 {
			continue
		}
		conn := func(r result) float64 { return r.connect.Seconds() }
		lo, hi := conn(rs[0]), conn(rs[0])
		failed, maxLeft := 0, 0
		for _, r := range rs {
			lo, hi = min(lo, conn(r)), max(hi, conn(r))
			failed += r.connFails + r.pingFails
			maxLeft = max(maxLeft, r.leftG)
		}
		m := med{median(rs, conn), median(rs, func(r result) float64 { return r.gPerPeer }),
			median(rs, func(r result) float64 { return r.kibPerPeer }), median(rs, func(r result) float64 { return r.idlePct })}
		meds[v] = m
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f-%.2f\t%.0f\t%.0f\t%.2f\t%.1f\t%.0f\t%.0f\t%.1f\t%.2f\t%d\t%+.0f\t%d\t\n", v, m.connect, lo, hi,
			median(rs, func(r result) float64 { return float64(r.pairP50.Milliseconds()) }),
			median(rs, func(r result) float64 { return float64(r.pairP99.Milliseconds()) }),
			median(rs, func(r result) float64 { return r.connectCPU.Seconds() }), m.g, m.kib,
			median(rs, func(r result) float64 { return r.stackKiBPerPeer }), m.idle,
			median(rs, func(r result) float64 { return r.closeDur.Seconds() }), maxLeft,
			median(rs, func(r result) float64 { return r.leftKiB }), failed)
	}
	_ = tw.Flush()
	fmt.Println("(left goroutines: the most over the runs; left KiB: heap+stacks vs the run's baseline, median)")

	tw = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := false
	for _, v := range []string{"sp", "sp-singleport", "pion-singleport"} {
		for _, ref := range []string{"pion", "pion-bare", "pion-singleport"} {
			a, okA := meds[v]
			b, okB := meds[ref]
			if !okA || !okB || v == ref || (ref == "pion-singleport" && v != "sp-singleport") {
				continue
			}
			if !header {
				fmt.Fprintln(tw, "ratio\tconnect time\tgoroutines/peer\tmemory/peer\tidle CPU\t")
				header = true
			}
			fmt.Fprintf(tw, "%s / %s\t%.2f×\t%+.1f\t%.2f×\t%.2f×\t\n", v, ref, a.connect/b.connect, a.g-b.g, a.kib/b.kib, a.idle/b.idle)
		}
	}
	_ = tw.Flush()
	if n != 1000 {
		return
	}
	p, ok := meds["pion"]
	if !ok {
		return
	}
	for _, v := range []string{"sp", "sp-singleport"} {
		m, ok := meds[v]
		if !ok {
			continue
		}
		left := 0
		for _, r := range by[v] {
			left = max(left, r.leftG)
		}
		check := func(ok bool) string { return map[bool]string{true: "met", false: "NOT met"}[ok] }
		fmt.Printf("targets, %s at N=1000: connect ≤ 1.1× pion and ≤ 5 s: %s (%.2f×, %.2f s); memory ≤ 1.1× pion: %s (%.2f×); goroutines ≤ pion+2: %s (%+.1f); idle CPU ≤ 10%%: %s (%.1f%%); nothing left: %s (%d)\n",
			v, check(m.connect <= 1.1*p.connect && m.connect <= 5), m.connect/p.connect, m.connect,
			check(m.kib <= 1.1*p.kib), m.kib/p.kib, check(m.g <= p.g+2), m.g-p.g, check(m.idle <= 10), m.idle, check(left == 0), left)
	}
}
