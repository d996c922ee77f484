package simplepeer_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/webrtc/v3"
)

// sampleSDPs connects a throwaway pair and returns the offer and the answer
// it signalled: real SDPs for inputs that must be well formed.
func sampleSDPs(t *testing.T) (offer, answer string) {
	t.Helper()
	p1 := newPeer(t, testOptions(true))
	p2 := newPeer(t, testOptions(false))
	r := wireJSON(t, p1, p2)
	connected(t, p1, p2)
	o, a := r.sdps(0), r.sdps(1)
	if len(o) != 1 || len(a) != 1 {
		t.Fatalf("sample pair signalled %d offers and %d answers, want 1 and 1", len(o), len(a))
	}
	_ = p1.Close()
	_ = p2.Close()
	return o[0].SDP, a[0].SDP
}

func candidateSignal(line string) simplepeer.Signal {
	return simplepeer.Signal{Type: simplepeer.SignalCandidate, Candidate: &webrtc.ICECandidateInit{
		Candidate: line, SDPMLineIndex: valuePtr[uint16](0), SDPMid: valuePtr("0"),
	}}
}

// failOnDestroy makes the test fail if p reports an error or closes before
// the test's cleanups start. Call it after creating p: its cleanup then runs
// before the one that closes p.
func failOnDestroy(t *testing.T, p *simplepeer.Peer, name string) {
	var mu sync.Mutex
	ending := false
	t.Cleanup(func() {
		mu.Lock()
		ending = true
		mu.Unlock()
	})
	p.OnError(func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if !ending {
			t.Errorf("%s: unexpected error event: %v", name, err)
		}
	})
	p.OnClose(func() {
		mu.Lock()
		defer mu.Unlock()
		if !ending {
			t.Errorf("%s: unexpected close event", name)
		}
	})
}

const (
	toInitiator = 1 << iota
	toNonInitiator
	toBoth = toInitiator | toNonInitiator
)

