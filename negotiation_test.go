package simplepeer_test

// Ports of simple-peer's test/negotiation.js (its "negotiated channels"
// test is in negotiated_test.go), with RTP flowing on every track, plus
// exact counts of negotiated events; and negWatch, which the media tests
// use to wire two peers and follow their negotiations.

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/webrtc/v3"
)

// negWatch wires an initiator (index 0) and a non-initiator (index 1)
// like wire, and records, per peer, the signals sent, the negotiated
// events, the last signaling state and any error.
type negWatch struct {
	changed chan struct{} // poked after every change

	mu         sync.Mutex
	sigs       [2][]simplepeer.Signal
	negotiated [2]int
	state      [2]webrtc.SignalingState
	errs       []error
	// intercept, when set, sees each signal of peer from (0 or 1) first;
	// it returns true to keep it from the other peer (the test delivers
	// it later, like a slow signalling channel).
	intercept func(from int, s simplepeer.Signal) bool
}

// watchNegotiation sets OnSignal, OnNegotiated, OnSignalingStateChange and
// OnError of both peers.
func watchNegotiation(t testing.TB, p1, p2 *simplepeer.Peer) *negWatch {
	w := &negWatch{changed: make(chan struct{}, 1)}
	w.state = [2]webrtc.SignalingState{webrtc.SignalingStateStable, webrtc.SignalingStateStable}
	peers := [2]*simplepeer.Peer{p1, p2}
	for i, p := range peers {
		other := peers[1-i]
		p.OnSignal(func(s simplepeer.Signal) {
			var taken bool
			w.update(func() {
				w.sigs[i] = append(w.sigs[i], s)
				if w.intercept != nil {
					taken = w.intercept(i, s)
				}
			})
			if !taken {
				forward(t, other, s)
			}
		})
		p.OnNegotiated(func() { w.update(func() { w.negotiated[i]++ }) })
		p.OnSignalingStateChange(func(s webrtc.SignalingState) { w.update(func() { w.state[i] = s }) })
		p.OnError(func(err error) { w.update(func() { w.errs = append(w.errs, fmt.Errorf("peer%d: %w", i+1, err)) }) })
	}
	return w
}

// holdFirst keeps the first signal that match accepts from the other peer
// and returns it on the channel, for the test to deliver later (with
// forward), like a slow signalling channel.
func (w *negWatch) holdFirst(match func(from int, s simplepeer.Signal) bool) <-chan simplepeer.Signal {
	held := make(chan simplepeer.Signal, 1)
	taken := false
	w.mu.Lock()
	defer w.mu.Unlock()
	w.intercept = func(from int, s simplepeer.Signal) bool {
		if taken || !match(from, s) {
			return false
		}
		taken = true
		held <- s
		return true
	}
	return held
}

func (w *negWatch) update(f func()) {
	w.mu.Lock()
	f()
	w.mu.Unlock()
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

// negCounts is a snapshot of a negWatch.
type negCounts struct {
	offers, answers, renegotiates, requests int // offers by peer1; the rest by peer2
	negotiated                              [2]int
	state                                   [2]webrtc.SignalingState
}

func (c negCounts) String() string {
	return fmt.Sprintf("offers %d, answers %d, renegotiate %d, transceiverRequest %d, negotiated %v, signaling %v",
		c.offers, c.answers, c.renegotiates, c.requests, c.negotiated, c.state)
}

// stable reports whether every offer is answered and both peers' last
// signaling state is stable.
func (c negCounts) stable() bool {
	return c.offers == c.answers &&
		c.state[0] == webrtc.SignalingStateStable && c.state[1] == webrtc.SignalingStateStable
}

func (w *negWatch) counts() negCounts {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := negCounts{negotiated: w.negotiated, state: w.state}
	for _, s := range w.sigs[0] {
		if s.Type == simplepeer.SignalOffer {
			c.offers++
		}
	}
	for _, s := range w.sigs[1] {
		switch s.Type {
		case simplepeer.SignalAnswer:
			c.answers++
		case simplepeer.SignalRenegotiate:
			c.renegotiates++
		case simplepeer.SignalTransceiverRequest:
			c.requests++
		}
	}
	return c
}

// signals returns what peer i (0 or 1) has signalled so far.
func (w *negWatch) signals(i int) []simplepeer.Signal {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.sigs[i])
}

