package simplepeer_test

// Ports of simple-peer's test/multistream.js, with RTP flowing on every
// track: a stream is an audio and a video track sharing a stream ID, like
// the tests' getMediaStream.

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/webrtc/v3"
)

// sentStreams records the streams a test adds, also from event handlers,
// and the errors of those AddStream calls (a handler must not call
// t.Fatal).
type sentStreams struct {
	m    *mediaHarness
	errs chan error

	mu      sync.Mutex
	streams map[string][]webrtc.TrackLocal
	tracks  []webrtc.TrackLocal
}

func newSentStreams(m *mediaHarness) *sentStreams {
	return &sentStreams{m: m, errs: make(chan error, 64), streams: map[string][]webrtc.TrackLocal{}}
}

// add adds a new stream to p.
func (s *sentStreams) add(p *simplepeer.Peer) {
	st := s.m.newStream()
	s.mu.Lock()
	s.streams[st[0].StreamID()] = st
	s.tracks = append(s.tracks, st...)
	s.mu.Unlock()
	if err := p.AddStream(st...); err != nil {
		s.errs <- fmt.Errorf("AddStream: %w", err)
	}
}

// get returns the tracks of a stream added, nil for an unknown ID.
func (s *sentStreams) get(id string) []webrtc.TrackLocal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streams[id]
}

// all returns every track added so far.
func (s *sentStreams) all() []webrtc.TrackLocal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tracks)
}

// check fails if an AddStream failed.
func (s *sentStreams) check(t testing.TB) {
	t.Helper()
	select {
	case err := <-s.errs:
		t.Fatal(err)
	default:
	}
}

// byStreamID indexes streams (tracks of several streams) by stream ID.
func byStreamID(tracks []webrtc.TrackLocal) map[string][]webrtc.TrackLocal {
	out := map[string][]webrtc.TrackLocal{}
	for _, tr := range tracks {
		out[tr.StreamID()] = append(out[tr.StreamID()], tr)
	}
	return out
}

// expectStreams receives stream events until it has seen n streams, and
// checks each is a stream of want (by stream ID), with all its tracks
// (partial: some of them, see checkPartialStream), each carrying RTP.
// Only with partial may a stream have a second event (with more tracks).
func (s *mediaSide) expectStreams(t testing.TB, ch <-chan *simplepeer.Stream, n int, want func(id string) []webrtc.TrackLocal, partial bool) {
	t.Helper()
	seen := map[string]bool{}
	for len(seen) < n {
		st := recv(t, ch, s.name+" stream event")
		if seen[st.ID] && !partial {
			t.Fatalf("%s: second stream event for stream %s", s.name, st.ID)
		}
		seen[st.ID] = true
		w := want(st.ID)
		if w == nil {
			t.Fatalf("%s: stream event for unknown stream %s", s.name, st.ID)
		}
		if partial {
			s.checkPartialStream(t, st, w)
		} else {
			s.checkStream(t, st, w)
		}
	}
}

// TestMultistream ports "multistream": both peers start with ten streams
// (Options.Tracks), all in the one offer. Each peer gets ten stream events
// with distinct IDs and all twenty tracks, with RTP flowing on each.
func TestMultistream(t *testing.T) {
	m := newMedia(t)
	o1, o2 := testOptions(true), testOptions(false)
	o1.Tracks, o2.Tracks = m.newStreams(10), m.newStreams(10)
	mp := m.pair(o1, o2)
	streams1, streams2 := streamChan(mp.p1), streamChan(mp.p2)
	connected(t, mp.p1, mp.p2)
	mp.rx1.expectTracks(t, o2.Tracks...)
	mp.rx2.expectTracks(t, o1.Tracks...)
	in1, in2 := byStreamID(o2.Tracks), byStreamID(o1.Tracks)
	mp.rx1.expectStreams(t, streams1, 10, func(id string) []webrtc.TrackLocal { return in1[id] }, false)
	mp.rx2.expectStreams(t, streams2, 10, func(id string) []webrtc.TrackLocal { return in2[id] }, false)
	if c := mp.neg.counts(); c.offers != 1 || c.requests != 0 || c.renegotiates != 0 {
		t.Errorf("%v; want one offer for all the streams", c)
	}
}