// TestSignalBadInput checks that every signal the peer cannot use returns an
// *Error with code ERR_SIGNALING and leaves the peer as it was: the pair
// still connects (or stays connected) and exchanges messages. simple-peer
// destroys the peer on some of these; the Go API reports them instead.
func TestSignalBadInput(t *testing.T) {
	offer, answer := sampleSDPs(t)
	cases := []struct {
		name      string
		to        int
		connected bool // deliver after connect instead of before signalling
		sig       simplepeer.Signal
	}{
		{name: "unknown type", to: toBoth, sig: simplepeer.Signal{Type: "bogus", SDP: offer}},
		{name: "pranswer", to: toInitiator, sig: simplepeer.Signal{Type: "pranswer", SDP: answer}},
		{name: "offer without sdp", to: toBoth, sig: simplepeer.Signal{Type: simplepeer.SignalOffer}},
		{name: "offer with blank sdp", to: toNonInitiator, sig: simplepeer.Signal{Type: simplepeer.SignalOffer, SDP: " \r\n"}},
		{name: "answer without sdp", to: toBoth, sig: simplepeer.Signal{Type: simplepeer.SignalAnswer}},
		{name: "candidate without candidate", to: toBoth, sig: simplepeer.Signal{Type: simplepeer.SignalCandidate}},
		{name: "renegotiate false", to: toBoth, sig: simplepeer.Signal{Type: simplepeer.SignalRenegotiate}},
		{name: "transceiverRequest missing", to: toInitiator, sig: simplepeer.Signal{Type: simplepeer.SignalTransceiverRequest}},
		{name: "transceiverRequest bad kind", to: toBoth, sig: simplepeer.Signal{
			Type: simplepeer.SignalTransceiverRequest, TransceiverRequest: &simplepeer.TransceiverRequest{Kind: "data"},
		}},
		{name: "transceiverRequest empty kind", to: toInitiator, sig: simplepeer.Signal{
			Type: simplepeer.SignalTransceiverRequest, TransceiverRequest: &simplepeer.TransceiverRequest{},
		}},
		{name: "transceiverRequest bad direction", to: toInitiator, sig: simplepeer.Signal{
			Type: simplepeer.SignalTransceiverRequest, TransceiverRequest: &simplepeer.TransceiverRequest{
				Kind: "audio", Init: &simplepeer.TransceiverInit{Direction: "sideways"},
			},
		}},
		{name: "unparseable candidate", to: toBoth, sig: candidateSignal("candidate:garbage")},
		{name: "unparseable candidate", to: toBoth, connected: true, sig: candidateSignal("candidate:garbage")},
		{name: "candidate bad port", to: toBoth, sig: candidateSignal("candidate:1 1 udp 2122260223 192.0.2.1 notaport typ host")},
		{name: "not a candidate", to: toBoth, sig: candidateSignal("hello world")},
		{name: "offer to the initiator", to: toInitiator, sig: simplepeer.Signal{Type: simplepeer.SignalOffer, SDP: offer}},
		{name: "offer to the initiator", to: toInitiator, connected: true, sig: simplepeer.Signal{Type: simplepeer.SignalOffer, SDP: offer}},
		{name: "answer to the non-initiator", to: toNonInitiator, sig: simplepeer.Signal{Type: simplepeer.SignalAnswer, SDP: answer}},
		{name: "answer to the non-initiator", to: toNonInitiator, connected: true, sig: simplepeer.Signal{Type: simplepeer.SignalAnswer, SDP: answer}},
		{name: "answer with no offer pending", to: toInitiator, connected: true, sig: simplepeer.Signal{Type: simplepeer.SignalAnswer, SDP: answer}},
		{name: "empty signal", to: toBoth, sig: simplepeer.Signal{}},
	}
	for _, tc := range cases {
		for _, side := range []int{toInitiator, toNonInitiator} {
			if tc.to&side == 0 {
				continue
			}
			name := tc.name + "/to-initiator"
			if side == toNonInitiator {
				name = tc.name + "/to-non-initiator"
			}
			if tc.connected {
				name += "/connected"
			}
			t.Run(name, func(t *testing.T) {
				p1 := newPeer(t, testOptions(true))
				p2 := newPeer(t, testOptions(false))
				failOnDestroy(t, p1, "initiator")
				failOnDestroy(t, p2, "non-initiator")
				if tc.connected {
					wire(t, p1, p2)
					connected(t, p1, p2)
				}
				target := p1
				if side == toNonInitiator {
					target = p2
				}

				err := target.Signal(tc.sig)
				var e *simplepeer.Error
				if !errors.As(err, &e) || e.Code != simplepeer.ErrCodeSignaling {
					t.Fatalf("Signal(%+v) = %v (%T), want *Error with code %s", tc.sig, err, err, simplepeer.ErrCodeSignaling)
				}
				if got := simplepeer.Code(err); got != simplepeer.ErrCodeSignaling {
					t.Errorf("Code = %q, want %q", got, simplepeer.ErrCodeSignaling)
				}
				if target.Destroyed() {
					t.Fatal("bad input destroyed the peer")
				}
				// The same input again: still only an error.
				if err := target.Signal(tc.sig); simplepeer.Code(err) != simplepeer.ErrCodeSignaling {
					t.Fatalf("second Signal = %v, want code %s", err, simplepeer.ErrCodeSignaling)
				}

				if !tc.connected {
					wire(t, p1, p2)
					connected(t, p1, p2)
				}
				exchangeMessages(t, p1, p2)
			})
		}
	}
}

// errorCloseEvents records a peer's error and close events, in order.
type errorCloseEvents struct {
	ch chan string
	mu sync.Mutex
	// errs holds the errors delivered to OnError.
	errs []error
}

func watchErrorClose(p *simplepeer.Peer) *errorCloseEvents {
	w := &errorCloseEvents{ch: make(chan string, 16)}
	p.OnError(func(err error) {
		w.mu.Lock()
		w.errs = append(w.errs, err)
		w.mu.Unlock()
		w.ch <- "error"
	})
	p.OnClose(func() { w.ch <- "close" })
	return w
}

func (w *errorCloseEvents) errors() []error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]error(nil), w.errs...)
}

