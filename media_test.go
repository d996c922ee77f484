package simplepeer_test

// Media tests with RTP really flowing (error codes, data during
// renegotiation, early media), plus the harness that multistream_test.go
// and negotiation_test.go share: a media clock that writes numbered,
// recognisable RTP packets to every local track, and a reader per remote
// track that checks each payload. negWatch, which wires the two peers and
// follows their negotiations, is in negotiation_test.go.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v3"
)

const (
	// rtpInterval is how often the media clock writes one packet to every
	// local track (20 ms, an Opus frame).
	rtpInterval = 20 * time.Millisecond
	// rtpPackets is how many intact packets a receiver must read before a
	// track counts as flowing.
	rtpPackets = 5
	// rtpMagic starts every payload the clock writes.
	rtpMagic = "simplepeer-rtp"
	// rtpFill is the length of the pattern after the header of a payload.
	rtpFill = 64
	// batchDelay mirrors the library's negotiationBatchDelay: AddTrack
	// calls made within it share one negotiation.
	batchDelay = 5 * time.Millisecond
)

// rtpPayload is the payload of packet n of the local track id: magic, the
// track ID (length-prefixed), n, then rtpFill bytes derived from n.
func rtpPayload(id string, n uint32) []byte {
	b := make([]byte, 0, len(rtpMagic)+1+len(id)+4+rtpFill)
	b = append(b, rtpMagic...)
	b = append(b, byte(len(id)))
	b = append(b, id...)
	b = binary.BigEndian.AppendUint32(b, n)
	for i := 0; i < rtpFill; i++ {
		b = append(b, rtpFillByte(n, i))
	}
	return b
}

func rtpFillByte(n uint32, i int) byte { return byte(n*7 + uint32(i)*13 + 1) }

// parseRTPPayload returns the track ID of a payload made by rtpPayload, and
// false when any byte differs from what rtpPayload would have written.
func parseRTPPayload(b []byte) (id string, ok bool) {
	rest, found := bytes.CutPrefix(b, []byte(rtpMagic))
	if !found || len(rest) < 1 {
		return "", false
	}
	l := int(rest[0])
	rest = rest[1:]
	if len(rest) != l+4+rtpFill {
		return "", false
	}
	id = string(rest[:l])
	n := binary.BigEndian.Uint32(rest[l:])
	for i, c := range rest[l+4:] {
		if c != rtpFillByte(n, i) {
			return "", false
		}
	}
	return id, true
}

func codecFor(kind webrtc.RTPCodecType) webrtc.RTPCodecCapability {
	if kind == webrtc.RTPCodecTypeVideo {
		return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	}
	return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
}

// mediaHarness owns what a media test runs besides its peers: the media
// clock goroutine, which writes one numbered packet to every local track
// each rtpInterval, and one reader goroutine per remote track. Create it
// with newMedia before the peers: its cleanup runs after theirs, closes the
// peers it knows (again, harmlessly), then waits for every goroutine it
// started, so none outlives the test.
type mediaHarness struct {
	t         testing.TB
	stop      chan struct{}
	clockDone chan struct{}
	readers   sync.WaitGroup

	mu     sync.Mutex // guards the fields below
	local  []*localTrack
	remote []*remoteTrack
	peers  []*simplepeer.Peer
	closed bool // no reader starts after cleanup began
	next   int  // for unique track and stream IDs
	// neg is the pair's negotiation watcher. While its initiator has an
	// offer out, the clock writes nothing, unless earlyMedia is set: a
	// packet from the answerer that reaches the initiator before the
	// answer does trips a Pion v3 bug (see TestEarlyMediaBeforeAnswer),
	// which the other tests keep out of their way.
	neg        *negWatch
	earlyMedia bool
}

// localTrack is a track the clock writes to.
type localTrack struct {
	*webrtc.TrackLocalStaticRTP
	n uint32 // packets written; only the clock touches it
}

func newMedia(t testing.TB) *mediaHarness {
	m := &mediaHarness{t: t, stop: make(chan struct{}), clockDone: make(chan struct{})}
	go m.clock()
	t.Cleanup(m.cleanup)
	return m
}

