package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/gosimplepeer/simplepeer/bench/internal/udpstat"
)

// sample is the outcome of one throughput run of one variant.
type sample struct {
	label, variant string
	setupMS        float64
	mibps          float64
	drops          int64 // kernel: UDP receive buffer full
	pionDrops      int64 // Pion: internal buffer full
	stallMS        float64
	cpuPerGiB      float64 // user+sys of the process over the transfer, per GiB
	err            string
}

func (s sample) String() string {
	if s.err != "" {
		return fmt.Sprintf("%s: FAILED: %s", s.variant, s.err)
	}
	return fmt.Sprintf("%s: setup %.0f ms, %.1f MiB/s, %.1f CPU s/GiB, drops %d kernel + %d Pion, longest stall %.0f ms",
		s.variant, s.setupMS, s.mibps, s.cpuPerGiB, s.drops, s.pionDrops, s.stallMS)
}

// throughputConfig is the throughput section's flags.
type throughputConfig struct {
	runs, mib int
	variants  []variant
	timeout   time.Duration
	label     string
	rawFile   string
	node      *nodeRunner // nil: no node-node row
}

func newPayload(mib int) []byte {
	payload := make([]byte, mib<<20)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(payload) // never fails
	return payload
}

// runThroughput runs every variant (and Node ↔ Node) runs times,
// interleaved, and prints the table.
func runThroughput(c throughputConfig) error {
	payload := newPayload(c.mib)
	fmt.Printf("\n== throughput: %d runs x %d MiB one way; signalling latency %v; raw Pion: %d B messages, high %d / low %d bytes\n",
		c.runs, c.mib, sigDelay, msgSize, highWater, lowWater)
	n := len(c.variants)
	if c.node != nil {
		n++
	}
	var samples []sample
	for r := 0; r < c.runs; r++ {
		for i := 0; i < n; i++ {
			var s sample
			if j := (i + r) % n; j < len(c.variants) {
				s = runOnce(c.variants[j], payload, c.timeout)
			} else {
				s = c.node.throughput(c.mib, c.timeout)
			}
			s.label = c.label
			fmt.Fprintf(os.Stderr, "run %d/%d %s\n", r+1, c.runs, s)
			samples = append(samples, s)
		}
	}
	fmt.Println()
	printTable(os.Stdout, samples)
	fmt.Println("  CPU s/GiB: getrusage user+sys of this process over the transfer (both peers), per GiB; node-node: of the Node process")
	if c.rawFile != "" {
		return appendSamples(c.rawFile, samples)
	}
	return nil
}

// runOnce connects a pair of v, transfers payload and closes the pair.
func runOnce(v variant, payload []byte, timeout time.Duration) sample {
	s := sample{variant: v.name}
	start := time.Now()
	p, err := v.connect()
	if err != nil {
		s.err = "connect: " + err.Error()
		return s
	}
	s.setupMS = ms(time.Since(start))
	before, beforePion := udpstat.RcvbufErrors(), pionDrops.Load()
	cpu0 := cpuTime()
	start = time.Now()
	stall, err := p.transfer(payload, timeout)
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	s.stallMS = ms(stall)
	s.drops, s.pionDrops = udpstat.RcvbufErrors()-before, pionDrops.Load()-beforePion
	if err != nil {
		s.err = "transfer: " + err.Error()
	} else {
		s.mibps = float64(len(payload)) / (1 << 20) / elapsed.Seconds()
		s.cpuPerGiB = cpu.Seconds() / (float64(len(payload)) / (1 << 30))
	}
	if err := closeWithin(p); err != nil {
		s.err = strings.TrimPrefix(s.err+"; ", "; ") + err.Error()
	}
	return s
}