// waitFor waits until cond holds for the counts.
func (w *negWatch) waitFor(t testing.TB, what string, cond func(negCounts) bool) negCounts {
	t.Helper()
	timeout := time.NewTimer(testTimeout)
	defer timeout.Stop()
	for {
		c := w.counts()
		if cond(c) {
			return c
		}
		select {
		case <-w.changed:
		case <-timeout.C:
			t.Fatalf("timed out waiting for %s (%v)", what, c)
		}
	}
}

// waitNegotiated waits until each peer has had at least n1 and n2
// negotiated events.
// waitNegotiated waits for n1 and n2 negotiated events and for the
// signalingStateChange(stable) that follows each of them (simple-peer emits
// negotiated first, then the state change).
func (w *negWatch) waitNegotiated(t testing.TB, n1, n2 int) negCounts {
	t.Helper()
	return w.waitFor(t, fmt.Sprintf("negotiated events %d and %d, then stable", n1, n2), func(c negCounts) bool {
		return c.negotiated[0] >= n1 && c.negotiated[1] >= n2 &&
			c.state[0] == webrtc.SignalingStateStable && c.state[1] == webrtc.SignalingStateStable
	})
}

// waitSettled waits until no negotiation is in flight, then runs one more
// (requested by the non-initiator, the longest path) and waits for it to
// finish too, so that a negotiation queued just before the first check
// cannot slip by. It returns the final counts.
func (w *negWatch) waitSettled(t testing.TB, p2 *simplepeer.Peer) negCounts {
	t.Helper()
	c := w.waitFor(t, "stable signaling", negCounts.stable)
	if err := p2.Negotiate(); err != nil {
		t.Fatalf("peer2 Negotiate: %v", err)
	}
	w.waitNegotiated(t, c.negotiated[0]+1, c.negotiated[1]+1)
	return w.waitFor(t, "stable signaling", negCounts.stable)
}

func (w *negWatch) checkNoErrors(t testing.TB) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, err := range w.errs {
		t.Errorf("error event: %v", err)
	}
}

// TestSingleNegotiation ports "single negotiation": both peers start with a
// stream of an audio and a video track (Options.Tracks on both sides). One
// offer carries all four tracks: each peer gets two track events and one
// stream event, RTP flows on every track, and the non-initiator never asks
// for another negotiation.
func TestSingleNegotiation(t *testing.T) {
	m := newMedia(t)
	o1, o2 := testOptions(true), testOptions(false)
	s1, s2 := m.newStream(), m.newStream()
	o1.Tracks, o2.Tracks = s1, s2
	mp := m.pair(o1, o2)
	streams1, streams2 := streamChan(mp.p1), streamChan(mp.p2)
	connected(t, mp.p1, mp.p2)

	mp.rx1.expectTracks(t, s2...)
	mp.rx2.expectTracks(t, s1...)
	mp.rx1.checkStream(t, recv(t, streams1, "peer1 stream"), s2)
	mp.rx2.checkStream(t, recv(t, streams2, "peer2 stream"), s1)
	c := mp.neg.waitNegotiated(t, 1, 1)
	if c.offers != 1 || c.renegotiates != 0 || c.requests != 0 || c.negotiated != [2]int{1, 1} {
		t.Errorf("%v; want a single offer and negotiation", c)
	}
}

