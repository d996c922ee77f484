package simplepeer_test

import (
	"os"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/webrtc/v3"
)

// Network failures on vnet (topology in vnet_test.go) end a peer in a
// bounded time: ICE declares the connection failed after the
// SettingEngine's disconnected+failed timeouts without a packet (or that
// long in "checking" without a working pair), and the peer is destroyed
// with ERR_ICE_CONNECTION_FAILURE (ERR_CONNECTION_FAILURE when Pion's
// connection state reports first).

// Short ICE timeouts for the tests: disconnected after 1 s of silence,
// failed 2 s later, a keepalive every 200 ms.
const (
	failDisconnected = time.Second
	failFailed       = 2 * time.Second
	failKeepalive    = 200 * time.Millisecond
)

// Pion's defaults (ice/v2 agent_config.go), for SIMPLEPEER_NETFAIL_DEFAULTS.
const (
	pionDisconnected = 5 * time.Second
	pionFailed       = 25 * time.Second
)

// netFailCase sets up peers on n and returns them with trigger, which
// breaks the network (nil: it is broken from the start) and returns when
// it has.
type netFailCase struct {
	name  string
	setup func(t *testing.T, n *natNet, tune func(*webrtc.SettingEngine)) (p [2]*simplepeer.Peer, trigger func())
	// after, if set, checks what else the failure did.
	after func(t *testing.T)
}

var netFailCases = []netFailCase{
	{name: "remote network cut", setup: setupCut},
	{name: "no candidates (relay-only, no TURN server)", setup: setupNoCandidates},
	{name: "remote unreachable from the start", setup: setupUnreachable},
	{name: "TURN server gone mid-transfer", setup: setupTURNGone},
}

// TestNetFail runs every case with short ICE timeouts and checks both
// peers end with an ICE failure within disconnected+failed (+ slack).
func TestNetFail(t *testing.T) {
	tune := func(se *webrtc.SettingEngine) { se.SetICETimeouts(failDisconnected, failFailed, failKeepalive) }
	runNetFail(t, tune, failDisconnected+failFailed, 2*time.Second)
}

// TestNetFailPionDefaults is TestNetFail with Pion's own ICE timeouts
// (5 s + 25 s): over half a minute, so it runs only when
// SIMPLEPEER_NETFAIL_DEFAULTS is set, to measure the numbers the README
// documents.
func TestNetFailPionDefaults(t *testing.T) {
	if os.Getenv("SIMPLEPEER_NETFAIL_DEFAULTS") == "" {
		t.Skip("takes 30 s a case; set SIMPLEPEER_NETFAIL_DEFAULTS=1 to run")
	}
	runNetFail(t, nil, pionDisconnected+pionFailed, 5*time.Second)
}

// runNetFail runs the cases in parallel, each expecting both peers to be
// destroyed with an ICE failure no sooner than bound-1s and no later than
// bound+slack after the trigger.
func runNetFail(t *testing.T, tune func(*webrtc.SettingEngine), bound, slack time.Duration) {
	for _, c := range netFailCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			n := newNATNet(t, natFullCone, natFullCone)
			peers, trigger := c.setup(t, n, tune)
			ends := [2]*endWatch{watchEnd(peers[0]), watchEnd(peers[1])}
			from := time.Now()
			if trigger != nil {
				trigger()
			}
			for i, w := range ends {
				err, took := w.wait(t, from, bound+slack)
				code := simplepeer.Code(err)
				t.Logf("%s: peer %d: %v after %v", c.name, i, err, took.Round(10*time.Millisecond))
				if code != simplepeer.ErrCodeICEConnectionFailure && code != simplepeer.ErrCodeConnectionFailure {
					t.Errorf("peer %d: error %v, want %s", i, err, simplepeer.ErrCodeICEConnectionFailure)
				}
				if took < bound-time.Second {
					t.Errorf("peer %d: failed after %v, before the ICE timeouts (%v) could expire", i, took, bound)
				}
			}
			if c.after != nil {
				c.after(t)
			}
		})
	}
}

// setupCut connects two peers directly (STUN only), then drops every
// packet to and from peer 1's LAN.
func setupCut(t *testing.T, n *natNet, tune func(*webrtc.SettingEngine)) ([2]*simplepeer.Peer, func()) {
	p0, p1 := n.pair(t, webrtc.Configuration{ICEServers: []webrtc.ICEServer{n.stunServer()}}, tune)
	connected(t, p0, p1)
	return [2]*simplepeer.Peer{p0, p1}, func() { n.cut[1].Store(true) }
}

