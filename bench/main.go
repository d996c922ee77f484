// Command bench measures simplepeer against raw Pion WebRTC on the loopback
// interface: connect time; one-way data channel throughput together with the
// packets dropped meanwhile (by the kernel, for full UDP receive buffers, and
// by Pion, for its full internal buffers) and the longest stall; and heap and
// goroutines per connected peer. It never leaves the machine: ICE gathers loopback host
// candidates only (no STUN or TURN server, no mDNS), and every wait is
// bounded, so it always ends by itself.
//
// Variants run interleaved (the start rotates each round) and the table gives
// the median, the minimum and the maximum over the runs, and ratios of the
// medians to raw Pion with default settings. See README.md for usage.
package main

import (
	"bytes"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/gosimplepeer/simplepeer/bench/internal/udpstat"
	"github.com/gosimplepeer/simplepeer/internal/udpbuf"
	"github.com/pion/ice/v2"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v3"
)

const (
	// baseline is the variant the ratios compare with.
	baseline = "pion-default"
	// udpBuffer is the socket buffer size of the tuned raw Pion variants,
	// the same as simplepeer's DefaultSettingEngine asks for.
	udpBuffer = 4 << 20
	// writeSize is the size of each Write call on a simplepeer sender
	// (the library splits it into 16 KiB messages).
	writeSize = 64 << 10
	// setupTimeout bounds one connect; closeTimeout bounds one close.
	setupTimeout = 20 * time.Second
	closeTimeout = 30 * time.Second
)

// variant is one way of connecting two in-process peers.
type variant struct {
	name     string
	simple   bool   // through simplepeer (Write/Read), else raw Pion (Send/OnMessage)
	tuned    bool   // no peer-reflexive wait and 4 MiB UDP buffers
	sctpRecv uint32 // SCTP max receive buffer; 0 keeps Pion's default (1 MiB)
	about    string
}

var allVariants = []variant{
	{"sp-tuned", true, true, 0, "simplepeer, DefaultSettingEngine"},
	{"sp-default", true, false, 0, "simplepeer, SettingEngine = &webrtc.SettingEngine{}"},
	{"pion-default", false, false, 0, "raw Pion, default settings (the baseline)"},
	{"pion-tuned", false, true, 0, "raw Pion, SetPrflxAcceptanceMinWait(0) + 4 MiB UDP buffers"},
	{"sp-tuned-rb512k", true, true, 512 << 10, "sp-tuned + SetSCTPMaxReceiveBufferSize(512 KiB)"},
	{"sp-tuned-rb768k", true, true, 768 << 10, "sp-tuned + SetSCTPMaxReceiveBufferSize(768 KiB)"},
	{"sp-tuned-rb4m", true, true, 4 << 20, "sp-tuned + SetSCTPMaxReceiveBufferSize(4 MiB)"},
	{"sp-tuned-rb8m", true, true, 8 << 20, "sp-tuned + SetSCTPMaxReceiveBufferSize(8 MiB)"},
	{"pion-tuned-rb512k", false, true, 512 << 10, "pion-tuned + SetSCTPMaxReceiveBufferSize(512 KiB)"},
	{"pion-tuned-rb768k", false, true, 768 << 10, "pion-tuned + SetSCTPMaxReceiveBufferSize(768 KiB)"},
	{"pion-tuned-rb4m", false, true, 4 << 20, "pion-tuned + SetSCTPMaxReceiveBufferSize(4 MiB)"},
	{"pion-tuned-rb8m", false, true, 8 << 20, "pion-tuned + SetSCTPMaxReceiveBufferSize(8 MiB)"},
}

// Settings from flags.
var (
	// sigDelay is the one-way latency of the simulated signalling channel.
	sigDelay time.Duration
	// Raw Pion sender: message size and backpressure marks.
	msgSize   = 16 << 10
	highWater = uint64(1 << 20)
	lowWater  = uint64(256 << 10)
)