// TestMultistreamTrackEvent ports "multistream (track event)": with five
// streams on each side, each peer gets ten track events with distinct
// track IDs, each carrying RTP.
func TestMultistreamTrackEvent(t *testing.T) {
	m := newMedia(t)
	o1, o2 := testOptions(true), testOptions(false)
	o1.Tracks, o2.Tracks = m.newStreams(5), m.newStreams(5)
	mp := m.pair(o1, o2)
	connected(t, mp.p1, mp.p2)
	mp.rx1.expectTracks(t, o2.Tracks...)
	mp.rx2.expectTracks(t, o1.Tracks...)
}

// TestMultistreamNonInitiatorOnly ports "multistream on non-initiator
// only": only the non-initiator has streams (ten, Options.Tracks). It
// sends twenty transceiverRequests, one per track, and the initiator gets
// ten distinct streams and all twenty tracks, each carrying RTP.
func TestMultistreamNonInitiatorOnly(t *testing.T) {
	m := newMedia(t)
	o2 := testOptions(false)
	o2.Tracks = m.newStreams(10)
	mp := m.pair(nil, o2)
	streams1 := streamChan(mp.p1)
	connected(t, mp.p1, mp.p2)
	mp.rx1.expectTracks(t, o2.Tracks...)
	in := byStreamID(o2.Tracks)
	mp.rx1.expectStreams(t, streams1, 10, func(id string) []webrtc.TrackLocal { return in[id] }, true)
	if c := mp.neg.counts(); c.requests != 20 || c.renegotiates != 0 {
		t.Errorf("%v; want 20 transceiverRequests and no renegotiate", c)
	}
	mp.rx2.noMoreTracks(t)
}

// TestDelayedStreamNonInitiator ports "delayed stream on non-initiator":
// the initiator starts with a stream, the non-initiator adds one later
// (simple-peer waits 10 s; here, once the initiator's stream flows), and
// the initiator gets it, with RTP on both tracks.
func TestDelayedStreamNonInitiator(t *testing.T) {
	m := newMedia(t)
	o1 := testOptions(true)
	o1.Tracks = m.newStream()
	mp := m.pair(o1, nil)
	streams1, streams2 := streamChan(mp.p1), streamChan(mp.p2)
	connected(t, mp.p1, mp.p2)
	mp.rx2.expectTracks(t, o1.Tracks...)
	mp.rx2.checkStream(t, recv(t, streams2, "peer2 stream"), o1.Tracks)

	s2 := m.newStream()
	if err := mp.p2.AddStream(s2...); err != nil {
		t.Fatalf("AddStream: %v", err)
	}
	mp.rx1.expectTracks(t, s2...)
	mp.rx1.checkStream(t, recv(t, streams1, "peer1 stream"), s2)
}

// incremental runs the incremental multistream tests: start adds the
// first streams once connected, and each peer's streams are expected on
// the other. The event handlers add the following ones.
type incremental struct {
	*mediaPair
	sent [2]*sentStreams // streams added by peer1, peer2
}

func newIncremental(t *testing.T) *incremental {
	m := newMedia(t)
	return &incremental{mediaPair: m.pair(nil, nil), sent: [2]*sentStreams{newSentStreams(m), newSentStreams(m)}}
}

// expectTracks waits for n tracks on rx, the ones the other peer added.
func (in *incremental) expectTracks(t testing.TB, rx *mediaSide, from *sentStreams, n int) {
	t.Helper()
	got := make([]*remoteTrack, n)
	for i := range got {
		got[i] = rx.next(t)
	}
	from.check(t)
	rx.checkArrived(t, got, from.all())
}

// TestIncrementalMultistream ports "incremental multistream": each peer
// adds a stream when it connects, and another each time it gets a stream,
// until each has received five; all distinct, all tracks carrying RTP.
func TestIncrementalMultistream(t *testing.T) {
	in := newIncremental(t)
	peers := [2]*simplepeer.Peer{in.p1, in.p2}
	var streams [2]chan *simplepeer.Stream
	for i, p := range peers {
		streams[i] = make(chan *simplepeer.Stream, 16)
		count := 0
		p.OnStream(func(s *simplepeer.Stream) {
			streams[i] <- s
			if count++; count < 5 {
				in.sent[i].add(p)
			}
		})
		p.OnConnect(func() { in.sent[i].add(p) })
	}
	// A stream of the initiator is always complete; one of the
	// non-initiator may not be (checkPartialStream).
	in.rx1.expectStreams(t, streams[0], 5, in.sent[1].get, true)
	in.rx2.expectStreams(t, streams[1], 5, in.sent[0].get, false)
	in.expectTracks(t, in.rx1, in.sent[1], 10)
	in.expectTracks(t, in.rx2, in.sent[0], 10)
}

