package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/gosimplepeer/simplepeer"
	"github.com/gosimplepeer/simplepeer/bench/internal/pionapi"
	"github.com/gosimplepeer/simplepeer/bench/internal/trickle"
	"github.com/pion/ice/v2"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v3"
)

// pair is two connected in-process peers.
type pair interface {
	// ping sends one message each way and checks that both arrive intact.
	ping(ctx context.Context, id int) error
	// close closes both peers and waits until they are closed.
	close()
}

// env is one run of a variant: what its pairs share (a single port), and
// how to connect one more pair.
type env interface {
	connect(ctx context.Context) (pair, error)
	// close releases what the pairs share, after every pair is closed.
	close() error
}

// variants are the ways of connecting a pair, by name.
var variants = map[string]func() (env, error){
	"sp":              func() (env, error) { return &spEnv{}, nil },
	"sp-singleport":   newSPSinglePort,
	"pion":            func() (env, error) { return &pionEnv{interceptors: true}, nil },
	"pion-bare":       func() (env, error) { return &pionEnv{}, nil },
	"pion-singleport": newPionSinglePort,
}

// variantOrder is the default -variants list.
var variantOrder = []string{"sp", "sp-singleport", "pion", "pion-bare", "pion-singleport"}

// loopback restricts se to loopback UDP4 host candidates without mDNS.
func loopback(se *webrtc.SettingEngine) *webrtc.SettingEngine {
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" || name == "lo0" })
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return se
}

// nopLogger prints nothing, so that no variant pays for Pion's stderr
// logging (simplepeer discards it by default too).
type nopLogger struct{}

func (nopLogger) NewLogger(string) logging.LeveledLogger { return nopLogger{} }
func (nopLogger) Trace(string)                           {}
func (nopLogger) Tracef(string, ...interface{})          {}
func (nopLogger) Debug(string)                           {}
func (nopLogger) Debugf(string, ...interface{})          {}
func (nopLogger) Info(string)                            {}
func (nopLogger) Infof(string, ...interface{})           {}
func (nopLogger) Warn(string)                            {}
func (nopLogger) Warnf(string, ...interface{})           {}
func (nopLogger) Error(string)                           {}
func (nopLogger) Errorf(string, ...interface{})          {}

// outcome collects the outcome of a connect: done() once per side, or the
// first error.
type outcome struct {
	once sync.Once
	err  chan error
	mu   sync.Mutex
	left int
}

func newOutcome(sides int) *outcome { return &outcome{err: make(chan error, 1), left: sides} }

func (r *outcome) done() {
	r.mu.Lock()
	r.left--
	last := r.left == 0
	r.mu.Unlock()
	if last {
		r.finish(nil)
	}
}

func (r *outcome) fail(err error) {
	if err != nil {
		r.finish(err)
	}
}

func (r *outcome) finish(err error) { r.once.Do(func() { r.err <- err }) }

