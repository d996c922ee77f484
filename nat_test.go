package simplepeer_test

import (
	"testing"
	"time"

	"github.com/pion/transport/v2/vnet"
	"github.com/pion/webrtc/v3"
)

// NAT traversal on Pion's vnet (topology in vnet_test.go): each peer sits
// behind its own NAT, both use the STUN/TURN server on the WAN, and the
// test checks they connect, move data intact, and go through the relay
// exactly when no direct path can exist.

// natExchangeSize is how much each peer sends the other once connected.
const natExchangeSize = 256 << 10

// TestNATTraversal runs the NAT matrix. A direct path exists when at least
// one NAT lets in packets from a port its host has not sent to before
// (full cone, or restricted cone whose host sent to the remote's address),
// or both keep one mapping per socket (cone NATs hole-punch each other);
// otherwise each side's checks arrive from a mapping the other NAT never
// saw and only a relay connects them.
//
// Where only a relay can connect, the pair must go through it. Where a
// direct path exists, Pion may still pick the relay: a check from the
// remote's relay that comes before its trickled relay candidate makes a
// prflx candidate, which the library's DefaultSettingEngine nominates at
// once (no prflx acceptance wait) while Pion makes a relay candidate wait
// 2 s (seen in 1 of 100 runs). So those cases connect a second time with
// STUN only, which must work and be direct.
func TestNATTraversal(t *testing.T) {
	cases := []struct {
		name       string
		nat0, nat1 *vnet.NATType
		relay      bool // only a TURN relay can connect these
	}{
		{"full-cone/full-cone", natFullCone, natFullCone, false},
		{"restricted/restricted", natRestricted, natRestricted, false},
		{"port-restricted/port-restricted", natPortRestricted, natPortRestricted, false},
		{"full-cone/symmetric", natFullCone, natSymmetric, false},
		{"restricted/symmetric", natRestricted, natSymmetric, false},
		{"port-restricted/symmetric", natPortRestricted, natSymmetric, true},
		{"addr-dependent/addr-dependent", natAddrDependent, natAddrDependent, true},
		{"symmetric/symmetric", natSymmetric, natSymmetric, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			n := newNATNet(t, c.nat0, c.nat1)
			config := webrtc.Configuration{ICEServers: []webrtc.ICEServer{n.stunServer(), n.turnServer()}}
			pairs, took := connectOnVNet(t, n, config)
			t.Logf("%s, STUN+TURN: connected in %v; peer 0: %s; peer 1: %s", c.name, took.Round(time.Millisecond),
				describePair(pairs[0]), describePair(pairs[1]))
			if c.relay {
				for i, pair := range pairs {
					if !viaRelay(pair) {
						t.Errorf("peer %d: %s, want a relay: no direct path exists", i, describePair(pair))
					}
				}
				return
			}
			n = newNATNet(t, c.nat0, c.nat1)
			config = webrtc.Configuration{ICEServers: []webrtc.ICEServer{n.stunServer()}}
			pairs, took = connectOnVNet(t, n, config)
			t.Logf("%s, STUN only: connected in %v; peer 0: %s; peer 1: %s", c.name, took.Round(time.Millisecond),
				describePair(pairs[0]), describePair(pairs[1]))
			for i, pair := range pairs {
				// The remote is behind a NAT: its address is its NAT's.
				if pair.Remote.Typ != webrtc.ICECandidateTypeSrflx && pair.Remote.Typ != webrtc.ICECandidateTypePrflx {
					t.Errorf("peer %d: %s, want a srflx or prflx remote", i, describePair(pair))
				}
			}
		})
	}
}

// TestNATRelayPolicy: with ICETransportPolicyRelay on both sides the peers
// gather only relay candidates, so each one sends through its own relay
// even though their full-cone NATs would allow a direct path.
func TestNATRelayPolicy(t *testing.T) {
	n := newNATNet(t, natFullCone, natFullCone)
	config := webrtc.Configuration{
		ICEServers:         []webrtc.ICEServer{n.turnServer()},
		ICETransportPolicy: webrtc.ICETransportPolicyRelay,
	}
	pairs, took := connectOnVNet(t, n, config)
	for i, pair := range pairs {
		// The remote is its relay address: a relay candidate, or prflx when
		// the remote's check came before its trickled candidate.
		if pair.Local.Typ != webrtc.ICECandidateTypeRelay || pair.Remote.Address != vnetServerIP {
			t.Errorf("peer %d: %s, want a relay on both ends", i, describePair(pair))
		}
	}
	t.Logf("connected in %v; peer 0: %s; peer 1: %s", took.Round(time.Millisecond),
		describePair(pairs[0]), describePair(pairs[1]))
}

// connectOnVNet connects a pair of peers on n with config, exchanges data
// and returns their selected pairs and the time from New to both connect
// events.
func connectOnVNet(t *testing.T, n *natNet, config webrtc.Configuration) ([2]*webrtc.ICECandidatePair, time.Duration) {
	t.Helper()
	start := time.Now()
	p0, p1 := n.pair(t, config, nil)
	connected(t, p0, p1)
	took := time.Since(start)
	pairs := [2]*webrtc.ICECandidatePair{selectedPair(t, p0), selectedPair(t, p1)}
	exchange(t, p0, p1, natExchangeSize)
	closeAll(t, p0, p1)
	return pairs, took
}

// viaRelay reports whether a pair sends through the TURN server: its local
// candidate is a relay, or the remote address is the remote's relay (on
// the server's address, as a relay or a prflx candidate).
func viaRelay(pair *webrtc.ICECandidatePair) bool {
	return pair.Local.Typ == webrtc.ICECandidateTypeRelay || pair.Remote.Address == vnetServerIP
}