// TestManualRenegotiation ports "manual renegotiation": Negotiate on the
// connected initiator makes one new offer, and each peer gets exactly one
// more negotiated event (simple-peer's test listens only after connect;
// here the handlers are set first and the connection's own negotiation
// is counted too).
func TestManualRenegotiation(t *testing.T) {
	mp := newMedia(t).pair(nil, nil)
	connected(t, mp.p1, mp.p2)
	mp.neg.waitNegotiated(t, 1, 1)
	if err := mp.p1.Negotiate(); err != nil {
		t.Fatalf("Negotiate: %v", err)
	}
	c := mp.neg.waitNegotiated(t, 2, 2)
	if c.offers != 2 || c.negotiated != [2]int{2, 2} || !c.stable() {
		t.Errorf("%v; want 2 offers and 2 negotiated events each, stable", c)
	}
}

// TestRepeatedManualRenegotiation ports "repeated manual renegotiation":
// Negotiate is called three times on the initiator, once on the
// non-initiator (which sends a renegotiate request) and once more on the
// initiator, the same five calls as simple-peer's test. simple-peer chains
// them from overlapping 'negotiated' listeners, so how many it coalesces
// depends on timing; here each waits for the previous negotiation, so
// every call is exactly one offer and one negotiated event per peer.
// (Overlapping calls on both sides are TestGlareImpossible.)
func TestRepeatedManualRenegotiation(t *testing.T) {
	mp := newMedia(t).pair(nil, nil)
	connected(t, mp.p1, mp.p2)
	c := mp.neg.waitNegotiated(t, 1, 1)
	for i, p := range []*simplepeer.Peer{mp.p1, mp.p1, mp.p1, mp.p2, mp.p1} {
		if err := p.Negotiate(); err != nil {
			t.Fatalf("call %d: Negotiate: %v", i+1, err)
		}
		c = mp.neg.waitNegotiated(t, c.negotiated[0]+1, c.negotiated[1]+1)
		n := i + 2 // the connection's negotiation, then one per call
		if c.offers != n || c.negotiated != [2]int{n, n} {
			t.Fatalf("after call %d: %v; want %d offers and negotiated events", i+1, c, n)
		}
	}
	if c.renegotiates != 1 || c.requests != 0 {
		t.Errorf("%v; want exactly one renegotiate request", c)
	}
}

// TestRenegotiationAfterAddStream ports "renegotiation after addStream":
// both peers add a stream as soon as they connect, at the same moment;
// each gets the other's stream, with RTP flowing on both its tracks.
func TestRenegotiationAfterAddStream(t *testing.T) {
	m := newMedia(t)
	mp := m.pair(nil, nil)
	s1, s2 := m.newStream(), m.newStream()
	streams1, streams2 := streamChan(mp.p1), streamChan(mp.p2)
	errs := make(chan error, 2)
	mp.p1.OnConnect(func() { errs <- mp.p1.AddStream(s1...) })
	mp.p2.OnConnect(func() { errs <- mp.p2.AddStream(s2...) })
	for i := 0; i < 2; i++ {
		if err := recv(t, errs, "AddStream at connect"); err != nil {
			t.Fatalf("AddStream: %v", err)
		}
	}
	mp.rx1.expectTracks(t, s2...)
	mp.rx2.expectTracks(t, s1...)
	mp.rx1.checkStream(t, recv(t, streams1, "peer1 stream"), s2)
	mp.rx2.checkStream(t, recv(t, streams2, "peer2 stream"), s1)
}

