package simplepeer_test

import (
	"net"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/ice/v2"
	"github.com/pion/webrtc/v3"
)

// testTimeout bounds every wait in the tests; nothing should come near it.
const testTimeout = 20 * time.Second

// loopbackSettings is DefaultSettingEngine restricted to the loopback
// interface, so tests never send a packet off this machine.
func loopbackSettings() *webrtc.SettingEngine {
	se := simplepeer.DefaultSettingEngine()
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" || name == "lo0" })
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled) // no multicast traffic
	return se
}

// testOptions returns options for a loopback-only peer with no ICE servers.
func testOptions(initiator bool) *simplepeer.Options {
	se := loopbackSettings()
	name := map[bool]string{true: "init", false: "resp"}[initiator]
	lf := testLog.factory(name)
	if lf != nil {
		se.LoggerFactory = lf
	}
	return &simplepeer.Options{
		Initiator:     initiator,
		Config:        &webrtc.Configuration{},
		SettingEngine: se,
		LoggerFactory: lf,
	}
}

// newPeer creates a peer that is closed when the test ends.
func newPeer(t testing.TB, o *simplepeer.Options) *simplepeer.Peer {
	t.Helper()
	p, err := simplepeer.New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		testLog.dumpOnFailure(t)
		_ = p.Close()
	})
	return p
}

// wire carries every signal of a to b and back, like an application's
// signalling channel.
func wire(t testing.TB, a, b *simplepeer.Peer) {
	a.OnSignal(func(s simplepeer.Signal) { forward(t, b, s) })
	b.OnSignal(func(s simplepeer.Signal) { forward(t, a, s) })
}

func forward(t testing.TB, to *simplepeer.Peer, s simplepeer.Signal) {
	if err := to.Signal(s); err != nil && !to.Destroyed() {
		t.Errorf("Signal(%s): %v", s.Type, err)
	}
}

// newPeerPair returns an initiator and a non-initiator, wired, not yet
// connected (their connect events are held until OnConnect is set).
func newPeerPair(t testing.TB, o1, o2 *simplepeer.Options) (*simplepeer.Peer, *simplepeer.Peer) {
	t.Helper()
	if o1 == nil {
		o1 = testOptions(true)
	}
	if o2 == nil {
		o2 = testOptions(false)
	}
	p1 := newPeer(t, o1)
	p2 := newPeer(t, o2)
	wire(t, p1, p2)
	return p1, p2
}

// connected waits for both peers' connect events.
func connected(t testing.TB, peers ...*simplepeer.Peer) {
	t.Helper()
	ch := make(chan struct{}, len(peers))
	for _, p := range peers {
		p.OnConnect(func() { ch <- struct{}{} })
	}
	for range peers {
		recv(t, ch, "connect")
	}
}

// connectedPair is newPeerPair plus connected.
func connectedPair(t testing.TB) (*simplepeer.Peer, *simplepeer.Peer) {
	t.Helper()
	p1, p2 := newPeerPair(t, nil, nil)
	connected(t, p1, p2)
	return p1, p2
}

// recv waits for one value from ch, failing the test after testTimeout.
func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testTimeout):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}