func (r *outcome) wait(ctx context.Context) error {
	select {
	case err := <-r.err:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// expect waits for msg on ch.
func expect(ctx context.Context, ch <-chan string, msg string) error {
	select {
	case got := <-ch:
		if got != msg {
			return fmt.Errorf("got %q, want %q", got, msg)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for %q: %w", msg, ctx.Err())
	}
}

// ---- simplepeer ----

type spEnv struct {
	port *simplepeer.SinglePort // nil: both sides ordinary loopback peers
}

func newSPSinglePort() (env, error) {
	port, err := simplepeer.ListenSinglePort(simplepeer.SinglePortOptions{UDP: "127.0.0.1:0"})
	if err != nil {
		return nil, err
	}
	return &spEnv{port: port}, nil
}

func (e *spEnv) close() error {
	if e.port != nil {
		return e.port.Close()
	}
	return nil
}

type spPair struct {
	a, b     *simplepeer.Peer
	aIn, bIn chan string
}

func (e *spEnv) connect(ctx context.Context) (pair, error) {
	se := loopback(simplepeer.DefaultSettingEngine())
	if e.port != nil {
		se = e.port.SettingEngine()
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
		se.SetIncludeLoopbackCandidate(true) // the port is 127.0.0.1
	}
	a, err := simplepeer.New(&simplepeer.Options{Initiator: true, Config: &webrtc.Configuration{}, SettingEngine: se})
	if err != nil {
		return nil, err
	}
	b, err := simplepeer.New(&simplepeer.Options{Config: &webrtc.Configuration{}, SettingEngine: loopback(simplepeer.DefaultSettingEngine())})
	if err != nil {
		_ = a.Close()
		return nil, err
	}
	p := &spPair{a: a, b: b, aIn: make(chan string, 1), bIn: make(chan string, 1)}
	r := newOutcome(2)
	a.OnSignal(func(s simplepeer.Signal) { r.fail(b.Signal(s)) })
	b.OnSignal(func(s simplepeer.Signal) { r.fail(a.Signal(s)) })
	a.OnData(func(d []byte) { p.aIn <- string(d) })
	b.OnData(func(d []byte) { p.bIn <- string(d) })
	for _, q := range []*simplepeer.Peer{a, b} {
		q.OnError(r.fail)
		q.OnConnect(r.done)
	}
	if err := r.wait(ctx); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func (p *spPair) ping(ctx context.Context, id int) error {
	ab, ba := fmt.Sprintf("%d a->b", id), fmt.Sprintf("%d b->a", id)
	if err := p.a.Send([]byte(ab)); err != nil {
		return err
	}
	if err := p.b.Send([]byte(ba)); err != nil {
		return err
	}
	return errors.Join(expect(ctx, p.bIn, ab), expect(ctx, p.aIn, ba))
}

func (p *spPair) close() {
	var wg sync.WaitGroup
	for _, q := range []*simplepeer.Peer{p.a, p.b} {
		wg.Add(1)
		go func() { defer wg.Done(); _ = q.Close(); <-q.Done() }()
	}
	wg.Wait()
}

// ---- raw Pion ----

type pionEnv struct {
	interceptors bool         // default codecs and interceptors, as webrtc.NewPeerConnection
	mux          ice.UDPMux   // the initiators' single port, or nil
	conn         *net.UDPConn // the mux's socket
}

func newPionSinglePort() (env, error) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	_ = conn.SetReadBuffer(4 << 20) // as ListenSinglePort does
	_ = conn.SetWriteBuffer(4 << 20)
	mux := ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: conn, Logger: nopLogger{}.NewLogger("udpmux")})
	return &pionEnv{interceptors: true, mux: mux, conn: conn}, nil
}

func (e *pionEnv) close() error {
	if e.mux != nil {
		return e.mux.Close()
	}
	return nil
}

func (e *pionEnv) api(single bool) (*webrtc.API, error) {
	se := loopback(&webrtc.SettingEngine{})
	se.SetPrflxAcceptanceMinWait(0)
	se.LoggerFactory = nopLogger{}
	if single {
		se.SetICEUDPMux(e.mux)
	}
	if !e.interceptors {
		return webrtc.NewAPI(webrtc.WithSettingEngine(*se)), nil
	}
	return pionapi.Default(*se)
}

// pionPeer is one raw PeerConnection and the candidates it received before
// its remote description.
type pionPeer struct {
	pc *webrtc.PeerConnection
	dc *webrtc.DataChannel // set before OnOpen's done
	in chan string

	remote trickle.Candidates // held until the remote description is set
}

func (p *pionPeer) addCandidate(c webrtc.ICECandidateInit) error { return p.remote.Add(c) }

func (p *pionPeer) setRemote(d webrtc.SessionDescription) error {
	if err := p.pc.SetRemoteDescription(d); err != nil {
		return err
	}
	return p.remote.Flush()
}

type pionPair struct{ a, b *pionPeer }

func (e *pionEnv) newPeer(single bool) (*pionPeer, error) {
	api, err := e.api(single)
	if err != nil {
		return nil, err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	return &pionPeer{pc: pc, in: make(chan string, 1), remote: trickle.Candidates{PC: pc}}, nil
}

func (e *pionEnv) connect(ctx context.Context) (pair, error) {
	a, err := e.newPeer(e.mux != nil)
	if err != nil {
		return nil, err
	}
	b, err := e.newPeer(false)
	if err != nil {
		_ = a.pc.Close()
		return nil, err
	}
	p := &pionPair{a: a, b: b}
	if err := p.negotiate(ctx); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func (p *pionPair) negotiate(ctx context.Context) error {
	a, b := p.a, p.b
	r := newOutcome(2)
	for _, s := range [][2]*pionPeer{{a, b}, {b, a}} {
		from, to := s[0], s[1]
		from.pc.OnICECandidate(func(c *webrtc.ICECandidate) {
			if c != nil {
				r.fail(to.addCandidate(c.ToJSON()))
			}
		})
		from.pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
			if st == webrtc.PeerConnectionStateFailed {
				r.fail(errors.New("connection failed"))
			}
		})
	}
	open := func(q *pionPeer, dc *webrtc.DataChannel) {
		dc.OnMessage(func(m webrtc.DataChannelMessage) { q.in <- string(m.Data) })
		dc.OnOpen(func() { q.dc = dc; r.done() })
	}
	dc, err := a.pc.CreateDataChannel("data", nil)
	if err != nil {
		return err
	}
	open(a, dc)
	b.pc.OnDataChannel(func(dc *webrtc.DataChannel) { open(b, dc) })

	offer, err := a.pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	if err := a.pc.SetLocalDescription(offer); err != nil {
		return err
	}
	if err := b.setRemote(offer); err != nil {
		return err
	}
	answer, err := b.pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	if err := b.pc.SetLocalDescription(answer); err != nil {
		return err
	}
	if err := a.setRemote(answer); err != nil {
		return err
	}
	return r.wait(ctx)
}

func (p *pionPair) ping(ctx context.Context, id int) error {
	ab, ba := fmt.Sprintf("%d a->b", id), fmt.Sprintf("%d b->a", id)
	if err := p.a.dc.SendText(ab); err != nil {
		return err
	}
	if err := p.b.dc.SendText(ba); err != nil {
		return err
	}
	return errors.Join(expect(ctx, p.b.in, ab), expect(ctx, p.a.in, ba))
}

func (p *pionPair) close() {
	var wg sync.WaitGroup
	for _, q := range []*pionPeer{p.a, p.b} {
		wg.Add(1)
		go func() { defer wg.Done(); _ = q.pc.Close() }()
	}
	wg.Wait()
}