// TestAddStreamNonInitiatorOnly ports "add stream on non-initiator only":
// only the non-initiator has a stream (Options.Tracks), and the initiator
// gets it with RTP flowing. Since only the initiator offers, the
// non-initiator asks for one transceiver per track with transceiverRequest
// signals, and never sends a renegotiate. The older version of the test
// gave the initiator offerToReceiveAudio/Video; its Go form, receive-only
// transceivers added right after New, works too, but unlike simple-peer
// (which batches calls made in the constructor's tick into the first
// offer) they usually miss the first offer, which the library makes at
// once, so the request count is not checked there.
func TestAddStreamNonInitiatorOnly(t *testing.T) {
	tests := []struct {
		name     string
		recvOnly bool
	}{
		{"transceiver requests", false},
		{"receive-only transceivers on the initiator", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMedia(t)
			o2 := testOptions(false)
			s2 := m.newStream()
			o2.Tracks = s2
			mp := m.pair(nil, o2)
			if tt.recvOnly {
				for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
					if err := mp.p1.AddTransceiver(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
						t.Fatalf("AddTransceiver: %v", err)
					}
				}
			}
			streams1 := streamChan(mp.p1)
			connected(t, mp.p1, mp.p2)
			mp.rx1.expectTracks(t, s2...)
			mp.rx1.checkPartialStream(t, recv(t, streams1, "peer1 stream"), s2)
			c := mp.neg.counts()
			t.Logf("%v", c)
			if c.renegotiates != 0 || (!tt.recvOnly && c.requests != len(s2)) {
				t.Errorf("%v; want one transceiverRequest per track, no renegotiate", c)
			}
			mp.rx2.noMoreTracks(t)
		})
	}
}

// TestNegotiatedEventCounts checks how many negotiated events, offers,
// renegotiate and transceiverRequest signals each change makes, step by
// step on one connected pair: simple-peer emits 'negotiated' once per
// negotiation, when the signaling state is stable again with nothing
// queued. ReplaceTrack makes none: Negotiate right after it is exactly one.
func TestNegotiatedEventCounts(t *testing.T) {
	m := newMedia(t)
	mp := m.pair(nil, nil)
	p1, p2 := mp.p1, mp.p2
	s1 := m.newStream()
	a2, a3 := m.newTrack(webrtc.RTPCodecTypeAudio, "p2"), m.newTrack(webrtc.RTPCodecTypeAudio, "p2")
	replacement := m.newTrack(webrtc.RTPCodecTypeVideo, s1[1].StreamID())
	steps := []struct {
		name string
		do   func() error
		// More negotiated events per peer (and offers), renegotiate
		// and transceiverRequest signals.
		negotiated, renegotiates, requests int
		check                              func()
	}{
		{"connect", func() error { connected(t, p1, p2); return nil }, 1, 0, 0, nil},
		{"Negotiate on the initiator", p1.Negotiate, 1, 0, 0, nil},
		{"Negotiate on the non-initiator", p2.Negotiate, 1, 1, 0, nil},
		{"AddStream of two tracks on the initiator", func() error { return p1.AddStream(s1...) }, 1, 0, 0,
			func() { mp.rx2.expectTracks(t, s1...) }},
		{"AddTrack on the non-initiator, reusing a receive-only transceiver", func() error { return p2.AddTrack(a2) }, 1, 1, 0,
			func() { mp.rx1.expectTracks(t, a2) }},
		{"AddTrack on the non-initiator, needing a new transceiver", func() error { return p2.AddTrack(a3) }, 2, 1, 1,
			func() { mp.rx1.expectTracks(t, a3) }},
		{"ReplaceTrack, then Negotiate, on the initiator", func() error {
			if err := p1.ReplaceTrack(s1[1], replacement); err != nil {
				return err
			}
			return p1.Negotiate()
		}, 1, 0, 0, func() { mp.rx2.get(s1[1].ID()).waitPackets(t, replacement.ID(), rtpPackets) }},
		{"RemoveTrack on the initiator", func() error { return p1.RemoveTrack(s1[0]) }, 1, 0, 0, nil},
		{"RemoveStream on the non-initiator", func() error { return p2.RemoveStream(a2, a3) }, 1, 1, 0, nil},
		{"AddTransceiver on the initiator", func() error { return p1.AddTransceiver(webrtc.RTPCodecTypeVideo) }, 1, 0, 0, nil},
		{"AddTransceiver on the non-initiator", func() error { return p2.AddTransceiver(webrtc.RTPCodecTypeAudio) }, 1, 0, 1, nil},
	}
	var c negCounts
	for _, s := range steps {
		want := c
		want.offers += s.negotiated
		want.answers += s.negotiated
		want.negotiated[0] += s.negotiated
		want.negotiated[1] += s.negotiated
		want.renegotiates += s.renegotiates
		want.requests += s.requests
		want.state = [2]webrtc.SignalingState{webrtc.SignalingStateStable, webrtc.SignalingStateStable}
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		c = mp.neg.waitNegotiated(t, want.negotiated[0], want.negotiated[1])
		c = mp.neg.waitFor(t, "stable signaling", negCounts.stable)
		if c != want {
			t.Fatalf("%s:\n got %v\nwant %v", s.name, c, want)
		}
		if s.check != nil {
			s.check()
		}
		t.Logf("%s: %v", s.name, c)
	}
	mp.rx1.noMoreTracks(t)
	mp.rx2.noMoreTracks(t)
}