func (m *mediaHarness) clock() {
	defer close(m.clockDone)
	tick := time.NewTicker(rtpInterval)
	defer tick.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-tick.C:
		}
		m.mu.Lock()
		local := m.local // append-only: the elements seen here never change
		w, early := m.neg, m.earlyMedia
		m.mu.Unlock()
		if w == nil || early {
			writePackets(local)
			continue
		}
		// The initiator reports have-local-offer before it signals the
		// offer, and the answerer starts sending only after it got it:
		// holding w.mu, which the state update needs, keeps the offer
		// from going out while these packets are written.
		w.mu.Lock()
		if w.state[0] == webrtc.SignalingStateStable {
			writePackets(local)
		}
		w.mu.Unlock()
	}
}

// writePackets writes the next numbered packet to each track.
func writePackets(local []*localTrack) {
	for _, lt := range local {
		lt.n++
		pkt := &rtp.Packet{
			Header:  rtp.Header{Version: 2, SequenceNumber: uint16(lt.n), Timestamp: lt.n * 960},
			Payload: rtpPayload(lt.ID(), lt.n),
		}
		_ = lt.WriteRTP(pkt) // fails only for a binding whose connection closed
	}
}

func (m *mediaHarness) cleanup() {
	m.mu.Lock()
	peers := m.peers
	m.mu.Unlock()
	for _, p := range peers {
		_ = p.Close()
	}
	m.mu.Lock()
	m.closed = true
	remote := m.remote
	m.mu.Unlock()
	done := make(chan struct{})
	go func() { m.readers.Wait(); close(done) }()
	recv(m.t, done, "RTP readers to end after close")
	close(m.stop)
	<-m.clockDone
	for _, r := range remote {
		if r.bad > 0 { // readers are done: no lock needed
			m.t.Errorf("%s: track %s got %d packets with a corrupt payload", r.peer, r.id, r.bad)
		}
	}
}

// newTrack returns a local track of the given kind, in the given stream,
// that the clock writes to from now on.
func (m *mediaHarness) newTrack(kind webrtc.RTPCodecType, streamID string) *webrtc.TrackLocalStaticRTP {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	tr, err := webrtc.NewTrackLocalStaticRTP(codecFor(kind), fmt.Sprintf("%s-%s%d", streamID, kind, m.next), streamID)
	if err != nil {
		m.t.Errorf("NewTrackLocalStaticRTP: %v", err) // may run in a handler: no Fatal
		return nil
	}
	m.local = append(m.local, &localTrack{TrackLocalStaticRTP: tr})
	return tr
}

// newStream returns a new stream: an audio and a video track, like
// simple-peer's tests' getMediaStream.
func (m *mediaHarness) newStream() []webrtc.TrackLocal {
	m.mu.Lock()
	m.next++
	id := fmt.Sprintf("stream%d", m.next)
	m.mu.Unlock()
	return []webrtc.TrackLocal{m.newTrack(webrtc.RTPCodecTypeAudio, id), m.newTrack(webrtc.RTPCodecTypeVideo, id)}
}

// newStreams returns n new streams, all their tracks in one slice (for
// Options.Tracks).
func (m *mediaHarness) newStreams(n int) []webrtc.TrackLocal {
	var all []webrtc.TrackLocal
	for i := 0; i < n; i++ {
		all = append(all, m.newStream()...)
	}
	return all
}

// mediaPair is a wired initiator (p1) and non-initiator (p2), the tracks
// each receives (rx1, rx2) and the negotiation watcher.
type mediaPair struct {
	*mediaHarness
	p1, p2   *simplepeer.Peer
	rx1, rx2 *mediaSide
	neg      *negWatch
}

// pair creates, wires and watches two peers (nil options: testOptions).
// They are not yet connected.
func (m *mediaHarness) pair(o1, o2 *simplepeer.Options) *mediaPair {
	if o1 == nil {
		o1 = testOptions(true)
	}
	if o2 == nil {
		o2 = testOptions(false)
	}
	p1 := newPeer(m.t, o1)
	p2 := newPeer(m.t, o2)
	m.mu.Lock()
	m.peers = append(m.peers, p1, p2)
	m.mu.Unlock()
	mp := &mediaPair{mediaHarness: m, p1: p1, p2: p2}
	mp.neg = watchNegotiation(m.t, p1, p2)
	m.mu.Lock()
	m.neg = mp.neg
	m.mu.Unlock()
	mp.rx1 = m.watch(p1, "peer1")
	mp.rx2 = m.watch(p2, "peer2")
	// Registered after the peers' cleanups, so it runs before them.
	m.t.Cleanup(func() { mp.neg.checkNoErrors(m.t) })
	return mp
}