func main() {
	runs := flag.Int("runs", 5, "measured runs per variant, interleaved")
	mib := flag.Int("mib", 64, "MiB to transfer one way per run")
	names := flag.String("variants", "sp-tuned,sp-default,pion-default,pion-tuned", "comma-separated variants (-list shows all)")
	pairs := flag.Int("pairs", 20, "connected pairs for the heap/goroutine measurement; 0 skips it")
	memNames := flag.String("memvariants", "sp-tuned,pion-default", "variants for the heap/goroutine measurement")
	timeout := flag.Duration("timeout", 120*time.Second, "limit for one transfer")
	flag.DurationVar(&sigDelay, "sigdelay", 0, "one-way latency of the in-process signalling channel (e.g. 50ms)")
	flag.IntVar(&msgSize, "msg", msgSize, "raw Pion message size in bytes")
	flag.Uint64Var(&highWater, "high", highWater, "raw Pion sender: wait while more than this many bytes are buffered")
	flag.Uint64Var(&lowWater, "low", lowWater, "raw Pion sender: resume at this buffered amount")
	label := flag.String("label", "", "label for the samples of this build (with -raw)")
	rawFile := flag.String("raw", "", "append every sample to this CSV file")
	report := flag.String("report", "", "print the table for the samples in this CSV file and exit")
	list := flag.Bool("list", false, "list the variants and exit")
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
	vs, err := pick(*names)
	if err != nil {
		fatal(err)
	}
	mvs, err := pick(*memNames)
	if err != nil {
		fatal(err)
	}
	printEnv()

	payload := make([]byte, *mib<<20)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(payload) // never fails
	fmt.Printf("\n%d runs x %d MiB one way; signalling latency %v; raw Pion: %d B messages, high %d / low %d bytes\n",
		*runs, *mib, sigDelay, msgSize, highWater, lowWater)
	var samples []sample
	for r := 0; r < *runs; r++ {
		for i := range vs {
			v := vs[(i+r)%len(vs)]
			s := runOnce(v, payload, *timeout)
			s.label = *label
			fmt.Fprintf(os.Stderr, "run %d/%d %s\n", r+1, *runs, s)
			samples = append(samples, s)
		}
	}
	fmt.Println()
	printTable(os.Stdout, samples)
	if *rawFile != "" {
		if err := appendSamples(*rawFile, samples); err != nil {
			fatal(err)
		}
	}

	if *pairs > 0 {
		sigDelay = 0 // couriers with a delay run goroutines of their own
		fmt.Printf("\nper connected peer, %d pairs (heap after GC, goroutines)\n", *pairs)
		for _, v := range mvs {
			fmt.Println(measurePeers(v, *pairs))
		}
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

func pick(names string) ([]variant, error) {
	var out []variant
	for _, n := range strings.Split(names, ",") {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		i := slices.IndexFunc(allVariants, func(v variant) bool { return v.name == n })
		if i < 0 {
			return nil, fmt.Errorf("unknown variant %q (try -list)", n)
		}
		out = append(out, allVariants[i])
	}
	return out, nil
}

// printEnv prints what the numbers depend on: CPUs, the kernel's socket
// buffer cap and the Pion module versions in this build.
func printEnv() {
	rmem, _ := os.ReadFile("/proc/sys/net/core/rmem_max")
	fmt.Printf("%s, GOMAXPROCS %d, net.core.rmem_max %s\n",
		runtime.Version(), runtime.GOMAXPROCS(0), strings.TrimSpace(string(rmem)))
	if bi, ok := debug.ReadBuildInfo(); ok {
		var mods []string
		for _, m := range bi.Deps {
			switch m.Path {
			case "github.com/pion/webrtc/v3", "github.com/pion/sctp", "github.com/pion/ice/v2", "github.com/pion/datachannel":
				mods = append(mods, strings.TrimPrefix(m.Path, "github.com/pion/")+"@"+m.Version)
			}
		}
		fmt.Println("pion:", strings.Join(mods, " "))
	}
}

// settingEngine returns the variant's Pion settings, always restricted to
// the loopback interface.
func (v variant) settingEngine() *webrtc.SettingEngine {
	var se *webrtc.SettingEngine
	switch {
	case v.simple && v.tuned:
		se = simplepeer.DefaultSettingEngine()
	case v.tuned:
		se = &webrtc.SettingEngine{}
		se.SetPrflxAcceptanceMinWait(0)
		if n := udpbuf.NewNet(udpBuffer); n != nil {
			se.SetNet(n)
		}
	default:
		se = &webrtc.SettingEngine{}
	}
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" || name == "lo0" })
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if v.sctpRecv > 0 {
		se.SetSCTPMaxReceiveBufferSize(v.sctpRecv)
	}
	se.LoggerFactory = dropCounter{}
	return se
}

// pionDrops counts packets Pion itself dropped: its ICE and mux buffers
// (1 MB each) are full, or SCTP's receive buffer is. The kernel's counters
// do not see these.
var pionDrops atomic.Int64

// dropCounter is a Pion logger factory that prints nothing and counts the
// messages Pion logs when it drops a packet.
type dropCounter struct{}

func (dropCounter) NewLogger(string) logging.LeveledLogger { return dropCounter{} }

func (dropCounter) count(msg string) {
	if strings.Contains(msg, "dropping") || strings.Contains(msg, "Failed to write packet") {
		pionDrops.Add(1)
	}
}

func (dropCounter) Trace(string)                     {}
func (dropCounter) Tracef(string, ...any)            {}
func (d dropCounter) Debug(msg string)               { d.count(msg) }
func (d dropCounter) Debugf(format string, _ ...any) { d.count(format) }
func (d dropCounter) Info(msg string)                { d.count(msg) }
func (d dropCounter) Infof(format string, _ ...any)  { d.count(format) }
func (d dropCounter) Warn(msg string)                { d.count(msg) }
func (d dropCounter) Warnf(format string, _ ...any)  { d.count(format) }
func (d dropCounter) Error(msg string)               { d.count(msg) }
func (d dropCounter) Errorf(format string, _ ...any) { d.count(format) }

// pair is two connected in-process peers.
type pair interface {
	// transfer sends payload from the first peer to the second, checks
	// that it arrives intact and in order, and returns the longest time
	// without any data arriving (a stall: a retransmission timeout, or the
	// machine busy elsewhere).
	transfer(payload []byte, timeout time.Duration) (stall time.Duration, err error)
	close()
}

// connect creates two peers and returns once both data channels are open.
func (v variant) connect() (pair, error) {
	if v.simple {
		return connectSimplePeer(v)
	}
	return connectPion(v)
}

// ready collects "open" notices and errors from callbacks.
type ready struct {
	up   chan struct{}
	errs chan error
}

func newReady() *ready {
	return &ready{up: make(chan struct{}, 2), errs: make(chan error, 1)}
}

func (r *ready) done() { r.up <- struct{}{} }

func (r *ready) fail(err error) {
	if err != nil {
		select {
		case r.errs <- err:
		default:
		}
	}
}

// wait waits for two done calls, the first error or setupTimeout.
func (r *ready) wait() error {
	timer := time.NewTimer(setupTimeout)
	defer timer.Stop()
	for n := 0; n < 2; n++ {
		select {
		case <-r.up:
		case err := <-r.errs:
			return err
		case <-timer.C:
			return fmt.Errorf("not connected after %v", setupTimeout)
		}
	}
	return nil
}

// courier carries signals one way, in order, sigDelay after they were
// sent, like an application's signalling server. With no delay it calls at
// once; otherwise one goroutine delivers until stop.
type courier struct {
	ch       chan func()
	stop     chan struct{}
	stopOnce sync.Once
}

func newCourier() *courier {
	c := &courier{ch: make(chan func(), 64), stop: make(chan struct{})}
	if sigDelay > 0 {
		go func() {
			for {
				select {
				case fn := <-c.ch:
					fn()
				case <-c.stop:
					return
				}
			}
		}()
	}
	return c
}

// send runs fn on the far side after sigDelay; dropped after stop.
func (c *courier) send(fn func()) {
	if sigDelay == 0 {
		fn()
		return
	}
	at := time.Now().Add(sigDelay)
	select {
	case c.ch <- func() { time.Sleep(time.Until(at)); fn() }:
	case <-c.stop:
	}
}

func (c *courier) close() { c.stopOnce.Do(func() { close(c.stop) }) }

// gapMeter finds the longest interval between calls of tick.
type gapMeter struct {
	last time.Time
	max  time.Duration
}

func (g *gapMeter) tick() {
	now := time.Now()
	g.max = max(g.max, now.Sub(g.last))
	g.last = now
}

// spPair is two simplepeer peers wired to each other's Signal.
type spPair struct {
	a, b   *simplepeer.Peer
	ab, ba *courier
}

func connectSimplePeer(v variant) (pair, error) {
	newPeer := func(initiator bool) (*simplepeer.Peer, error) {
		return simplepeer.New(&simplepeer.Options{
			Initiator:     initiator,
			Config:        &webrtc.Configuration{},
			SettingEngine: v.settingEngine(),
		})
	}
	a, err := newPeer(true)
	if err != nil {
		return nil, err
	}
	b, err := newPeer(false)
	if err != nil {
		_ = a.Close()
		return nil, err
	}
	p, err := spConnect(a, b)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// spConnect connects two simplepeer peers (signals carried in process), or
// closes both.
func spConnect(a, b *simplepeer.Peer) (*spPair, error) {
	p, r := &spPair{a: a, b: b, ab: newCourier(), ba: newCourier()}, newReady()
	a.OnSignal(func(s simplepeer.Signal) { p.ab.send(func() { r.fail(b.Signal(s)) }) })
	b.OnSignal(func(s simplepeer.Signal) { p.ba.send(func() { r.fail(a.Signal(s)) }) })
	for _, q := range []*simplepeer.Peer{a, b} {
		q.OnError(r.fail)
		q.OnConnect(r.done)
	}
	if err := r.wait(); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func (p *spPair) transfer(payload []byte, timeout time.Duration) (time.Duration, error) {
	gap := gapMeter{last: time.Now()}
	deadline := time.Now().Add(timeout)
	_ = p.a.SetWriteDeadline(deadline)
	_ = p.b.SetReadDeadline(deadline)
	written := make(chan error, 1)
	go func() {
		var err error
		for off := 0; off < len(payload) && err == nil; off += writeSize {
			_, err = p.a.Write(payload[off:min(off+writeSize, len(payload))])
		}
		written <- err
	}()
	buf := make([]byte, 64<<10)
	for got := 0; got < len(payload); {
		n, err := p.b.Read(buf)
		switch {
		case err != nil:
			return 0, fmt.Errorf("read after %d bytes: %w", got, err)
		case got+n > len(payload) || !bytes.Equal(buf[:n], payload[got:got+n]):
			return 0, fmt.Errorf("data corrupted at byte %d", got)
		}
		gap.tick()
		got += n
	}
	if err := <-written; err != nil {
		return 0, fmt.Errorf("write: %w", err)
	}
	return gap.max, nil
}

func (p *spPair) close() {
	p.ab.close()
	p.ba.close()
	_ = p.a.Close()
	_ = p.b.Close()
}

// pionPair is two raw Pion connections; a created the data channel.
type pionPair struct {
	a, b   *webrtc.PeerConnection
	dc     *webrtc.DataChannel
	ab, ba *courier

	mu   sync.Mutex
	sink func([]byte) // receives b's messages during a transfer
}

// candidates trickles ICE candidates to pc, holding them until pc has a
// remote description (Pion rejects them before).
type candidates struct {
	mu    sync.Mutex
	pc    *webrtc.PeerConnection
	ready bool
	held  []webrtc.ICECandidateInit
}

func (c *candidates) add(ci webrtc.ICECandidateInit) error {
	c.mu.Lock()
	if !c.ready {
		c.held = append(c.held, ci)
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	return c.pc.AddICECandidate(ci)
}

func (c *candidates) flush() error {
	c.mu.Lock()
	c.ready = true
	held := c.held
	c.held = nil
	c.mu.Unlock()
	for _, ci := range held {
		if err := c.pc.AddICECandidate(ci); err != nil {
			return err
		}
	}
	return nil
}

// newPionPC creates a connection the way webrtc.NewPeerConnection does
// (default codecs and interceptors), with the variant's settings.
func newPionPC(v variant) (*webrtc.PeerConnection, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, reg); err != nil {
		return nil, err
	}
	api := webrtc.NewAPI(webrtc.WithSettingEngine(*v.settingEngine()),
		webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg))
	return api.NewPeerConnection(webrtc.Configuration{})
}

func connectPion(v variant) (pair, error) {
	a, err := newPionPC(v)
	if err != nil {
		return nil, err
	}
	b, err := newPionPC(v)
	if err != nil {
		_ = a.Close()
		return nil, err
	}
	return pionConnect(a, b)
}

// pionConnect connects two raw Pion peers with a data channel from a to b
// (signals carried in process), or closes both.
func pionConnect(a, b *webrtc.PeerConnection) (*pionPair, error) {
	p, r := &pionPair{a: a, b: b, ab: newCourier(), ba: newCourier()}, newReady()
	toA, toB := &candidates{pc: a}, &candidates{pc: b}
	a.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			p.ab.send(func() { r.fail(toB.add(c.ToJSON())) })
		}
	})
	b.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			p.ba.send(func() { r.fail(toA.add(c.ToJSON())) })
		}
	})
	b.OnDataChannel(func(dc *webrtc.DataChannel) {
		dc.OnMessage(func(m webrtc.DataChannelMessage) { p.deliver(m.Data) })
		dc.OnOpen(r.done)
	})
	var err error
	if p.dc, err = a.CreateDataChannel("bench", nil); err == nil {
		p.dc.OnOpen(r.done)
		err = p.negotiate(toA, toB, r.fail)
	}
	if err == nil {
		err = r.wait()
	}
	if err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// negotiate makes a's offer and carries it to b, and b's answer back, over
