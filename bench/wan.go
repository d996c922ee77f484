package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gosimplepeer/simplepeer"
)

// The WAN bench (-wan): the same one-way transfer as the loopback bench,
// between two in-process peers on Pion's vnet, at each simulated round-trip
// time and loss rate, for simplepeer and raw Pion. See README.md.

// wanFlags are the -wan-* flags; -runs, -mib, -msg, -high and -low are
// shared with the loopback bench.
type wanFlags struct {
	rtts, losses, variants string
	rb                     uint
	budget, timeout        time.Duration
	loopback               bool
}

// registerWANFlags defines the -wan-* flags; call it before flag.Parse.
func registerWANFlags() *wanFlags {
	f := &wanFlags{}
	flag.StringVar(&f.rtts, "wan-rtt", "0,10,50,100,200", "-wan: comma-separated round-trip times in ms")
	flag.StringVar(&f.losses, "wan-loss", "0,1,5", "-wan: comma-separated random loss rates in %")
	flag.StringVar(&f.variants, "wan-variants", "sp-write,sp-send,pion-fc,pion-fc-rb", "-wan: comma-separated rows")
	flag.UintVar(&f.rb, "wan-rb", 0, "-wan: SCTP receive window of pion-fc-rb in bytes; 0 is simplepeer.DefaultSettingEngine's")
	flag.DurationVar(&f.budget, "wan-budget", 4*time.Second, "-wan: under loss, move at most what the Mathis bound allows in this time")
	flag.DurationVar(&f.timeout, "wan-timeout", 30*time.Second, "-wan: limit for one transfer")
	flag.BoolVar(&f.loopback, "wan-loopback", true, "-wan: add a loopback row of sp-tuned for comparison")
	return f
}

const (
	// wanBaseline is the row the ratios compare with.
	wanBaseline = "pion-fc"
	// sctpPayload is the user data in one full Pion SCTP packet (1,228-byte
	// MTU less the common and DATA chunk headers).
	sctpPayload = 1200
	// minWANSize keeps lossy transfers long enough to leave slow start.
	minWANSize = 256 << 10
)

// wanSample is the outcome of one transfer of one variant at one condition.
type wanSample struct {
	cond      string
	variant   string
	size      int
	mibps     float64
	dropped   int64   // chunks the loss filter dropped during the transfer
	passed    int64   // chunks it let through
	rtx       int64   // DATA chunks SCTP retransmitted, both peers
	rtos      int64   // SCTP T3-rtx timeouts, both peers
	txRatio   float64 // SCTP bytes the sender sent / payload bytes
	iceRTT    time.Duration
	srtt      time.Duration
	cpuPerGiB float64 // process CPU seconds per GiB moved
	rateOnly  bool    // the loopback row: only mibps was measured
	err       string
}

func (s wanSample) String() string {
	if s.err != "" {
		return fmt.Sprintf("%s %s: FAILED: %s", s.cond, s.variant, s.err)
	}
	return fmt.Sprintf("%s %s: %d KiB, %.2f MiB/s, dropped %d/%d, rtx %d, RTOs %d, tx %.3fx, ICE RTT %v, SRTT %v, %.1f CPU s/GiB",
		s.cond, s.variant, s.size>>10, s.mibps, s.dropped, s.dropped+s.passed, s.rtx, s.rtos, s.txRatio,
		s.iceRTT.Round(100*time.Microsecond), s.srtt.Round(100*time.Microsecond), s.cpuPerGiB)
}

// runWAN runs the WAN bench: runs rounds (1 unless -runs is given: a
// round takes minutes), each running every variant once at each condition
// in a rotating order, then prints the table. mib, when set on the command
// line, fixes the size of every transfer.
func runWAN(f *wanFlags, runs, mib int) error {
	if !flagSet("runs") {
		runs = 1
	}
	conds, err := parseConditions(f.rtts, f.losses)
	if err != nil {
		return err
	}
	rb := uint32(f.rb)
	if rb == 0 {
		rb = libraryReceiveWindow()
	}
	vs, err := pickWANVariants(f.variants, rb)
	if err != nil {
		return err
	}
	if !flagSet("low") {
		lowWater = 512 << 10 // Pion's data-channels-flow-control example
	}
	sizes := make([]int, len(conds))
	for i, c := range conds {
		if sizes[i] = mib << 20; !flagSet("mib") {
			sizes[i] = transferSize(c, f.budget)
		}
	}
	payload := make([]byte, max(slices.Max(sizes), 16<<20))
	_, _ = rand.NewChaCha8([32]byte{1}).Read(payload) // never fails

	printEnv()
	fmt.Printf("\nWAN on Pion vnet: %d rounds; one router, MinDelay = RTT/2; loss armed during the transfer only; timeout %v\n",
		runs, f.timeout)
	fmt.Printf("raw Pion: %d B messages, high %d / low %d bytes; pion-fc-rb window %d bytes\n", msgSize, highWater, lowWater, rb)
	for _, v := range vs {
		fmt.Printf("  %-11s %s\n", v.name, v.about)
	}
	fmt.Print("KiB per transfer:")
	for i, c := range conds {
		fmt.Printf(" %s %d", c, sizes[i]>>10)
	}
	fmt.Println()
	var lo []variant
	if f.loopback {
		if lo, err = pick("sp-tuned"); err != nil {
			return err
		}
	}

	var samples []wanSample
	for r := 0; r < runs; r++ {
		for i := range conds {
			ci := (i + r) % len(conds)
			for j := range vs {
				v := vs[(j+r+ci)%len(vs)]
				s := runWANOnce(v, conds[ci], payload[:sizes[ci]], uint64(r*1000+ci), f.timeout)
				fmt.Fprintf(os.Stderr, "run %d/%d %s\n", r+1, runs, s)
				samples = append(samples, s)
			}
		}
		for _, v := range lo {
			ls := runOnce(v, payload[:16<<20], f.timeout)
			s := wanSample{cond: "loopback", variant: v.name, size: 16 << 20, mibps: ls.mibps, rateOnly: true, err: ls.err}
			fmt.Fprintf(os.Stderr, "run %d/%d %s\n", r+1, runs, s)
			samples = append(samples, s)
		}
	}
	fmt.Println()
	rows := make([]string, 0, len(vs)+len(lo))
	for _, v := range vs {
		rows = append(rows, v.name)
	}
	condNames := make([]string, len(conds))
	for i, c := range conds {
		condNames[i] = c.String()
	}
	if len(lo) > 0 {
		condNames = append(condNames, "loopback")
		rows = append(rows, lo[0].name)
	}
	printWANTable(os.Stdout, samples, condNames, rows)
	return nil
}

