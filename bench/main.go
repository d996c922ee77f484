// Command bench measures simplepeer against raw Pion WebRTC on the loopback
// interface, in one run and one table per section:
//
//   - connect: connect latency p50/p90/max, trickle on and off, at each
//     signalling latency (-connect-sigdelays), library vs raw Pion;
//   - messages: 64-byte messages per second one way with a bounded window,
//     and the round trip of a 64-byte ping-pong (p50/p99);
//   - allocs: allocations and bytes per 64-byte message (testing.Benchmark),
//     with the library's send and receive sides apart;
//   - throughput: one-way MiB/s with the packets dropped meanwhile and the
//     longest stall, CPU seconds (user+sys) per GiB;
//   - node: Node simple-peer <-> Node simple-peer rows in the throughput and
//     messages tables (skipped, saying why, without interop/node_modules);
//   - pairs: heap and goroutines per connected peer.
//
// It never leaves the machine: ICE gathers loopback host candidates only (no
// STUN or TURN server, no mDNS), and every wait is bounded, so it always
// ends by itself. Rows of a section run interleaved (the start rotates each
// round); tables give medians (or percentiles) and ratios to raw Pion. See
// README.md for usage.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"
)

// Settings from flags.
var (
	// sigDelay is the one-way latency of the simulated signalling channel
	// of the throughput section.
	sigDelay time.Duration
	// Raw Pion sender: message size and backpressure marks.
	msgSize   = 16 << 10
	highWater = uint64(1 << 20)
	lowWater  = uint64(256 << 10)
)

var sectionNames = []string{"connect", "messages", "allocs", "throughput", "node", "pairs"}

func main() {
	runs := flag.Int("runs", 5, "throughput runs per variant, interleaved")
	mib := flag.Int("mib", 64, "MiB to transfer one way per throughput run")
	names := flag.String("variants", "sp-tuned,sp-default,pion-default,pion-tuned", "comma-separated throughput variants (-list shows all)")
	pairs := flag.Int("pairs", 20, "connected pairs for the heap/goroutine measurement; 0 skips it")
	memNames := flag.String("memvariants", "sp-tuned,pion-default", "variants for the heap/goroutine measurement")
	timeout := flag.Duration("timeout", 120*time.Second, "limit for one transfer or one message measurement")
	flag.DurationVar(&sigDelay, "sigdelay", 0, "one-way latency of the in-process signalling channel of the throughput and pairs sections (e.g. 50ms)")
	flag.IntVar(&msgSize, "msg", msgSize, "raw Pion message size in bytes")
	flag.Uint64Var(&highWater, "high", highWater, "raw Pion sender: wait while more than this many bytes are buffered")
	flag.Uint64Var(&lowWater, "low", lowWater, "raw Pion sender: resume at this buffered amount")
	label := flag.String("label", "", "label for the throughput samples of this build (with -raw)")
	rawFile := flag.String("raw", "", "append every throughput sample to this CSV file")
	report := flag.String("report", "", "print the throughput table for the samples in this CSV file and exit")
	list := flag.Bool("list", false, "list the variants and exit")
	only := flag.String("only", strings.Join(sectionNames, ","), "comma-separated sections to run: "+strings.Join(sectionNames, ", "))
	connects := flag.Int("connects", 100, "connect: connects per row")
	connectDelays := flag.String("connect-sigdelays", "0,50ms", "connect: comma-separated one-way signalling latencies")
	msgRuns := flag.Int("msgruns", 10, "messages: runs per row, interleaved")
	msgBlocks := flag.Int("msgblocks", 10, "messages: turns the Go rows take within a run (each 1/msgblocks of the messages and round trips)")
	msgCount := flag.Int("msgcount", 50000, "messages: 64-byte messages per rate measurement")
	window := flag.Int("window", 256, "messages, allocs: most messages sent and not yet received")
	roundTrips := flag.Int("roundtrips", 2000, "messages: measured ping-pong round trips per run")
	allocRows := flag.String("allocrows", "", "allocs: comma-separated rows to run besides the baseline (e.g. 'sp -> pion'); empty runs all")
	allocRuns := flag.Int("allocruns", 3, "allocs: testing.Benchmark runs per row")
	interop := flag.String("interop", "", "node: the interop module directory, with node_modules (default: ../interop next to bench)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the sections run to this file")
	memProfile := flag.String("memprofile", "", "record every allocation (slow) and write the allocs profile to this file at the end")
	wan := flag.Bool("wan", false, "run the WAN bench on Pion's vnet instead (see the -wan-* flags)")
	wanFlags := registerWANFlags()
	flag.Parse()

	switch {
	case *wan:
		if err := runWAN(wanFlags, *runs, *mib); err != nil {
			fatal(err)
		}
		return
	case *list:
		for _, v := range allVariants {
			fmt.Printf("%-18s %s\n", v.name, v.about)
		}
		return
	case *report != "":
		samples, err := readSamples(*report)
		if err != nil {
			fatal(err)
		}
		printTable(os.Stdout, samples)
		return
	}
	sections := map[string]bool{}
	for _, s := range strings.Split(*only, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !slices.Contains(sectionNames, s) {
			fatal(fmt.Errorf("unknown section %q in -only (sections: %s)", s, strings.Join(sectionNames, ", ")))
		}
		sections[s] = true
	}
	vs, err := pick(*names)
	if err != nil {
		fatal(err)
	}
	mvs, err := pick(*memNames)
	if err != nil {
		fatal(err)
	}
	delays, err := parseDurations(*connectDelays)
	if err != nil {
		fatal(err)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		runtime.MemProfileRate = 1
		defer writeHeapProfile(*memProfile)
	}
	start := time.Now()
	printEnv()

	var node *nodeRunner
	if sections["node"] {
		if node, err = newNodeRunner(*interop); err != nil {
			fmt.Printf("node: SKIPPED, no node-node rows: %v\n", err)
		} else {
			fmt.Println("node:", node.versions)
		}
	}
	// -only node: the node rows with their baselines.
	nodeOnly := node != nil && !sections["throughput"] && !sections["messages"]
	if nodeOnly {
		vs = []variant{mustVariant(baseline)}
	}

	if sections["connect"] && *connects > 0 {
		runConnect(*connects, delays)
	}
	if sections["messages"] || nodeOnly {
		runMessages(msgConfig{runs: *msgRuns, count: *msgCount, window: *window, roundTrips: *roundTrips, blocks: *msgBlocks,
			timeout: *timeout, node: node, nodeOnly: nodeOnly})
	}
	if sections["allocs"] && *allocRuns > 0 {
		runAllocs(*allocRuns, *window, *timeout, *allocRows)
	}
	if sections["throughput"] || nodeOnly {
		err := runThroughput(throughputConfig{runs: *runs, mib: *mib, variants: vs, timeout: *timeout,
			label: *label, rawFile: *rawFile, node: node})
		if err != nil {
			fatal(err)
		}
	}
	if sections["pairs"] && *pairs > 0 {
		runPeers(mvs, *pairs)
	}
	fmt.Printf("\ntotal %v\n", time.Since(start).Round(time.Second))
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

func writeHeapProfile(path string) {
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		_ = f.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: memprofile:", err)
	}
}

func parseDurations(s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if f == "0" {
			out = append(out, 0)
			continue
		}
		d, err := time.ParseDuration(f)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}