// the couriers; errors on the far sides go to fail.
func (p *pionPair) negotiate(toA, toB *candidates, fail func(error)) error {
	offer, err := p.a.CreateOffer(nil)
	if err == nil {
		err = p.a.SetLocalDescription(offer)
	}
	if err != nil {
		return err
	}
	p.ab.send(func() { fail(p.answer(offer, toA, toB, fail)) })
	return nil
}

// answer runs on b's side: take the offer, answer it, send the answer.
func (p *pionPair) answer(offer webrtc.SessionDescription, toA, toB *candidates, fail func(error)) error {
	if err := p.b.SetRemoteDescription(offer); err != nil {
		return err
	}
	if err := toB.flush(); err != nil {
		return err
	}
	answer, err := p.b.CreateAnswer(nil)
	if err == nil {
		err = p.b.SetLocalDescription(answer)
	}
	if err != nil {
		return err
	}
	p.ba.send(func() {
		err := p.a.SetRemoteDescription(answer)
		if err == nil {
			err = toA.flush()
		}
		fail(err)
	})
	return nil
}

func (p *pionPair) deliver(data []byte) {
	p.mu.Lock()
	sink := p.sink
	p.mu.Unlock()
	if sink != nil {
		sink(data)
	}
}

// transfer sends payload in msgSize messages, waiting while more than
// highWater bytes are buffered until OnBufferedAmountLow reports lowWater.
func (p *pionPair) transfer(payload []byte, timeout time.Duration) (time.Duration, error) {
	gap := gapMeter{last: time.Now()} // touched only by b's read loop until done
	done := make(chan error, 1)
	finish := func(err error) {
		select {
		case done <- err:
		default:
		}
	}
	var got atomic.Int64
	failed := false // touched only by b's read loop
	p.mu.Lock()
	p.sink = func(data []byte) {
		n := int(got.Load())
		gap.tick()
		switch {
		case failed:
		case n+len(data) > len(payload) || !bytes.Equal(data, payload[n:n+len(data)]):
			failed = true
			finish(fmt.Errorf("data corrupted at byte %d", n))
		case n+len(data) == len(payload):
			got.Store(int64(len(payload)))
			finish(nil)
		default:
			got.Store(int64(n + len(data)))
		}
	}
	p.mu.Unlock()

	low := make(chan struct{}, 1)
	p.dc.SetBufferedAmountLowThreshold(lowWater)
	p.dc.OnBufferedAmountLow(func() {
		select {
		case low <- struct{}{}:
		default:
		}
	})
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	timedOut := func() error {
		return fmt.Errorf("timeout: %d of %d bytes received", got.Load(), len(payload))
	}
	for off := 0; off < len(payload); off += msgSize {
		for p.dc.BufferedAmount() > highWater {
			select {
			case <-low:
			case err := <-done:
				return 0, errors.Join(err, errors.New("receiver finished before the sender"))
			case <-timer.C:
				return 0, timedOut()
			}
		}
		if err := p.dc.Send(payload[off:min(off+msgSize, len(payload))]); err != nil {
			return 0, fmt.Errorf("send: %w", err)
		}
	}
	select {
	case err := <-done:
		return gap.max, err
	case <-timer.C:
		return 0, timedOut()
	}
}