// pickWANVariants returns the rows named in the comma-separated names.
func pickWANVariants(names string, rb uint32) ([]wanVariant, error) {
	all := wanVariants(rb)
	var out []wanVariant
	for _, name := range strings.Split(names, ",") {
		i := slices.IndexFunc(all, func(v wanVariant) bool { return v.name == strings.TrimSpace(name) })
		if i < 0 {
			return nil, fmt.Errorf("unknown -wan-variants row %q", name)
		}
		out = append(out, all[i])
	}
	return out, nil
}

// runWANOnce builds the network for c, connects a pair of v on it,
// transfers payload with the loss filter armed and closes everything.
func runWANOnce(v wanVariant, c condition, payload []byte, seed uint64, timeout time.Duration) wanSample {
	s := wanSample{cond: c.String(), variant: v.name, size: len(payload)}
	w, err := newWANNet(c, seed)
	if err != nil {
		s.err = "vnet: " + err.Error()
		return s
	}
	defer w.close()
	logs := &sctpCounter{}
	p, err := v.connect(w.a, w.b, logs)
	if err != nil {
		s.err = "connect: " + err.Error()
		return s
	}
	before := readPathStats(p.stats()) // ICE's RTT is from the idle connect
	s.iceRTT = before.iceRTT

	w.arm(true)
	cpu0, t0 := cpuTime(), time.Now()
	_, err = p.transfer(payload, timeout)
	elapsed, cpu := time.Since(t0), cpuTime()-cpu0
	w.arm(false)
	after := readPathStats(p.stats())

	s.dropped, s.passed = w.dropped.Load(), w.passed.Load()
	s.srtt = after.srtt
	s.txRatio = float64(after.bytesSent-before.bytesSent) / float64(len(payload))
	s.cpuPerGiB = cpu.Seconds() / (float64(len(payload)) / (1 << 30))
	s.mibps = float64(len(payload)) / (1 << 20) / elapsed.Seconds()
	if err != nil {
		s.err = "transfer: " + err.Error()
	}
	s.rtx, s.rtos = logs.rtx.Load(), logs.rtos.Load()
	if err := closeWithin(p); err != nil {
		s.err = strings.TrimPrefix(s.err+"; ", "; ") + err.Error()
	}
	return s
}

// transferSize is how much one transfer at c moves: 16 MiB without loss,
// and under loss no more than a Reno-style sender
// moves in budget by the TCP throughput equation of RFC 5348 (section 3.1,
// b = 1, with Pion's 1 s minimum RTO), and at least minWANSize, so that a
// lossy cell stays bounded. The equation's timeout term matters: at 5 %
// loss SCTP's 1 s RTOs, not the RTT, set the pace.
func transferSize(c condition, budget time.Duration) int {
	size := 16 << 20
	if p := c.loss; p > 0 {
		rtt := max(c.rtt, time.Millisecond).Seconds()
		rto := max(4*rtt, 1)
		perPacket := rtt*math.Sqrt(2*p/3) + rto*min(1, 3*math.Sqrt(3*p/8))*p*(1+32*p*p)
		size = min(size, int(sctpPayload/perPacket*budget.Seconds()))
	}
	size = max(size, minWANSize)
	return size &^ (64<<10 - 1) // whole 64 KiB writes
}

// parseConditions returns every RTT (ms) with every loss rate (%).
func parseConditions(rtts, losses string) ([]condition, error) {
	var out []condition
	for _, r := range strings.Split(rtts, ",") {
		ms, err := strconv.ParseFloat(strings.TrimSpace(r), 64)
		if err != nil || ms < 0 {
			return nil, fmt.Errorf("bad -wan-rtt value %q", r)
		}
		for _, l := range strings.Split(losses, ",") {
			pct, err := strconv.ParseFloat(strings.TrimSpace(l), 64)
			if err != nil || pct < 0 || pct >= 100 {
				return nil, fmt.Errorf("bad -wan-loss value %q", l)
			}
			out = append(out, condition{rtt: time.Duration(ms * float64(time.Millisecond)), loss: pct / 100})
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no network conditions")
	}
	return out, nil
}

// flagSet reports whether the named flag was given on the command line.
func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// libraryReceiveWindow returns the SCTP receive window that
// simplepeer.DefaultSettingEngine sets, which Pion keeps unexported, so
// that pion-fc-rb follows the library when it changes; 768 KiB if it cannot
// be read.
func libraryReceiveWindow() uint32 {
	se := reflect.ValueOf(simplepeer.DefaultSettingEngine()).Elem()
	if f := se.FieldByName("sctp"); f.IsValid() {
		if w := f.FieldByName("maxReceiveBufferSize"); w.IsValid() && w.CanUint() && w.Uint() > 0 {
			return uint32(w.Uint())
		}
	}
	return 768 << 10
}