// remoteTrack is a remote track and what its reader has seen.
type remoteTrack struct {
	peer     string // the receiving peer
	track    *webrtc.TrackRemote
	id       string // track ID when it arrived
	streamID string
	update   chan struct{} // poked after each packet
	done     chan struct{} // closed when the reader ends

	mu     sync.Mutex
	counts map[string]int // intact packets per sending track ID
	bad    int
	err    error // why reading ended
}

func (r *remoteTrack) read() {
	defer close(r.done)
	for {
		pkt, _, err := r.track.ReadRTP()
		if err != nil {
			r.mu.Lock()
			r.err = err
			r.mu.Unlock()
			return
		}
		id, ok := parseRTPPayload(pkt.Payload)
		r.mu.Lock()
		if ok {
			r.counts[id]++
		} else {
			r.bad++
		}
		r.mu.Unlock()
		select {
		case r.update <- struct{}{}:
		default:
		}
	}
}

// waitPackets waits until n intact packets written to the local track
// from have arrived on r.
func (r *remoteTrack) waitPackets(t testing.TB, from string, n int) {
	t.Helper()
	timeout := time.NewTimer(testTimeout)
	defer timeout.Stop()
	for {
		r.mu.Lock()
		got, bad, err := r.counts[from], r.bad, r.err
		r.mu.Unlock()
		if bad > 0 {
			t.Fatalf("%s: track %s got %d packets with a corrupt payload", r.peer, r.id, bad)
		}
		if got >= n {
			return
		}
		select {
		case <-r.update:
		case <-r.done:
			r.mu.Lock()
			got = r.counts[from]
			r.mu.Unlock()
			if got >= n {
				return
			}
			t.Fatalf("%s: track %s ended after %d packets from %s: %v", r.peer, r.id, got, from, err)
		case <-timeout.C:
			t.Fatalf("%s: timed out waiting for %d packets from %s on track %s (got %d)", r.peer, n, from, r.id, got)
		}
	}
}

// senders returns the IDs of the local tracks whose packets arrived on r.
func (r *remoteTrack) senders() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for id := range r.counts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// mediaSide is what one peer receives: each remote track, with a reader
// started, goes to tracks (and to hook first, on the peer's event
// goroutine, when set).
type mediaSide struct {
	m      *mediaHarness
	name   string
	tracks chan *remoteTrack

	mu   sync.Mutex
	hook func(*remoteTrack)
	byID map[string]*remoteTrack
}

// watch sets p's OnTrack handler.
func (m *mediaHarness) watch(p *simplepeer.Peer, name string) *mediaSide {
	s := &mediaSide{m: m, name: name, tracks: make(chan *remoteTrack, 256), byID: map[string]*remoteTrack{}}
	p.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { s.onTrack(tr) })
	return s
}

func (s *mediaSide) onTrack(tr *webrtc.TrackRemote) {
	r := &remoteTrack{
		peer: s.name, track: tr, id: tr.ID(), streamID: tr.StreamID(),
		update: make(chan struct{}, 1), done: make(chan struct{}), counts: map[string]int{},
	}
	m := s.m
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.readers.Add(1)
	m.remote = append(m.remote, r)
	m.mu.Unlock()
	go func() {
		defer m.readers.Done()
		r.read()
	}()
	s.mu.Lock()
	s.byID[r.id] = r
	hook := s.hook
	s.mu.Unlock()
	if hook != nil {
		hook(r)
	}
	s.tracks <- r
}

// setHook sets a function called with each new remote track on the
// receiving peer's event goroutine (like a simple-peer 'track' listener).
func (s *mediaSide) setHook(f func(*remoteTrack)) {
	s.mu.Lock()
	s.hook = f
	s.mu.Unlock()
}

func (s *mediaSide) get(id string) *remoteTrack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byID[id]
}

// next waits for the next remote track.
func (s *mediaSide) next(t testing.TB) *remoteTrack {
	t.Helper()
	return recv(t, s.tracks, s.name+" track event")
}

// expectTracks waits for one track event per local track in want (in any
// order) and checks them with checkArrived.
func (s *mediaSide) expectTracks(t testing.TB, want ...webrtc.TrackLocal) []*remoteTrack {
	t.Helper()
	got := make([]*remoteTrack, len(want))
	for i := range got {
		got[i] = s.next(t)
	}
	s.checkArrived(t, got, want)
	return got
}