// expectDestroyedWith checks the events after a peer was destroyed with
// want: error(want), then close, then nothing more even after Close.
func expectDestroyedWith(t *testing.T, p *simplepeer.Peer, w *errorCloseEvents, want error) {
	t.Helper()
	if ev := recv(t, w.ch, "error event"); ev != "error" {
		t.Fatalf("first event %q, want error", ev)
	}
	if errs := w.errors(); len(errs) != 1 || !errors.Is(errs[0], want) {
		t.Errorf("OnError got %v, want exactly [%v]", errs, want)
	}
	if ev := recv(t, w.ch, "close event"); ev != "close" {
		t.Fatalf("second event %q, want close", ev)
	}
	_ = p.Close()
	p.Destroy(errors.New("again"))
	select {
	case ev := <-w.ch:
		t.Errorf("event %q after close", ev)
	default:
	}
	if err := p.Signal(candidateSignal(chromeHostCandidate)); simplepeer.Code(err) != simplepeer.ErrCodeDestroyed {
		t.Errorf("Signal after destroy = %v, want code %s", err, simplepeer.ErrCodeDestroyed)
	}
}

// TestSignalMalformedSDP checks simple-peer's handling of a description the
// WebRTC stack rejects: the peer is destroyed with ERR_SET_REMOTE_DESCRIPTION,
// Signal returns that error, OnError gets the same error, then OnClose fires,
// once.
func TestSignalMalformedSDP(t *testing.T) {
	offer, answer := sampleSDPs(t)
	drop := func(sdp, prefix string) string {
		out := ""
		for _, l := range splitLinesKeep(sdp) {
			if len(l) < len(prefix) || l[:len(prefix)] != prefix {
				out += l
			}
		}
		return out
	}
	cases := []struct {
		name string
		sdp  string
	}{
		{"garbage", "this is not an sdp"},
		{"bad version", "v=x\r\n"},
		{"no fingerprint", drop(offer, "a=fingerprint:")},
		{"no ice-ufrag", drop(offer, "a=ice-ufrag:")},
	}
	for _, tc := range cases {
		t.Run("offer/"+tc.name, func(t *testing.T) {
			p := newPeer(t, testOptions(false))
			w := watchErrorClose(p)
			err := p.Signal(simplepeer.Signal{Type: simplepeer.SignalOffer, SDP: tc.sdp})
			if got := simplepeer.Code(err); got != simplepeer.ErrCodeSetRemoteDescription {
				t.Fatalf("Signal = %v, want code %s", err, simplepeer.ErrCodeSetRemoteDescription)
			}
			if !p.Destroyed() {
				t.Error("peer not destroyed after Signal returned ERR_SET_REMOTE_DESCRIPTION")
			}
			expectDestroyedWith(t, p, w, err)
		})
	}
	answerCases := []struct {
		name string
		sdp  string
	}{
		{"garbage", "this is not an sdp"},
		{"no fingerprint", drop(answer, "a=fingerprint:")},
	}
	for _, tc := range answerCases {
		t.Run("answer/"+tc.name, func(t *testing.T) {
			p := newPeer(t, testOptions(true))
			w := watchErrorClose(p)
			offered := make(chan struct{}, 1)
			p.OnSignal(func(s simplepeer.Signal) {
				if s.Type == simplepeer.SignalOffer {
					offered <- struct{}{}
				}
			})
			recv(t, offered, "offer")
			err := p.Signal(simplepeer.Signal{Type: simplepeer.SignalAnswer, SDP: tc.sdp})
			if got := simplepeer.Code(err); got != simplepeer.ErrCodeSetRemoteDescription {
				t.Fatalf("Signal = %v, want code %s", err, simplepeer.ErrCodeSetRemoteDescription)
			}
			expectDestroyedWith(t, p, w, err)
		})
	}
}

