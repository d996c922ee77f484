package simplepeer_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/ice/v2"
	"github.com/pion/logging"
	"github.com/pion/transport/v2/vnet"
	"github.com/pion/webrtc/v3"
)

// vnetPair returns two peers on Pion's virtual network, with short ICE
// timeouts, and a switch that drops every packet between them while on.
func vnetPair(t *testing.T) (p1, p2 *simplepeer.Peer, drop *atomic.Bool) {
	t.Helper()
	return vnetPairWith(t, func(se *webrtc.SettingEngine) {
		// disconnected after 400 ms of silence, failed 1.5 s later.
		se.SetICETimeouts(400*time.Millisecond, 1500*time.Millisecond, 100*time.Millisecond)
	})
}

// vnetPairWith is vnetPair with Pion's ICE timeouts unless tune changes
// the settings.
func vnetPairWith(t *testing.T, tune func(*webrtc.SettingEngine)) (p1, p2 *simplepeer.Peer, drop *atomic.Bool) {
	t.Helper()
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelError
	router, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "10.99.0.0/24", LoggerFactory: lf})
	if err != nil {
		t.Fatal(err)
	}
	drop = &atomic.Bool{}
	router.AddChunkFilter(func(vnet.Chunk) bool { return !drop.Load() })
	opts := func(initiator bool, ip string) *simplepeer.Options {
		n, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{ip}})
		if err != nil {
			t.Fatal(err)
		}
		if err := router.AddNet(n); err != nil {
			t.Fatal(err)
		}
		se := &webrtc.SettingEngine{}
		se.SetNet(n)
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
		se.SetPrflxAcceptanceMinWait(0)
		tune(se)
		return &simplepeer.Options{Initiator: initiator, Config: &webrtc.Configuration{}, SettingEngine: se}
	}
	o1, o2 := opts(true, "10.99.0.1"), opts(false, "10.99.0.2")
	if err := router.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = router.Stop() })
	p1, p2 = newPeerPair(t, o1, o2)
	return p1, p2, drop
}

// When the network between connected peers goes away, ICE fails and each
// peer is destroyed with ERR_ICE_CONNECTION_FAILURE (or, if Pion reports the
// connection state first, ERR_CONNECTION_FAILURE), then closes.
func TestICEFailureDestroys(t *testing.T) {
	p1, p2, drop := vnetPair(t)
	connected(t, p1, p2)
	type result struct {
		err    error
		closed bool
	}
	peers := []*simplepeer.Peer{p1, p2}
	results := make([]chan result, len(peers))
	for i, p := range peers {
		ch := make(chan result, 4)
		results[i] = ch
		p.OnError(func(err error) { ch <- result{err: err} })
		p.OnClose(func() { ch <- result{closed: true} })
	}
	drop.Store(true)
	for i := range peers {
		r := recv(t, results[i], "error")
		if r.closed {
			t.Fatalf("peer %d: close before error", i+1)
		}
		if c := simplepeer.Code(r.err); c != simplepeer.ErrCodeICEConnectionFailure && c != simplepeer.ErrCodeConnectionFailure {
			t.Fatalf("peer %d: error code %q (%v), want %s", i+1, c, r.err, simplepeer.ErrCodeICEConnectionFailure)
		}
		var e *simplepeer.Error
		if !errors.As(r.err, &e) {
			t.Fatalf("%T is not *Error", r.err)
		}
		if r := recv(t, results[i], "close"); !r.closed {
			t.Fatalf("peer %d: second error %v, want close", i+1, r.err)
		}
	}
	if !p1.Destroyed() || !p2.Destroyed() {
		t.Fatal("peers not destroyed")
	}
}

// ICE "disconnected" is transient: when packets flow again the peers stay
// connected and keep exchanging data (simple-peer destroys nothing on it).
func TestICEDisconnectedIsTransient(t *testing.T) {
	p1, p2, drop := vnetPair(t)
	connected(t, p1, p2)
	states := make(chan webrtc.ICEConnectionState, 16)
	p1.OnICEStateChange(func(s webrtc.ICEConnectionState, _ webrtc.ICEGatheringState) { states <- s })
	p1.OnClose(func() { t.Error("p1 closed on a transient disconnect") })
	p2.OnClose(func() { t.Error("p2 closed on a transient disconnect") })

	drop.Store(true)
	for s := recv(t, states, "disconnected"); s != webrtc.ICEConnectionStateDisconnected; s = recv(t, states, "disconnected") {
	}
	drop.Store(false)
	for s := recv(t, states, "connected"); s != webrtc.ICEConnectionStateConnected; s = recv(t, states, "connected") {
	}

	got := make(chan string, 1)
	p2.OnData(func(b []byte) { got <- string(b) })
	if err := p1.SendString("still here"); err != nil {
		t.Fatal(err)
	}
	if s := recv(t, got, "data"); s != "still here" {
		t.Fatalf("got %q", s)
	}
	p1.OnClose(nil)
	p2.OnClose(nil)
}