// checkArrived checks that got are the remote ends of want: each arrived
// once, with the sender's track and stream IDs and kind, and rtpPackets
// intact packets of that track, and only of that track, arrive on it.
func (s *mediaSide) checkArrived(t testing.TB, got []*remoteTrack, want []webrtc.TrackLocal) {
	t.Helper()
	wantIDs := map[string]webrtc.TrackLocal{}
	for _, w := range want {
		wantIDs[w.ID()] = w
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d tracks arrived, want %d", s.name, len(got), len(want))
	}
	for _, r := range got {
		w, ok := wantIDs[r.id]
		if !ok {
			t.Fatalf("%s: unexpected or repeated track %q (stream %q); want %v", s.name, r.id, r.streamID, trackIDs(want))
		}
		delete(wantIDs, r.id)
		if r.streamID != w.StreamID() || r.track.Kind() != w.Kind() {
			t.Errorf("%s: track %s: stream %q kind %s, want stream %q kind %s", s.name, r.id, r.streamID, r.track.Kind(), w.StreamID(), w.Kind())
		}
	}
	for _, r := range got {
		r.waitPackets(t, r.id, rtpPackets)
		if from := r.senders(); len(from) != 1 {
			t.Errorf("%s: track %s carried packets of %v, want only its own", s.name, r.id, from)
		}
	}
}

// checkStream checks a stream event: the tracks of want, each of which
// has been reported by a track event before and carries RTP.
func (s *mediaSide) checkStream(t testing.TB, st *simplepeer.Stream, want []webrtc.TrackLocal) {
	t.Helper()
	if got := s.checkPartialStream(t, st, want); !slices.Equal(got, trackIDs(want)) {
		t.Errorf("%s: stream %s has tracks %v, want %v", s.name, st.ID, got, trackIDs(want))
	}
}

// checkPartialStream is checkStream for a stream of the non-initiator
// whose tracks may have been given transceivers in separate negotiations
// (two transceiverRequests can fall into two offers): the library's
// stream event then has only the tracks of the first (see
// TestStreamEventAllTracks), so only some of want are required. It
// returns the sorted IDs of the stream's tracks.
func (s *mediaSide) checkPartialStream(t testing.TB, st *simplepeer.Stream, want []webrtc.TrackLocal) []string {
	t.Helper()
	wantIDs := trackIDs(want)
	if st.ID != want[0].StreamID() || len(st.Tracks) == 0 {
		t.Fatalf("%s: stream %q with %d tracks, want %q with up to %d", s.name, st.ID, len(st.Tracks), want[0].StreamID(), len(want))
	}
	var got []string
	for _, tr := range st.Tracks {
		if !slices.Contains(wantIDs, tr.ID()) {
			t.Fatalf("%s: stream %s has track %s, want only %v", s.name, st.ID, tr.ID(), wantIDs)
		}
		got = append(got, tr.ID())
		r := s.get(tr.ID())
		if r == nil {
			t.Fatalf("%s: stream %s has track %s that no track event reported", s.name, st.ID, tr.ID())
		}
		r.waitPackets(t, tr.ID(), rtpPackets)
	}
	slices.Sort(got)
	return got
}

// noMoreTracks fails if a track event is waiting.
func (s *mediaSide) noMoreTracks(t testing.TB) {
	t.Helper()
	select {
	case r := <-s.tracks:
		t.Errorf("%s: unexpected track %s (stream %s)", s.name, r.id, r.streamID)
	default:
	}
}

func trackIDs(tracks []webrtc.TrackLocal) []string {
	ids := make([]string, len(tracks))
	for i, tr := range tracks {
		ids[i] = tr.ID()
	}
	slices.Sort(ids)
	return ids
}

// streamChan sets p's OnStream handler to pass each stream on the
// returned channel.
func streamChan(p *simplepeer.Peer) <-chan *simplepeer.Stream {
	ch := make(chan *simplepeer.Stream, 64)
	p.OnStream(func(s *simplepeer.Stream) { ch <- s })
	return ch
}

// wantCode fails unless err is an *Error with the given code.
func wantCode(t testing.TB, what string, err error, code simplepeer.ErrorCode) {
	t.Helper()
	var e *simplepeer.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Errorf("%s = %v (code %q), want code %s", what, err, simplepeer.Code(err), code)
	}
}