func (p *pionPair) close() {
	p.ab.close()
	p.ba.close()
	_ = p.a.GracefulClose()
	_ = p.b.GracefulClose()
}

// closeWithin closes p, reporting an error if that takes over closeTimeout
// (the close goes on in the background).
func closeWithin(p pair) error {
	done := make(chan struct{})
	go func() {
		p.close()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-time.After(closeTimeout):
		return fmt.Errorf("close hung for %v", closeTimeout)
	}
}

// sample is the outcome of one run of one variant.
type sample struct {
	label, variant string
	setupMS        float64
	mibps          float64
	drops          int64 // kernel: UDP receive buffer full
	pionDrops      int64 // Pion: internal buffer full
	stallMS        float64
	err            string
}

func (s sample) String() string {
	if s.err != "" {
		return fmt.Sprintf("%s: FAILED: %s", s.variant, s.err)
	}
	return fmt.Sprintf("%s: setup %.0f ms, %.1f MiB/s, drops %d kernel + %d Pion, longest stall %.0f ms",
		s.variant, s.setupMS, s.mibps, s.drops, s.pionDrops, s.stallMS)
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
	s.setupMS = float64(time.Since(start).Microseconds()) / 1000
	before, beforePion := udpstat.RcvbufErrors(), pionDrops.Load()
	start = time.Now()
	stall, err := p.transfer(payload, timeout)
	elapsed := time.Since(start)
	s.stallMS = float64(stall.Microseconds()) / 1000
	s.drops, s.pionDrops = udpstat.RcvbufErrors()-before, pionDrops.Load()-beforePion
	if err != nil {
		s.err = "transfer: " + err.Error()
	} else {
		s.mibps = float64(len(payload)) / (1 << 20) / elapsed.Seconds()
	}
	if err := closeWithin(p); err != nil {
		s.err = strings.TrimPrefix(s.err+"; ", "; ") + err.Error()
	}
	return s
}