// TestIncrementalMultistreamTrackEvent ports "incremental multistream
// (track event)": as TestIncrementalMultistream, but a peer adds a stream
// at every second track event, until each has received ten tracks.
func TestIncrementalMultistreamTrackEvent(t *testing.T) {
	in := newIncremental(t)
	peers := [2]*simplepeer.Peer{in.p1, in.p2}
	for i, rx := range []*mediaSide{in.rx1, in.rx2} {
		count := 0
		rx.setHook(func(*remoteTrack) {
			if count++; count%2 == 0 && count < 10 {
				in.sent[i].add(peers[i])
			}
		})
		peers[i].OnConnect(func() { in.sent[i].add(peers[i]) })
	}
	in.expectTracks(t, in.rx1, in.sent[1], 10)
	in.expectTracks(t, in.rx2, in.sent[0], 10)
}

// TestIncrementalMultistreamNonInitiatorOnly ports "incremental
// multistream on non-initiator only": the non-initiator adds a stream
// when it connects, and another each time the initiator gets one, until
// the initiator has five.
func TestIncrementalMultistreamNonInitiatorOnly(t *testing.T) {
	in := newIncremental(t)
	streams := make(chan *simplepeer.Stream, 16)
	count := 0
	in.p1.OnStream(func(s *simplepeer.Stream) {
		streams <- s
		if count++; count < 5 {
			in.sent[1].add(in.p2)
		}
	})
	in.p2.OnConnect(func() { in.sent[1].add(in.p2) })
	in.rx1.expectStreams(t, streams, 5, in.sent[1].get, true)
	in.expectTracks(t, in.rx1, in.sent[1], 10)
	in.rx2.noMoreTracks(t)
}

// TestIncrementalMultistreamNonInitiatorOnlyTrackEvent ports "incremental
// multistream on non-initiator only (track event)": the non-initiator
// adds a stream at every second track the initiator gets, until it has
// ten.
func TestIncrementalMultistreamNonInitiatorOnlyTrackEvent(t *testing.T) {
	in := newIncremental(t)
	count := 0
	in.rx1.setHook(func(*remoteTrack) {
		if count++; count%2 == 0 && count < 10 {
			in.sent[1].add(in.p2)
		}
	})
	in.p2.OnConnect(func() { in.sent[1].add(in.p2) })
	in.expectTracks(t, in.rx1, in.sent[1], 10)
	in.rx2.noMoreTracks(t)
}

// TestAddStreamAfterRemoveStream ports "addStream after removeStream": the
// non-initiator starts with a stream; once the initiator has it, the
// non-initiator removes it (its tracks end at the initiator) and, once
// that negotiation is done (simple-peer waits a second), adds another
// stream, which the initiator gets, with RTP flowing.
func TestAddStreamAfterRemoveStream(t *testing.T) {
	m := newMedia(t)
	o2 := testOptions(false)
	stream1 := m.newStream()
	o2.Tracks = stream1
	mp := m.pair(nil, o2)
	streams1 := streamChan(mp.p1)
	connected(t, mp.p1, mp.p2)
	first := mp.rx1.expectTracks(t, stream1...)
	mp.rx1.checkPartialStream(t, recv(t, streams1, "peer1 first stream"), stream1)

	c := mp.neg.waitFor(t, "stable signaling", negCounts.stable)
	if err := mp.p2.RemoveStream(stream1...); err != nil {
		t.Fatalf("RemoveStream: %v", err)
	}
	mp.neg.waitNegotiated(t, c.negotiated[0]+1, c.negotiated[1]+1)
	for _, r := range first {
		recv(t, r.done, "removed track "+r.id+" to end at peer1")
	}

	stream2 := m.newStream()
	if err := mp.p2.AddStream(stream2...); err != nil {
		t.Fatalf("AddStream: %v", err)
	}
	mp.rx1.expectTracks(t, stream2...)
	mp.rx1.checkStream(t, recv(t, streams1, "peer1 second stream"), stream2)
}