// TestMediaErrors ports the error codes of simple-peer's addTrack,
// removeTrack and replaceTrack: ERR_SENDER_ALREADY_ADDED for a track added
// twice, ERR_SENDER_REMOVED for a track added again after removal,
// ERR_TRACK_NOT_ADDED for removing or replacing a track never added, and
// ERR_UNSUPPORTED_REPLACETRACK when Pion refuses the replacement. Each
// error leaves the peer usable, on either role.
func TestMediaErrors(t *testing.T) {
	audio := func(id string) webrtc.TrackLocal {
		tr, err := webrtc.NewTrackLocalStaticRTP(codecFor(webrtc.RTPCodecTypeAudio), id, "errors")
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	video, err := webrtc.NewTrackLocalStaticRTP(codecFor(webrtc.RTPCodecTypeVideo), "video", "errors")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		code simplepeer.ErrorCode // "" for no error
		run  func(p *simplepeer.Peer, a, b webrtc.TrackLocal) error
	}{
		{"AddTrack twice", simplepeer.ErrCodeSenderAlreadyAdded, func(p *simplepeer.Peer, a, _ webrtc.TrackLocal) error {
			if err := p.AddTrack(a); err != nil {
				return fmt.Errorf("first AddTrack: %w", err)
			}
			return p.AddTrack(a)
		}},
		{"AddStream with a track twice", simplepeer.ErrCodeSenderAlreadyAdded, func(p *simplepeer.Peer, a, _ webrtc.TrackLocal) error {
			return p.AddStream(a, a)
		}},
		{"AddTrack after RemoveTrack", simplepeer.ErrCodeSenderRemoved, func(p *simplepeer.Peer, a, _ webrtc.TrackLocal) error {
			if err := p.AddTrack(a); err != nil {
				return fmt.Errorf("AddTrack: %w", err)
			}
			if err := p.RemoveTrack(a); err != nil {
				return fmt.Errorf("RemoveTrack: %w", err)
			}
			return p.AddTrack(a)
		}},
		{"RemoveTrack twice", "", func(p *simplepeer.Peer, a, _ webrtc.TrackLocal) error {
			if err := p.AddTrack(a); err != nil {
				return fmt.Errorf("AddTrack: %w", err)
			}
			if err := p.RemoveTrack(a); err != nil {
				return fmt.Errorf("RemoveTrack: %w", err)
			}
			return p.RemoveTrack(a)
		}},
		{"RemoveTrack never added", simplepeer.ErrCodeTrackNotAdded, func(p *simplepeer.Peer, a, _ webrtc.TrackLocal) error {
			return p.RemoveTrack(a)
		}},
		{"RemoveStream never added", simplepeer.ErrCodeTrackNotAdded, func(p *simplepeer.Peer, a, b webrtc.TrackLocal) error {
			return p.RemoveStream(a, b)
		}},
		{"ReplaceTrack never added", simplepeer.ErrCodeTrackNotAdded, func(p *simplepeer.Peer, a, b webrtc.TrackLocal) error {
			return p.ReplaceTrack(a, b)
		}},
		{"ReplaceTrack after RemoveTrack", simplepeer.ErrCodeTrackNotAdded, func(p *simplepeer.Peer, a, b webrtc.TrackLocal) error {
			if err := p.AddTrack(a); err != nil {
				return fmt.Errorf("AddTrack: %w", err)
			}
			if err := p.RemoveTrack(a); err != nil {
				return fmt.Errorf("RemoveTrack: %w", err)
			}
			return p.ReplaceTrack(a, b)
		}},
		{"ReplaceTrack by the old track's replacement", simplepeer.ErrCodeTrackNotAdded, func(p *simplepeer.Peer, a, b webrtc.TrackLocal) error {
			if err := p.AddTrack(a); err != nil {
				return fmt.Errorf("AddTrack: %w", err)
			}
			if err := p.ReplaceTrack(a, b); err != nil {
				return fmt.Errorf("ReplaceTrack: %w", err)
			}
			return p.ReplaceTrack(a, nil) // a is no longer sent: b is
		}},
		{"ReplaceTrack with another kind", simplepeer.ErrCodeUnsupportedReplaceTrack, func(p *simplepeer.Peer, a, _ webrtc.TrackLocal) error {
			if err := p.AddTrack(a); err != nil {
				return fmt.Errorf("AddTrack: %w", err)
			}
			return p.ReplaceTrack(a, video)
		}},
		{"AddTransceiver of kind data", simplepeer.ErrCodeAddTransceiver, func(p *simplepeer.Peer, _, _ webrtc.TrackLocal) error {
			return p.AddTransceiver(webrtc.RTPCodecType(0))
		}},
	}
	for _, initiator := range []bool{true, false} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/initiator=%v", tt.name, initiator), func(t *testing.T) {
				p := newPeer(t, testOptions(initiator))
				a, b := audio("a"), audio("b")
				err := tt.run(p, a, b)
				if tt.code == "" {
					if err != nil {
						t.Errorf("got %v, want no error", err)
					}
				} else {
					wantCode(t, tt.name, err, tt.code)
				}
				if p.Destroyed() {
					t.Fatal("the error destroyed the peer")
				}
				if err := p.AddTrack(audio("c")); err != nil {
					t.Errorf("AddTrack of a new track after the error: %v", err)
				}
			})
		}
	}
	t.Run("Options.Tracks with a track twice", func(t *testing.T) {
		o := testOptions(true)
		a := audio("a")
		o.Tracks = []webrtc.TrackLocal{a, a}
		p, err := simplepeer.New(o)
		if err == nil {
			_ = p.Close()
		}
		wantCode(t, "New", err, simplepeer.ErrCodeSenderAlreadyAdded)
	})
}