// measurePeers connects pairs pairs of v and reports heap and goroutines per
// peer, then closes them and reports goroutines still alive after 5 s.
func measurePeers(v variant, pairs int) string {
	settle := func() (heap uint64, goroutines int) {
		time.Sleep(time.Second) // let handshake goroutines and timers finish
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc, runtime.NumGoroutine()
	}
	heap0, g0 := settle()
	var ps []pair
	defer func() {
		for _, p := range ps {
			_ = closeWithin(p)
		}
	}()
	for i := 0; i < pairs; i++ {
		p, err := v.connect()
		if err != nil {
			return fmt.Sprintf("%-14s FAILED at pair %d: %v", v.name, i+1, err)
		}
		ps = append(ps, p)
	}
	heap1, g1 := settle()
	peers := float64(2 * pairs)
	var hung int
	for _, p := range ps {
		if closeWithin(p) != nil {
			hung++
		}
	}
	ps = nil
	left := runtime.NumGoroutine() - g0
	for deadline := time.Now().Add(5 * time.Second); left > 0 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		left = runtime.NumGoroutine() - g0
	}
	out := fmt.Sprintf("%-14s heap %6.1f KiB/peer   goroutines %5.1f/peer   left after Close: %d goroutines",
		v.name, (float64(heap1)-float64(heap0))/peers/1024, float64(g1-g0)/peers, left)
	if hung > 0 {
		out += fmt.Sprintf(", %d closes hung", hung)
	}
	return out
}

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