// TestRemoveTrackImmediately ports "removeTrack immediately": each peer
// adds a track and removes it at once, before connecting; the peers
// connect and neither gets a track event. A track each adds afterwards
// does arrive, with RTP, and is the only one.
func TestRemoveTrackImmediately(t *testing.T) {
	m := newMedia(t)
	mp := m.pair(nil, nil)
	removed := [2]webrtc.TrackLocal{m.newTrack(webrtc.RTPCodecTypeAudio, "removed1"), m.newTrack(webrtc.RTPCodecTypeAudio, "removed2")}
	for i, p := range []*simplepeer.Peer{mp.p1, mp.p2} {
		if err := p.AddTrack(removed[i]); err != nil {
			t.Fatalf("peer%d AddTrack: %v", i+1, err)
		}
		if err := p.RemoveTrack(removed[i]); err != nil {
			t.Fatalf("peer%d RemoveTrack: %v", i+1, err)
		}
	}
	connected(t, mp.p1, mp.p2)
	mp.neg.waitFor(t, "stable signaling", negCounts.stable)
	for i, p := range []*simplepeer.Peer{mp.p1, mp.p2} {
		for _, tr := range p.PeerConnection().GetTransceivers() {
			if s := tr.Sender(); s != nil && s.Track() == removed[i] {
				t.Errorf("peer%d still sends the removed track", i+1)
			}
		}
	}
	control1, control2 := m.newTrack(webrtc.RTPCodecTypeVideo, "control1"), m.newTrack(webrtc.RTPCodecTypeVideo, "control2")
	if err := mp.p1.AddTrack(control1); err != nil {
		t.Fatalf("AddTrack: %v", err)
	}
	if err := mp.p2.AddTrack(control2); err != nil {
		t.Fatalf("AddTrack: %v", err)
	}
	// The removed tracks were written to all along: had they been sent,
	// their track events would have come by now.
	mp.rx2.expectTracks(t, control1)
	mp.rx1.expectTracks(t, control2)
	mp.rx1.noMoreTracks(t)
	mp.rx2.noMoreTracks(t)
}

// TestReplaceTrack ports "replaceTrack": before connecting, each peer adds
// a track and replaces it with the other peer's track; each receives the
// replacement's packets, then the other peer replaces its track with nil
// and stops sending. simple-peer does that last step in the track
// handler; here it waits until no negotiation is in flight, because a
// negotiation that completes after ReplaceTrack(nil) can crash Pion (see
// TestReplaceTrackNil). A second case replaces a track while RTP flows:
// the same remote track carries the new track's packets, nil pauses it, a
// new track resumes it, and no renegotiation happens.
func TestReplaceTrack(t *testing.T) {
	t.Run("before connect", func(t *testing.T) {
		m := newMedia(t)
		mp := m.pair(nil, nil)
		tr1, tr2 := m.newTrack(webrtc.RTPCodecTypeAudio, "stream1"), m.newTrack(webrtc.RTPCodecTypeAudio, "stream2")
		for _, step := range []struct {
			name string
			err  error
		}{
			{"peer1 AddTrack", mp.p1.AddTrack(tr1)},
			{"peer2 AddTrack", mp.p2.AddTrack(tr2)},
			{"peer1 ReplaceTrack", mp.p1.ReplaceTrack(tr1, tr2)},
			{"peer2 ReplaceTrack", mp.p2.ReplaceTrack(tr2, tr1)},
		} {
			if step.err != nil {
				t.Fatalf("%s: %v", step.name, step.err)
			}
		}
		connected(t, mp.p1, mp.p2)
		// peer1 sends tr2's packets and peer2 tr1's. The remote track's
		// ID is the one in the offer, tr1 or tr2 depending on whether the
		// first offer was made before the replacement.
		r1, r2 := mp.rx1.next(t), mp.rx2.next(t)
		r1.waitPackets(t, tr1.ID(), 1)
		r2.waitPackets(t, tr2.ID(), 1)
		mp.neg.waitSettled(t, mp.p2)
		// More packets: Pion's own check after the last negotiation is
		// long done.
		r1.waitPackets(t, tr1.ID(), rtpPackets)
		r2.waitPackets(t, tr2.ID(), rtpPackets)
		if err := mp.p2.ReplaceTrack(tr1, nil); err != nil {
			t.Fatalf("peer2 ReplaceTrack(nil): %v", err)
		}
		if err := mp.p1.ReplaceTrack(tr2, nil); err != nil {
			t.Fatalf("peer1 ReplaceTrack(nil): %v", err)
		}
		for i, p := range []*simplepeer.Peer{mp.p1, mp.p2} {
			for _, tr := range p.PeerConnection().GetTransceivers() {
				if s := tr.Sender(); s != nil && (s.Track() == tr1 || s.Track() == tr2) {
					t.Errorf("peer%d still sends track %s after ReplaceTrack(nil)", i+1, s.Track().ID())
				}
			}
		}
		mp.rx1.noMoreTracks(t)
		mp.rx2.noMoreTracks(t)
	})
	for _, sender := range []int{0, 1} {
		t.Run(fmt.Sprintf("while RTP flows from peer%d", sender+1), func(t *testing.T) {
			m := newMedia(t)
			mp := m.pair(nil, nil)
			p, rx := mp.p1, mp.rx2
			if sender == 1 {
				p, rx = mp.p2, mp.rx1
			}
			connected(t, mp.p1, mp.p2)
			trX, trY, trZ := m.newTrack(webrtc.RTPCodecTypeVideo, "s"), m.newTrack(webrtc.RTPCodecTypeVideo, "s"), m.newTrack(webrtc.RTPCodecTypeVideo, "s")
			if err := p.AddTrack(trX); err != nil {
				t.Fatalf("AddTrack: %v", err)
			}
			r := rx.expectTracks(t, trX)[0]
			before := mp.neg.waitFor(t, "stable signaling", negCounts.stable)

			if err := p.ReplaceTrack(trX, trY); err != nil {
				t.Fatalf("ReplaceTrack: %v", err)
			}
			r.waitPackets(t, trY.ID(), rtpPackets)
			if err := p.ReplaceTrack(trY, nil); err != nil {
				t.Fatalf("ReplaceTrack(nil): %v", err)
			}
			if err := p.ReplaceTrack(trY, trZ); err != nil {
				t.Fatalf("ReplaceTrack after nil: %v", err)
			}
			r.waitPackets(t, trZ.ID(), rtpPackets)
			wantCode(t, "ReplaceTrack of the replaced track", p.ReplaceTrack(trX, trZ), simplepeer.ErrCodeTrackNotAdded)

			// No renegotiation: a Negotiate now is exactly one more.
			if err := p.Negotiate(); err != nil {
				t.Fatalf("Negotiate: %v", err)
			}
			after := mp.neg.waitNegotiated(t, before.negotiated[0]+1, before.negotiated[1]+1)
			after = mp.neg.waitFor(t, "stable signaling", negCounts.stable)
			if after.offers != before.offers+1 || after.negotiated != [2]int{before.negotiated[0] + 1, before.negotiated[1] + 1} {
				t.Errorf("ReplaceTrack renegotiated: before %v, after %v", before, after)
			}
			rx.noMoreTracks(t)
		})
	}
}