// TestAddTrackWhileDataFlows checks that renegotiation does not disturb
// the data channel: while both peers send numbered messages continuously,
// tracks are added and removed on both sides (seven renegotiations); every
// message arrives, once, in order, and every added track carries RTP.
func TestAddTrackWhileDataFlows(t *testing.T) {
	m := newMedia(t)
	mp := m.pair(nil, nil)
	connected(t, mp.p1, mp.p2)
	sink1, sink2 := newDataSink(mp.p1), newDataSink(mp.p2)
	pump1, pump2 := startDataPump(t, mp.p1), startDataPump(t, mp.p2)

	renegotiate := func(what string, do func() error, expect func()) {
		t.Helper()
		before := mp.neg.counts()
		if err := do(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		mp.neg.waitNegotiated(t, before.negotiated[0]+1, before.negotiated[1]+1)
		if expect != nil {
			expect()
		}
	}
	a1, v1 := m.newTrack(webrtc.RTPCodecTypeAudio, "p1"), m.newTrack(webrtc.RTPCodecTypeVideo, "p1")
	a2 := m.newTrack(webrtc.RTPCodecTypeAudio, "p2")
	s2 := m.newStream()
	renegotiate("peer1 AddTrack audio", func() error { return mp.p1.AddTrack(a1) }, func() { mp.rx2.expectTracks(t, a1) })
	renegotiate("peer1 AddTrack video", func() error { return mp.p1.AddTrack(v1) }, func() { mp.rx2.expectTracks(t, v1) })
	renegotiate("peer2 AddTrack audio", func() error { return mp.p2.AddTrack(a2) }, func() { mp.rx1.expectTracks(t, a2) })
	renegotiate("peer1 RemoveTrack audio", func() error { return mp.p1.RemoveTrack(a1) }, nil)
	renegotiate("peer2 AddStream", func() error { return mp.p2.AddStream(s2...) }, func() { mp.rx1.expectTracks(t, s2...) })
	renegotiate("peer2 RemoveTrack audio", func() error { return mp.p2.RemoveTrack(a2) }, nil)
	renegotiate("peer1 Negotiate", mp.p1.Negotiate, nil)

	sent1, err1 := pump1.finish()
	sent2, err2 := pump2.finish()
	if err1 != nil || err2 != nil {
		t.Fatalf("Send: peer1 %v, peer2 %v", err1, err2)
	}
	sink2.waitCount(t, sent1)
	sink1.waitCount(t, sent2)
	t.Logf("messages: peer1 sent %d, peer2 sent %d", sent1, sent2)
	if sent1 < 10 || sent2 < 10 {
		t.Errorf("only %d and %d messages were sent during the renegotiations", sent1, sent2)
	}
}

func dataMessage(n int) []byte { return []byte(fmt.Sprintf("message %08d", n)) }

// dataPump sends numbered messages from one goroutine, a few every
// millisecond, until finish.
type dataPump struct {
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
	sent     int   // written by the pump goroutine only, read after done
	err      error // likewise
}

func startDataPump(t testing.TB, p *simplepeer.Peer) *dataPump {
	d := &dataPump{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(d.done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-d.stop:
				return
			case <-tick.C:
			}
			for i := 0; i < 4; i++ {
				if err := p.Send(dataMessage(d.sent)); err != nil {
					d.err = err
					return
				}
				d.sent++
			}
		}
	}()
	t.Cleanup(func() { d.finish() }) // runs before the peers close
	return d
}