// TestTransceiverRequest ports simple-peer's transceiverRequest: the
// non-initiator's AddTransceiver sends {"type":"transceiverRequest",...}
// instead of adding one itself, and the initiator's next offer has a new
// m-section of that kind (with the requested direction). Both sides then
// get a negotiated event.
func TestTransceiverRequest(t *testing.T) {
	tests := []struct {
		name      string
		kind      webrtc.RTPCodecType
		init      []webrtc.RTPTransceiverInit
		json      string
		direction string // of the new m-section in the offer
	}{
		{"video", webrtc.RTPCodecTypeVideo, nil,
			`{"type":"transceiverRequest","transceiverRequest":{"kind":"video"}}`, "a=sendrecv"},
		{"audio recvonly", webrtc.RTPCodecTypeAudio,
			[]webrtc.RTPTransceiverInit{{Direction: webrtc.RTPTransceiverDirectionRecvonly}},
			`{"type":"transceiverRequest","transceiverRequest":{"kind":"audio","init":{"direction":"recvonly"}}}`, "a=recvonly"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mp := newMedia(t).pair(nil, nil)
			connected(t, mp.p1, mp.p2)
			before := mp.neg.waitNegotiated(t, 1, 1)
			if err := mp.p2.AddTransceiver(tt.kind, tt.init...); err != nil {
				t.Fatalf("AddTransceiver: %v", err)
			}
			after := mp.neg.waitNegotiated(t, before.negotiated[0]+1, before.negotiated[1]+1)
			if after.requests != 1 || after.renegotiates != 0 || after.offers != before.offers+1 {
				t.Errorf("after AddTransceiver on peer2: %v; want 1 transceiverRequest, no renegotiate, 1 new offer", after)
			}
			for _, s := range mp.neg.signals(1) {
				if s.Type != simplepeer.SignalTransceiverRequest {
					continue
				}
				if got, err := s.MarshalJSON(); err != nil || strings.TrimSpace(string(got)) != tt.json {
					t.Errorf("peer2's request = %s (%v), want %s", got, err, tt.json)
				}
			}
			var offers []string
			for _, s := range mp.neg.signals(0) {
				if s.Type == simplepeer.SignalOffer {
					offers = append(offers, s.SDP)
				}
			}
			first, last := mediaSections(offers[0]), mediaSections(offers[len(offers)-1])
			if len(last) != len(first)+1 {
				t.Fatalf("offer m-sections before %d, after %d; want one more", len(first), len(last))
			}
			added := last[len(last)-1]
			if !strings.HasPrefix(added, "m="+tt.kind.String()+" ") || !strings.Contains(added, tt.direction+"\r\n") {
				t.Errorf("new m-section of the offer:\n%s\nwant m=%s with %s", added, tt.kind, tt.direction)
			}
		})
	}
}