// TestStreamEventAllTracks checks the promise of OnStream, "once per
// remote stream, when all its tracks have arrived", when the
// non-initiator's stream gets its tracks' transceivers in two
// negotiations: its audio track reuses an existing transceiver and goes in
// the answer to its renegotiate request, while its video track needs a
// transceiverRequest and a second offer. The signalling channel delivers
// that request only after the audio arrived (a slow channel; with a fast
// one the same happens whenever the audio's first packet beats the second
// answer). Every track of the stream must be in a stream event by the time
// a later negotiation completes.
func TestStreamEventAllTracks(t *testing.T) {
	m := newMedia(t)
	mp := m.pair(nil, nil)
	streams1 := streamChan(mp.p1)
	connected(t, mp.p1, mp.p2)
	if err := mp.p1.AddTransceiver(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatalf("AddTransceiver: %v", err)
	}
	c := mp.neg.waitNegotiated(t, 2, 2)

	held := mp.neg.holdFirst(func(from int, s simplepeer.Signal) bool {
		return from == 1 && s.Type == simplepeer.SignalTransceiverRequest
	})
	stream := m.newStream()
	if err := mp.p2.AddStream(stream...); err != nil {
		t.Fatalf("AddStream: %v", err)
	}
	mp.rx1.expectTracks(t, stream[0])
	req := recv(t, held, "peer2's transceiverRequest for its video")
	forward(t, mp.p1, req)
	mp.rx1.expectTracks(t, stream[1])

	// Every event of the video track's negotiation is delivered before
	// the negotiated event of a later one.
	c = mp.neg.waitFor(t, "stable signaling", negCounts.stable)
	if err := mp.p1.Negotiate(); err != nil {
		t.Fatalf("Negotiate: %v", err)
	}
	mp.neg.waitNegotiated(t, c.negotiated[0]+1, c.negotiated[1]+1)
	var got []string
	for done := false; !done; {
		select {
		case st := <-streams1:
			for _, tr := range st.Tracks {
				if !slices.Contains(got, tr.ID()) {
					got = append(got, tr.ID())
				}
			}
		default:
			done = true
		}
	}
	slices.Sort(got)
	if want := trackIDs(stream); !slices.Equal(got, want) {
		t.Errorf("stream events reported tracks %v of stream %s, want all of %v", got, stream[0].StreamID(), want)
	}
}