// printTable prints one row per label and variant, in order of appearance,
// with ratios to the baseline variant of the same label.
func printTable(w *os.File, samples []sample) {
	type row struct {
		key                          string
		setup, mib, drp, pdrp, stall []float64
		fails                        []string
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
		r.pdrp = append(r.pdrp, float64(s.pionDrops))
		r.stall = append(r.stall, s.stallMS)
	}
	base := func(key string) *row {
		if i := strings.LastIndex(key, "/"); i >= 0 {
			return byKey[key[:i+1]+baseline]
		}
		return byKey[baseline]
	}
	ratio := func(x, b float64) string {
		if b == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2fx", x/b)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "variant\tok\tsetup ms med\t[min, max]\tvs base\tMiB/s med\t[min, max]\tvs base\tkernel drops\t[min, max]\tPion drops\t[min, max]\tstall ms med\t[min, max]\t")
	for _, r := range rows {
		su, th, st := summarize(r.setup), summarize(r.mib), summarize(r.stall)
		dr, pd := summarize(r.drp), summarize(r.pdrp)
		var bs, bt stat
		if b := base(r.key); b != nil {
			bs, bt = summarize(b.setup), summarize(b.mib)
		}
		fmt.Fprintf(tw, "%s\t%d/%d\t%.0f\t[%.0f, %.0f]\t%s\t%.1f\t[%.1f, %.1f]\t%s\t%.0f\t[%.0f, %.0f]\t%.0f\t[%.0f, %.0f]\t%.0f\t[%.0f, %.0f]\t\n",
			r.key, len(r.mib), len(r.mib)+len(r.fails), su.med, su.min, su.max, ratio(su.med, bs.med),
			th.med, th.min, th.max, ratio(th.med, bt.med), dr.med, dr.min, dr.max,
			pd.med, pd.min, pd.max, st.med, st.min, st.max)
	}
	_ = tw.Flush()
	for _, r := range rows {
		for _, f := range r.fails {
			fmt.Fprintf(w, "FAILED %s: %s\n", r.key, f)
		}
	}
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
			strconv.FormatInt(s.pionDrops, 10), strconv.FormatFloat(s.stallMS, 'f', 3, 64), s.err})
	}
	cw.Flush()
	return errors.Join(cw.Error(), f.Close())
}

// readSamples reads a file written by appendSamples.
func readSamples(path string) ([]sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, err
	}
	var out []sample
	for _, r := range recs {
		if len(r) != 8 {
			return nil, fmt.Errorf("%s: bad record %q", path, r)
		}
		s := sample{label: r[0], variant: r[1], err: r[7]}
		s.setupMS, _ = strconv.ParseFloat(r[2], 64)
		s.mibps, _ = strconv.ParseFloat(r[3], 64)
		s.drops, _ = strconv.ParseInt(r[4], 10, 64)
		s.pionDrops, _ = strconv.ParseInt(r[5], 10, 64)
		s.stallMS, _ = strconv.ParseFloat(r[6], 64)
		out = append(out, s)
	}
	return out, nil
}