// finish stops the pump and returns how many messages it sent.
func (d *dataPump) finish() (int, error) {
	d.stopOnce.Do(func() { close(d.stop) })
	<-d.done
	return d.sent, d.err
}

// dataSink checks that the messages of a dataPump arrive in order.
type dataSink struct {
	changed chan struct{}

	mu   sync.Mutex
	next int
	err  error
}

func newDataSink(p *simplepeer.Peer) *dataSink {
	s := &dataSink{changed: make(chan struct{}, 1)}
	p.OnData(func(b []byte) {
		s.mu.Lock()
		if want := dataMessage(s.next); !bytes.Equal(b, want) && s.err == nil {
			s.err = fmt.Errorf("message %d is %q, want %q", s.next, b, want)
		}
		s.next++
		s.mu.Unlock()
		select {
		case s.changed <- struct{}{}:
		default:
		}
	})
	return s
}

// waitCount waits until n messages arrived, failing on the first out of
// order.
func (s *dataSink) waitCount(t testing.TB, n int) {
	t.Helper()
	timeout := time.NewTimer(testTimeout)
	defer timeout.Stop()
	for {
		s.mu.Lock()
		got, err := s.next, s.err
		s.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		if got >= n {
			if got > n {
				t.Fatalf("got %d messages, %d were sent", got, n)
			}
			return
		}
		select {
		case <-s.changed:
		case <-timeout.C:
			t.Fatalf("timed out: %d of %d messages arrived", got, n)
		}
	}
}

// TestEarlyMediaBeforeAnswer checks media that reaches the initiator
// before the answer declaring it, which is the normal case when the
// signalling channel is slower than the media path: a data-only
// connection, then the non-initiator adds an audio track (renegotiate,
// then a transceiverRequest and a second offer), and its answer, which
// starts its sender, reaches the initiator only after some of its RTP has.
// The initiator must still get one track event for it, of kind audio,
// with the sender's IDs and packets, and make no transceiver of its own
// for the early packets.
func TestEarlyMediaBeforeAnswer(t *testing.T) {
	m := newMedia(t)
	m.mu.Lock()
	m.earlyMedia = true
	m.mu.Unlock()
	mp := m.pair(nil, nil)
	connected(t, mp.p1, mp.p2)
	held := mp.neg.holdFirst(func(from int, s simplepeer.Signal) bool {
		return from == 1 && s.Type == simplepeer.SignalAnswer && strings.Contains(s.SDP, "m=audio")
	})
	audio := m.newTrack(webrtc.RTPCodecTypeAudio, "early")
	if err := mp.p2.AddTrack(audio); err != nil {
		t.Fatalf("AddTrack: %v", err)
	}
	answer := recv(t, held, "peer2's answer with its audio")
	// peer2 sends from now on; let a few packets reach peer1 first.
	waitBytesReceived(t, mp.p1, 10*(len(rtpPayload(audio.ID(), 0))+12))
	forward(t, mp.p1, answer)
	r := mp.rx1.next(t)
	if r.id != audio.ID() || r.streamID != audio.StreamID() || r.track.Kind() != webrtc.RTPCodecTypeAudio {
		t.Errorf("track event: track %q, stream %q, kind %s; want %q, %q, audio", r.id, r.streamID, r.track.Kind(), audio.ID(), audio.StreamID())
	}
	r.waitPackets(t, audio.ID(), rtpPackets)
	c := mp.neg.waitFor(t, "stable signaling", negCounts.stable)
	for _, tr := range mp.p1.PeerConnection().GetTransceivers() {
		if tr.Mid() == "" {
			t.Errorf("peer1 has a %s transceiver (%s) that no offer or answer made", tr.Kind(), tr.Direction())
		}
	}
	// The next offer has the data and the audio m-sections, nothing more.
	if err := mp.p1.Negotiate(); err != nil {
		t.Fatalf("Negotiate: %v", err)
	}
	mp.neg.waitNegotiated(t, c.negotiated[0]+1, c.negotiated[1]+1)
	var last string
	for _, s := range mp.neg.signals(0) {
		if s.Type == simplepeer.SignalOffer {
			last = s.SDP
		}
	}
	if ms := mediaSections(last); len(ms) != 2 {
		var kinds []string
		for _, sec := range ms {
			kinds = append(kinds, strings.Fields(sec)[0])
		}
		t.Errorf("next offer has m-sections %v, want the data channel's and the audio's", kinds)
	}
	mp.rx1.noMoreTracks(t)
}

