package simplepeer_test

// Ports of simple-peer's test/trickle.js.

import (
	"strings"
	"sync"
	"testing"

	"github.com/gosimplepeer/simplepeer"
)

// TestDisableTrickle ports "disable trickle", "disable trickle (only
// initiator)" and "disable trickle (only receiver)": a peer with trickle
// off signals exactly once, an SDP that carries its candidates; a peer with
// trickle on signals at least once; either way they connect and exchange
// data.
func TestDisableTrickle(t *testing.T) {
	tests := []struct {
		name       string
		noTrickle1 bool
		noTrickle2 bool
	}{
		{name: "both", noTrickle1: true, noTrickle2: true},
		{name: "only initiator", noTrickle1: true},
		{name: "only receiver", noTrickle2: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o1, o2 := testOptions(true), testOptions(false)
			o1.DisableTrickle, o2.DisableTrickle = tt.noTrickle1, tt.noTrickle2
			p1 := newPeer(t, o1)
			p2 := newPeer(t, o2)
			l1, l2 := logSignals(t, p1, p2)
			connected(t, p1, p2)
			checkTrickle(t, "peer1", l1.signals(), tt.noTrickle1, simplepeer.SignalOffer, false)
			checkTrickle(t, "peer2", l2.signals(), tt.noTrickle2, simplepeer.SignalAnswer, false)
			if !p1.Initiator() || p2.Initiator() {
				t.Errorf("Initiator: peer1 %v, peer2 %v", p1.Initiator(), p2.Initiator())
			}
			pingPong(t, p1, p2, sendText, []byte("sup peer2"), []byte("sup peer1"))
			closeAll(t, p1, p2)
			// Nothing more was signalled on the way out.
			checkTrickle(t, "peer1 after close", l1.signals(), tt.noTrickle1, simplepeer.SignalOffer, true)
			checkTrickle(t, "peer2 after close", l2.signals(), tt.noTrickle2, simplepeer.SignalAnswer, true)
		})
	}
}

// checkTrickle checks one peer's signals: with trickle off, exactly one
// description that holds its candidates; with trickle on, the description
// and then (when all is finished) one signal per candidate.
func checkTrickle(t *testing.T, who string, sigs []simplepeer.Signal, noTrickle bool, want simplepeer.SignalType, finished bool) {
	t.Helper()
	if len(sigs) == 0 || sigs[0].Type != want {
		t.Errorf("%s: signals %v, want %s first", who, signalTypes(sigs), want)
		return
	}
	if !noTrickle {
		if finished && len(sigs) < 2 || sigs[1].Type != simplepeer.SignalCandidate {
			t.Errorf("%s with trickle: signals %v, want candidates after the %s", who, signalTypes(sigs), want)
		}
		return
	}
	if len(sigs) != 1 {
		t.Errorf("%s without trickle: %d signals %v, want 1", who, len(sigs), signalTypes(sigs))
	}
	sdp := sigs[0].SDP
	if !strings.Contains(sdp, "a=candidate:") {
		t.Errorf("%s without trickle: the %s holds no candidates", who, want)
	}
	if strings.Contains(sdp, "a=ice-options:trickle") {
		t.Errorf("%s without trickle: the %s still offers trickle", who, want)
	}
}

// TestEndOfCandidates ports "null end candidate does not throw",
// "empty-string end candidate does not throw" and "mDNS candidate does not
// throw": such candidates, as simple-peer and browsers send them, are
// accepted and ignored before the remote description and after connect,
// and the peers stay connected.
func TestEndOfCandidates(t *testing.T) {
	tests := []struct {
		name string
		json string
	}{
		{"null", `{"candidate":{"candidate":null,"sdpMLineIndex":0,"sdpMid":"0"}}`},
		{"empty string", `{"type":"candidate","candidate":{"candidate":"","sdpMLineIndex":0,"sdpMid":"0"}}`},
		{"mDNS", `{"type":"candidate","candidate":{"candidate":"candidate:2053030672 1 udp 2113937151 ede93942-fbc5-4323-9b73-169de626e467.local 55741 typ host generation 0 ufrag HNmH network-cost 999","sdpMLineIndex":0,"sdpMid":"0"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := simplepeer.ParseSignal([]byte(tt.json))
			if err != nil {
				t.Fatalf("ParseSignal: %v", err)
			}
			p1, p2 := newPeerPair(t, nil, nil)
			errs1, errs2 := errChan(p1), errChan(p2)
			// Before any description: the non-initiator has none yet.
			if err := p2.Signal(s); err != nil {
				t.Fatalf("Signal before the offer: %v", err)
			}
			connected(t, p1, p2)
			for _, p := range []*simplepeer.Peer{p1, p2} {
				if err := p.Signal(s); err != nil {
					t.Fatalf("Signal after connect: %v", err)
				}
			}
			pingPong(t, p1, p2, sendBinary, []byte("still"), []byte("connected"))
			closeAll(t, p1, p2)
			// Errors come before close: none may have come.
			for _, errs := range []<-chan error{errs1, errs2} {
				select {
				case err := <-errs:
					t.Errorf("error event: %v", err)
				default:
				}
			}
		})
	}
}

// TestCandidatesBeforeDescription ports "ice candidates received before
// description": each side holds its signals and, at each candidate,
// delivers what it holds newest first, so candidates reach the remote
// before the description they belong to.
func TestCandidatesBeforeDescription(t *testing.T) {
	p1 := newPeer(t, testOptions(true))
	p2 := newPeer(t, testOptions(false))
	reversed := func(to *simplepeer.Peer) func(simplepeer.Signal) {
		var mu sync.Mutex
		var held []simplepeer.Signal
		return func(s simplepeer.Signal) {
			mu.Lock()
			held = append(held, s)
			var out []simplepeer.Signal
			if s.Type == simplepeer.SignalCandidate {
				for len(held) > 0 {
					out = append(out, held[len(held)-1])
					held = held[:len(held)-1]
				}
			}
			mu.Unlock()
			for _, s := range out {
				forward(t, to, s)
			}
		}
	}
	p1.OnSignal(reversed(p2))
	p2.OnSignal(reversed(p1))
	connected(t, p1, p2)
	pingPong(t, p1, p2, sendBinary, []byte("ping"), []byte("pong"))
	closeAll(t, p1, p2)
}