// mediaSections splits an SDP into its m-sections.
func mediaSections(sdp string) []string {
	parts := strings.Split(sdp, "\r\nm=")
	out := make([]string, 0, len(parts)-1)
	for _, p := range parts[1:] {
		out = append(out, "m="+p)
	}
	return out
}

// TestAddTrackBatching ports simple-peer's batching of changes made in one
// tick into one negotiation (_needsNegotiation's queueMicrotask): an
// AddStream of several tracks is always exactly one offer (and, on the
// non-initiator, one renegotiate request); AddTrack calls in a row share
// one offer when they all come within the library's 5 ms batching window,
// and never make more offers than calls. Every track arrives with RTP.
func TestAddTrackBatching(t *testing.T) {
	t.Run("AddStream on the initiator", func(t *testing.T) {
		m := newMedia(t)
		mp := m.pair(nil, nil)
		connected(t, mp.p1, mp.p2)
		before := mp.neg.waitNegotiated(t, 1, 1)
		stream := bigStream(m, "big")
		if err := mp.p1.AddStream(stream...); err != nil {
			t.Fatalf("AddStream: %v", err)
		}
		mp.rx2.expectTracks(t, stream...)
		after := mp.neg.waitNegotiated(t, before.negotiated[0]+1, before.negotiated[1]+1)
		if after.offers != before.offers+1 || after.negotiated != [2]int{before.negotiated[0] + 1, before.negotiated[1] + 1} {
			t.Errorf("AddStream of %d tracks: before %v, after %v; want exactly one more offer and negotiated event", len(stream), before, after)
		}
	})
	t.Run("AddStream on the non-initiator", func(t *testing.T) {
		m := newMedia(t)
		mp := m.pair(nil, nil)
		connected(t, mp.p1, mp.p2)
		before := mp.neg.waitNegotiated(t, 1, 1)
		stream := bigStream(m, "big")
		if err := mp.p2.AddStream(stream...); err != nil {
			t.Fatalf("AddStream: %v", err)
		}
		mp.rx1.expectTracks(t, stream...)
		after := mp.neg.counts()
		if after.renegotiates != before.renegotiates+1 {
			t.Errorf("AddStream of %d tracks on peer2: before %v, after %v; want exactly one renegotiate", len(stream), before, after)
		}
		if after.requests != before.requests+len(stream) {
			t.Errorf("transceiverRequests: %d, want one per track (%d)", after.requests-before.requests, len(stream))
		}
	})
	t.Run("AddTrack calls in a row", func(t *testing.T) {
		m := newMedia(t)
		mp := m.pair(nil, nil)
		connected(t, mp.p1, mp.p2)
		before := mp.neg.waitNegotiated(t, 1, 1)
		tracks := append(m.newStream(), m.newStream()...)
		start := time.Now()
		for _, tr := range tracks {
			if err := mp.p1.AddTrack(tr); err != nil {
				t.Fatalf("AddTrack: %v", err)
			}
		}
		elapsed := time.Since(start)
		mp.rx2.expectTracks(t, tracks...)
		after := mp.neg.waitNegotiated(t, before.negotiated[0]+1, before.negotiated[1]+1)
		offers := after.offers - before.offers
		t.Logf("%d AddTrack calls took %v and made %d offer(s)", len(tracks), elapsed, offers)
		if elapsed < batchDelay && offers != 1 {
			t.Errorf("%d AddTrack calls within %v made %d offers, want 1", len(tracks), elapsed, offers)
		}
		if offers < 1 || offers > len(tracks) {
			t.Errorf("%d AddTrack calls made %d offers, want 1 to %d", len(tracks), offers, len(tracks))
		}
	})
}

// bigStream returns a stream of four tracks, two audio and two video.
func bigStream(m *mediaHarness, id string) []webrtc.TrackLocal {
	var s []webrtc.TrackLocal
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		s = append(s, m.newTrack(k, id))
	}
	return s
}