// waitBytesReceived waits until p's ICE transport has received n more
// bytes. Nothing signals that, so it polls the statistics.
func waitBytesReceived(t testing.TB, p *simplepeer.Peer, n int) {
	t.Helper()
	received := func() uint64 {
		if s, ok := p.GetStats()["iceTransport"].(webrtc.TransportStats); ok {
			return s.BytesReceived
		}
		return 0
	}
	target := received() + uint64(n)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	timeout := time.NewTimer(testTimeout)
	defer timeout.Stop()
	for received() < target {
		select {
		case <-tick.C:
		case <-timeout.C:
			t.Fatalf("timed out waiting for %d bytes to arrive", n)
		}
	}
}

// TestReplaceTrackNil checks ReplaceTrack(track, nil), which the library
// documents as "stop sending" (simple-peer's replaceTrack(old, null), a
// mute that keeps the transceiver): the peer must survive changes made
// after it, such as AddTrack, and a later ReplaceTrack with a new track
// must send again, also after a renegotiation in between, as it does in a
// browser. Each case runs in a child process (the test binary itself), so
// that a crash fails that case alone rather than the whole run.
func TestReplaceTrackNil(t *testing.T) {
	t.Run("then AddTrack", func(t *testing.T) {
		if !inChild(t) {
			return
		}
		mp, _, _ := mutedTrack(t)
		c := mp.neg.counts()
		other := mp.newTrack(webrtc.RTPCodecTypeVideo, "other")
		if err := mp.p1.AddTrack(other); err != nil {
			t.Fatalf("AddTrack: %v", err)
		}
		mp.neg.waitNegotiated(t, c.negotiated[0]+1, c.negotiated[1]+1)
		mp.rx2.expectTracks(t, other)
	})
	t.Run("then Negotiate, then a new track", func(t *testing.T) {
		if !inChild(t) {
			return
		}
		mp, a, r := mutedTrack(t)
		c := mp.neg.counts()
		if err := mp.p1.Negotiate(); err != nil {
			t.Fatalf("Negotiate: %v", err)
		}
		mp.neg.waitNegotiated(t, c.negotiated[0]+1, c.negotiated[1]+1)
		b := mp.newTrack(webrtc.RTPCodecTypeAudio, a.StreamID())
		if err := mp.p1.ReplaceTrack(a, b); err != nil {
			t.Fatalf("ReplaceTrack after nil: %v", err)
		}
		r.waitPackets(t, b.ID(), rtpPackets)
	})
}

// mutedTrack connects a pair, sends an audio track from peer1 until it
// flows at peer2, and replaces it with nil once signaling is stable.
func mutedTrack(t *testing.T) (*mediaPair, webrtc.TrackLocal, *remoteTrack) {
	m := newMedia(t)
	mp := m.pair(nil, nil)
	connected(t, mp.p1, mp.p2)
	a := m.newTrack(webrtc.RTPCodecTypeAudio, "s")
	if err := mp.p1.AddTrack(a); err != nil {
		t.Fatalf("AddTrack: %v", err)
	}
	r := mp.rx2.expectTracks(t, a)[0]
	mp.neg.waitFor(t, "stable signaling", negCounts.stable)
	if err := mp.p1.ReplaceTrack(a, nil); err != nil {
		t.Fatalf("ReplaceTrack(nil): %v", err)
	}
	return mp, a, r
}

// inChild reports whether this process is the child that runs test t.
// Otherwise it runs t alone in a child process, bounded by twice
// testTimeout, and fails t if the child fails.
func inChild(t *testing.T) bool {
	t.Helper()
	const env = "SIMPLEPEER_TEST_CHILD"
	if os.Getenv(env) == t.Name() {
		return true
	}
	parts := strings.Split(t.Name(), "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*testTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run="+strings.Join(parts, "/"), "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), env+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		t.Errorf("child process failed (%v); its output ends:\n%s", err, strings.Join(lines[max(0, len(lines)-20):], "\n"))
	}
	return false
}