// setupNoCandidates makes relay-only peers with no TURN server: neither
// gathers a candidate, so ICE checks no pair at all.
func setupNoCandidates(t *testing.T, n *natNet, tune func(*webrtc.SettingEngine)) ([2]*simplepeer.Peer, func()) {
	p0, p1 := n.pair(t, webrtc.Configuration{ICETransportPolicy: webrtc.ICETransportPolicyRelay}, tune)
	neverConnect(t, p0, p1)
	return [2]*simplepeer.Peer{p0, p1}, nil
}

// setupUnreachable cuts peer 1's LAN before the peers exist: both gather
// candidates (peer 0 also a srflx) and exchange them, and every check is
// lost.
func setupUnreachable(t *testing.T, n *natNet, tune func(*webrtc.SettingEngine)) ([2]*simplepeer.Peer, func()) {
	n.cut[1].Store(true)
	p0, p1 := n.pair(t, webrtc.Configuration{ICEServers: []webrtc.ICEServer{n.stunServer()}}, tune)
	neverConnect(t, p0, p1)
	return [2]*simplepeer.Peer{p0, p1}, nil
}

// setupTURNGone connects relay-only peers, starts a transfer from peer 0
// to peer 1 and, once 256 KiB have arrived, closes the TURN server.
func setupTURNGone(t *testing.T, n *natNet, tune func(*webrtc.SettingEngine)) ([2]*simplepeer.Peer, func()) {
	config := webrtc.Configuration{
		ICEServers:         []webrtc.ICEServer{n.turnServer()},
		ICETransportPolicy: webrtc.ICETransportPolicyRelay,
	}
	p0, p1 := n.pair(t, config, tune)
	connected(t, p0, p1)
	flowing := make(chan struct{})
	wrote, read := make(chan error, 1), make(chan error, 1)
	go func() { wrote <- writeUntilError(p0) }()
	go func() { read <- readUntilError(p1, 256<<10, flowing) }()
	t.Cleanup(func() {
		// The peers are destroyed by now, unless the test failed early:
		// then destroying them ends both loops.
		if t.Failed() {
			p0.Destroy(nil)
			p1.Destroy(nil)
		}
		werr, rerr := recv(t, wrote, "Write to return"), recv(t, read, "Read to return")
		t.Logf("TURN server gone: Write returned %v; Read returned %v", werr, rerr)
	})
	return [2]*simplepeer.Peer{p0, p1}, func() {
		recv(t, flowing, "256 KiB through the relay")
		n.stopServer()
	}
}

// writeUntilError writes 16 KiB at a time to p until Write fails.
func writeUntilError(p *simplepeer.Peer) error {
	buf := make([]byte, 16<<10)
	for {
		if _, err := p.Write(buf); err != nil {
			return err
		}
	}
}

// readUntilError reads p until Read fails, closing flowing once it has
// read n bytes.
func readUntilError(p *simplepeer.Peer, n int, flowing chan<- struct{}) error {
	buf := make([]byte, 64<<10)
	total := 0
	for {
		k, err := p.Read(buf)
		if total < n && total+k >= n {
			close(flowing)
		}
		total += k
		if err != nil {
			return err
		}
	}
}

// neverConnect fails the test if a peer connects.
func neverConnect(t *testing.T, peers ...*simplepeer.Peer) {
	for _, p := range peers {
		p.OnConnect(func() { t.Error("peers connected on a network that cannot carry a packet between them") })
	}
}

// endWatch records how a peer ends: its error, if any, then its close,
// each with the time its handler ran.
type endWatch struct {
	ends   chan endEvent
	closed chan struct{}
}

type endEvent struct {
	err error // nil for the close
	at  time.Time
}

// watchEnd sets p's OnError and OnClose handlers to record its end.
func watchEnd(p *simplepeer.Peer) *endWatch {
	w := &endWatch{ends: make(chan endEvent, 4), closed: make(chan struct{})}
	p.OnError(func(err error) { w.ends <- endEvent{err, time.Now()} })
	p.OnClose(func() {
		w.ends <- endEvent{nil, time.Now()}
		close(w.closed)
	})
	return w
}

// wait returns the peer's error (nil if it closed without one) and how
// long after from it came, failing the test if it has not come within;
// then it waits for the close that follows an error.
func (w *endWatch) wait(t *testing.T, from time.Time, within time.Duration) (error, time.Duration) {
	t.Helper()
	timer := time.NewTimer(within - time.Since(from))
	defer timer.Stop()
	var first endEvent
	select {
	case first = <-w.ends: // events come in order: an error before the close
	case <-timer.C:
		t.Fatalf("no error or close within %v", within)
	}
	select {
	case <-w.closed:
	case <-timer.C:
		t.Fatalf("error %v but no close within %v", first.err, within)
	}
	return first.err, first.at.Sub(from)
}