func splitLinesKeep(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		if i < len(s) {
			i++
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	return out
}

// TestSignalHarmlessCandidates checks candidates that simple-peer forwards
// from browsers but a Go peer cannot or need not use: the end-of-candidates
// marker (an empty candidate string, which simple-peer signals as any other
// candidate), mDNS ".local" host candidates, TCP active candidates, IPv6 and
// unreachable addresses. None of them may destroy the peer, before or after
// the remote description, and the pair still connects and talks.
func TestSignalHarmlessCandidates(t *testing.T) {
	sigs := []simplepeer.Signal{
		candidateSignal(""),
		{Type: simplepeer.SignalCandidate, Candidate: &webrtc.ICECandidateInit{}},
		candidateSignal(chromeMDNSCandidate),
		candidateSignal("candidate:2999745851 1 udp 2122260223 3c5e0d2a-8b1f-4c7e-a1d2-9f0e8d7c6b5a.local 54321 typ host generation 0 ufrag Xu1e network-id 1"),
		candidateSignal("candidate:1467250027 1 tcp 1518280447 192.0.2.23 9 typ host tcptype active generation 0 ufrag Xu1e network-id 1 network-cost 10"),
		candidateSignal("candidate:2158417403 1 udp 2122262783 2001:db8::17 58756 typ host generation 0 ufrag Xu1e network-id 2 network-cost 10"),
		candidateSignal(chromeSrflxCandidate),
	}
	for _, connectFirst := range []bool{false, true} {
		name := "before-description"
		if connectFirst {
			name = "connected"
		}
		t.Run(name, func(t *testing.T) {
			p1 := newPeer(t, testOptions(true))
			p2 := newPeer(t, testOptions(false))
			failOnDestroy(t, p1, "initiator")
			failOnDestroy(t, p2, "non-initiator")
			if connectFirst {
				wire(t, p1, p2)
				connected(t, p1, p2)
			}
			for _, p := range []*simplepeer.Peer{p1, p2} {
				for _, s := range sigs {
					if err := p.Signal(s); err != nil {
						t.Errorf("Signal(%q) = %v, want nil", s.Candidate.Candidate, err)
					}
				}
			}
			if !connectFirst {
				wire(t, p1, p2)
				connected(t, p1, p2)
			}
			exchangeMessages(t, p1, p2)
			if p1.Destroyed() || p2.Destroyed() {
				t.Fatal("a candidate destroyed a peer")
			}
		})
	}
}

// TestSignalCandidatesBeforeDescription checks simple-peer's candidate queue:
// candidates that arrive before the remote description (signals reordered in
// transit) are kept and added once it is set. Dropping the other side's
// candidates makes the connection depend on the queued ones.
func TestSignalCandidatesBeforeDescription(t *testing.T) {
	cases := []struct {
		name                  string
		holdOffer, holdAnswer bool // deliver after the sender's first candidate
		dropFrom1, dropFrom2  bool // never deliver that side's candidates
	}{
		{name: "both", holdOffer: true, holdAnswer: true},
		{name: "initiator's only", holdOffer: true, dropFrom2: true},
		{name: "non-initiator's only", holdAnswer: true, dropFrom1: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p1 := newPeer(t, testOptions(true))
			p2 := newPeer(t, testOptions(false))
			failOnDestroy(t, p1, "initiator")
			failOnDestroy(t, p2, "non-initiator")
			relay := func(from, to *simplepeer.Peer, hold, drop bool) {
				var held *simplepeer.Signal
				early := 0 // candidates delivered before the description
				from.OnSignal(func(s simplepeer.Signal) {
					switch {
					case s.Type == simplepeer.SignalCandidate:
						if drop {
							return
						}
						if held != nil {
							if to.PeerConnection().RemoteDescription() != nil {
								t.Errorf("%s: remote description set before the held description was sent", to.ID())
							}
							early++
						}
						forward(t, to, s)
						if held != nil {
							forward(t, to, *held)
							held = nil
						}
					case hold && early == 0 && held == nil:
						h := s
						held = &h
					default:
						forward(t, to, s)
					}
				})
			}
			relay(p1, p2, tc.holdOffer, tc.dropFrom1)
			relay(p2, p1, tc.holdAnswer, tc.dropFrom2)
			conn := make(chan struct{}, 2)
			p1.OnConnect(func() { conn <- struct{}{} })
			p2.OnConnect(func() { conn <- struct{}{} })
			for range 2 {
				select {
				case <-conn:
				case <-time.After(testTimeout):
					for i, p := range []*simplepeer.Peer{p1, p2} {
						pc := p.PeerConnection()
						t.Logf("peer %d: ICE %s, gathering %s, signaling %s, connection %s, channel %q, remote description set %v",
							i+1, pc.ICEConnectionState(), pc.ICEGatheringState(), pc.SignalingState(),
							pc.ConnectionState(), p.ChannelName(), pc.RemoteDescription() != nil)
					}
					t.Fatal("timed out waiting for connect")
				}
			}
			exchangeMessages(t, p1, p2)
		})
	}
}