// TestGlareImpossible checks that glare (both sides offering at once,
// which Pion v3 cannot roll back) is impossible by construction: in each
// of 50 iterations both peers make a change at the same moment (AddTrack,
// AddTransceiver or Negotiate, every combination), and yet no error or
// close happens, every added track arrives carrying RTP, and the
// signaling ends stable on both sides with every offer answered.
func TestGlareImpossible(t *testing.T) {
	const iterations = 50
	m := newMedia(t)
	mp := m.pair(nil, nil)
	closed1, closed2 := closeChan(mp.p1), closeChan(mp.p2)
	connected(t, mp.p1, mp.p2)
	peers := [2]*simplepeer.Peer{mp.p1, mp.p2}
	rx := [2]*mediaSide{mp.rx2, mp.rx1} // where each peer's tracks arrive
	ops := []string{"AddTrack", "AddTransceiver", "Negotiate"}
	kinds := []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo}
	for i := 0; i < iterations; i++ {
		op := [2]string{ops[i%3], ops[(i/3)%3]}
		kind := kinds[(i/2)%2]
		var added [2]webrtc.TrackLocal
		var errs [2]error
		start := make(chan struct{})
		done := make(chan struct{}, 2)
		for side, p := range peers {
			if op[side] == "AddTrack" {
				added[side] = m.newTrack(kind, fmt.Sprintf("glare%d-peer%d", i, side+1))
			}
			go func() {
				defer func() { done <- struct{}{} }()
				<-start
				switch op[side] {
				case "AddTrack":
					errs[side] = p.AddTrack(added[side])
				case "AddTransceiver":
					errs[side] = p.AddTransceiver(kind)
				case "Negotiate":
					errs[side] = p.Negotiate()
				}
			}()
		}
		close(start)
		recv(t, done, "change")
		recv(t, done, "change")
		for side, err := range errs {
			if err != nil {
				t.Fatalf("iteration %d: peer%d %s: %v", i, side+1, op[side], err)
			}
		}
		for side, tr := range added {
			if tr != nil {
				rx[side].expectTracks(t, tr)
			}
		}
	}
	c := mp.neg.waitSettled(t, mp.p2)
	for i, p := range peers {
		if s := p.PeerConnection().SignalingState(); s != webrtc.SignalingStateStable {
			t.Errorf("peer%d signaling state %s, want stable", i+1, s)
		}
		if p.Destroyed() {
			t.Errorf("peer%d destroyed", i+1)
		}
	}
	select {
	case <-closed1:
		t.Error("peer1 closed")
	case <-closed2:
		t.Error("peer2 closed")
	default:
	}
	mp.rx1.noMoreTracks(t)
	mp.rx2.noMoreTracks(t)
	t.Logf("after %d iterations: %v", iterations, c)
}

// TestRenegotiationTime measures one renegotiation in-process: from
// AddTrack on the connected initiator to the negotiated event on both
// sides (including the 5 ms batching window). It logs the median of 20 and
// asserts nothing about speed.
func TestRenegotiationTime(t *testing.T) {
	const runs = 20
	mp := newMedia(t).pair(nil, nil)
	connected(t, mp.p1, mp.p2)
	c := mp.neg.waitNegotiated(t, 1, 1)
	times := make([]time.Duration, runs)
	for i := range times {
		tr, err := webrtc.NewTrackLocalStaticRTP(codecFor(webrtc.RTPCodecTypeAudio), fmt.Sprintf("timed%d", i), "timed")
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := mp.p1.AddTrack(tr); err != nil {
			t.Fatalf("AddTrack: %v", err)
		}
		c = mp.neg.waitNegotiated(t, c.negotiated[0]+1, c.negotiated[1]+1)
		times[i] = time.Since(start)
	}
	slices.Sort(times)
	t.Logf("renegotiation (AddTrack -> negotiated on both peers): median %v, min %v, max %v over %d runs",
		times[runs/2], times[0], times[runs-1], runs)
}
