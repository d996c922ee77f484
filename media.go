package simplepeer

import (
	"errors"
	"reflect"
	"sync"

	"github.com/pion/webrtc/v3"
)

// Media: simple-peer's stream API over Pion tracks. A stream is the set of
// tracks sharing a stream ID (webrtc.TrackLocal.StreamID). Changes made on
// the initiator start a negotiation; on the non-initiator they ask the
// initiator for one, since only the initiator offers.

// Stream is a remote media stream: the remote tracks that share a stream ID.
type Stream struct {
	ID     string
	Tracks []*webrtc.TrackRemote
}

type senderInfo struct {
	sender  *webrtc.RTPSender
	removed bool
}

type mediaState struct {
	senders       map[webrtc.TrackLocal]*senderInfo
	requested     map[*webrtc.RTPTransceiver]bool
	remoteStreams map[string]*Stream
	announced     map[string]bool
	live          []liveTrack    // remote tracks not ended
	rtcp          sync.WaitGroup // one RTCP reader per sender
}

func (m *mediaState) init() {
	m.senders = map[webrtc.TrackLocal]*senderInfo{}
	m.requested = map[*webrtc.RTPTransceiver]bool{}
	m.remoteStreams = map[string]*Stream{}
	m.announced = map[string]bool{}
}

// stop waits for the RTCP readers, which end when the connection closes.
func (m *mediaState) stop() { m.rtcp.Wait() }

// AddTrack sends a local track to the remote peer and renegotiates. Errors:
// ERR_SENDER_ALREADY_ADDED, ERR_SENDER_REMOVED (a removed track cannot be
// added again; add a new track instead), ERR_ADD_TRANSCEIVER (a nil track,
// ErrNilTrack, or one Pion refuses), ERR_DESTROYED.
func (p *Peer) AddTrack(t webrtc.TrackLocal) error {
	_, err := p.AddTrackSender(t)
	return err
}

// AddTrackSender is AddTrack returning the track's *webrtc.RTPSender, for
// its parameters, its transport's stats, or to match OnRTCP's sender.
func (p *Peer) AddTrackSender(t webrtc.TrackLocal) (*webrtc.RTPSender, error) {
	var sender *webrtc.RTPSender
	err := p.call(func() (err error) {
		sender, err = p.addTrack(t)
		return err
	})
	return sender, err
}

func (p *Peer) addTrack(t webrtc.TrackLocal) (*webrtc.RTPSender, error) {
	if p.Destroyed() {
		return nil, errDestroyed()
	}
	if err := checkTrack(t, ErrCodeAddTransceiver); err != nil {
		return nil, err
	}
	if s, ok := p.actor.media.senders[t]; ok {
		if s.removed {
			return nil, newError(ErrCodeSenderRemoved, "track %q was removed; add a new track instead", t.ID())
		}
		return nil, newError(ErrCodeSenderAlreadyAdded, "track %q has already been added", t.ID())
	}
	sender, err := p.pc.AddTrack(t)
	if err != nil {
		return nil, wrapError(ErrCodeAddTransceiver, err)
	}
	p.actor.media.senders[t] = &senderInfo{sender: sender}
	p.actor.media.rtcp.Add(1)
	go func() {
		defer p.actor.media.rtcp.Done()
		p.readRTCP(sender)
	}()
	p.needsNegotiation()
	return sender, nil
}

// Sender returns the *webrtc.RTPSender of a track added with AddTrack or
// AddStream (also after RemoveTrack), or nil.
func (p *Peer) Sender(t webrtc.TrackLocal) *webrtc.RTPSender {
	var sender *webrtc.RTPSender
	_ = p.call(func() error {
		if s, ok := p.actor.media.senders[t]; ok {
			sender = s.sender
		}
		return nil
	})
	return sender
}

// Transceivers returns the peer's transceivers (Pion's), those of
// AddTrack, AddTransceiver and the remote's offers alike. Nil once the peer
// is destroyed.
func (p *Peer) Transceivers() []*webrtc.RTPTransceiver {
	var out []*webrtc.RTPTransceiver
	_ = p.call(func() error {
		if !p.Destroyed() {
			out = p.pc.GetTransceivers()
		}
		return nil
	})
	return out
}

// RemoveTrack stops sending a track and renegotiates. ERR_TRACK_NOT_ADDED if
// it was never added (or is nil: ErrNilTrack); a failure to remove destroys
// the peer with ERR_REMOVE_TRACK.
func (p *Peer) RemoveTrack(t webrtc.TrackLocal) error {
	return p.call(func() error { return p.removeTrack(t) })
}

func (p *Peer) removeTrack(t webrtc.TrackLocal) error {
	if p.Destroyed() {
		return errDestroyed()
	}
	if err := checkTrack(t, ErrCodeTrackNotAdded); err != nil {
		return err
	}
	s, ok := p.actor.media.senders[t]
	if !ok {
		return newError(ErrCodeTrackNotAdded, "cannot remove track %q that was never added", t.ID())
	}
	if s.removed {
		return nil
	}
	s.removed = true
	if err := p.pc.RemoveTrack(s.sender); err != nil {
		e := wrapError(ErrCodeRemoveTrack, err)
		p.destroyOnActor(e)
		return e
	}
	p.needsNegotiation()
	return nil
}

// ReplaceTrack sends newTrack in place of oldTrack without renegotiating
// (the codec must match). A nil newTrack pauses sending; oldTrack still
// names the sender, so ReplaceTrack(oldTrack, t) resumes it. Errors:
// ERR_TRACK_NOT_ADDED (also for a nil oldTrack), ERR_UNSUPPORTED_REPLACETRACK
// (Pion refused it).
func (p *Peer) ReplaceTrack(oldTrack, newTrack webrtc.TrackLocal) error {
	return p.call(func() error {
		if p.Destroyed() {
			return errDestroyed()
		}
		if err := checkTrack(oldTrack, ErrCodeTrackNotAdded); err != nil {
			return err
		}
		if newTrack != nil {
			if err := checkTrack(newTrack, ErrCodeUnsupportedReplaceTrack); err != nil {
				return err
			}
		}
		s, ok := p.actor.media.senders[oldTrack]
		if !ok || s.removed {
			return newError(ErrCodeTrackNotAdded, "cannot replace track %q that was never added", oldTrack.ID())
		}
		replacement := newTrack
		if replacement == nil {
			// Pion v3 dereferences a sender's nil track in its next
			// negotiation; a silent track with the same identity pauses
			// the media and keeps the sender described.
			var err error
			if replacement, err = silentTrack(s.sender, oldTrack); err != nil {
				return wrapError(ErrCodeUnsupportedReplaceTrack, err)
			}
		}
		if err := s.sender.ReplaceTrack(replacement); err != nil {
			return wrapError(ErrCodeUnsupportedReplaceTrack, err)
		}
		if newTrack != nil {
			delete(p.actor.media.senders, oldTrack)
			p.actor.media.senders[newTrack] = s
		}
		return nil
	})
}

// checkTrack refuses a track the peer cannot keep in its sender map: nil,
// or of a type that cannot be a map key (a struct with slices, passed by
// value), which would panic.
func checkTrack(t webrtc.TrackLocal, code ErrorCode) error {
	if t == nil {
		return &Error{Code: code, Err: ErrNilTrack}
	}
	if !reflect.TypeOf(t).Comparable() {
		return newError(code, "track of type %T cannot be compared; pass a pointer", t)
	}
	return nil
}

// silentTrack returns a track that never sends, with t's ID and stream ID
// and the sender's negotiated codec.
func silentTrack(sender *webrtc.RTPSender, t webrtc.TrackLocal) (webrtc.TrackLocal, error) {
	codecs := sender.GetParameters().Codecs
	if len(codecs) == 0 {
		return nil, errors.New("sender has no negotiated codec")
	}
	return webrtc.NewTrackLocalStaticRTP(codecs[0].RTPCodecCapability, t.ID(), t.StreamID())
}

// AddStream adds every track of a stream (tracks sharing a stream ID), in
// one negotiation.
func (p *Peer) AddStream(tracks ...webrtc.TrackLocal) error {
	return p.call(func() error {
		for _, t := range tracks {
			if _, err := p.addTrack(t); err != nil {
				return err
			}
		}
		return nil
	})
}

// RemoveStream removes every track of a stream, in one negotiation.
func (p *Peer) RemoveStream(tracks ...webrtc.TrackLocal) error {
	return p.call(func() error {
		for _, t := range tracks {
			if err := p.removeTrack(t); err != nil {
				return err
			}
		}
		return nil
	})
}

// AddTransceiver adds a transceiver of the given kind. On the initiator it
// renegotiates (a failure destroys the peer with ERR_ADD_TRANSCEIVER); on the
// non-initiator it sends a transceiverRequest signal to the initiator.
func (p *Peer) AddTransceiver(kind webrtc.RTPCodecType, init ...webrtc.RTPTransceiverInit) error {
	return p.call(func() error { return p.addTransceiver(kind, init...) })
}

func (p *Peer) addTransceiver(kind webrtc.RTPCodecType, init ...webrtc.RTPTransceiverInit) error {
	if p.Destroyed() {
		return errDestroyed()
	}
	if kind != webrtc.RTPCodecTypeAudio && kind != webrtc.RTPCodecTypeVideo {
		return newError(ErrCodeAddTransceiver, "kind must be audio or video, got %v", kind)
	}
	if !p.initiator {
		req := &TransceiverRequest{Kind: kind.String()}
		if len(init) > 0 && init[0].Direction != webrtc.RTPTransceiverDirection(webrtc.Unknown) {
			req.Init = &TransceiverInit{Direction: init[0].Direction.String()}
		}
		p.emit(event{kind: evSignal, signal: Signal{Type: SignalTransceiverRequest, TransceiverRequest: req}})
		return nil
	}
	if _, err := p.pc.AddTransceiverFromKind(kind, init...); err != nil {
		e := wrapError(ErrCodeAddTransceiver, err)
		p.destroyOnActor(e)
		return e
	}
	p.needsNegotiation()
	return nil
}

func (p *Peer) addTransceiverRequest(r *TransceiverRequest) error {
	kind := webrtc.NewRTPCodecType(r.Kind)
	var init []webrtc.RTPTransceiverInit
	if r.Init != nil && r.Init.Direction != "" {
		init = append(init, webrtc.RTPTransceiverInit{Direction: webrtc.NewRTPTransceiverDirection(r.Init.Direction)})
	}
	return p.addTransceiver(kind, init...)
}

// requestMissingTransceivers asks the initiator for a transceiver for each
// local track the last offer had no place for (simple-peer does the same).
func (p *Peer) requestMissingTransceivers() {
	for _, tr := range p.pc.GetTransceivers() {
		s := tr.Sender()
		if tr.Mid() != "" || s == nil || s.Track() == nil || p.actor.media.requested[tr] {
			continue
		}
		p.actor.media.requested[tr] = true
		_ = p.addTransceiver(tr.Kind())
	}
}

// onTrack emits track, and stream once every track of that stream named in
// the remote description has arrived.
func (p *Peer) onTrack(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
	if p.Destroyed() {
		return
	}
	p.emit(event{kind: evTrack, track: t, receiver: r})
	p.trackStarted(t, r)
	id := t.StreamID()
	m := &p.actor.media
	s := m.remoteStreams[id]
	if s == nil {
		s = &Stream{ID: id}
		m.remoteStreams[id] = s
	}
	s.Tracks = append(s.Tracks, t)
	want := 1
	if rd := p.pc.RemoteDescription(); rd != nil {
		want = max(1, countStreamTracks(rd.SDP, id))
	}
	// Announce the stream once its described tracks are all here, and
	// again whenever a later negotiation adds a track to it.
	if m.announced[id] || len(s.Tracks) >= want {
		m.announced[id] = true
		out := &Stream{ID: id, Tracks: append([]*webrtc.TrackRemote(nil), s.Tracks...)}
		p.emit(event{kind: evStream, stream: out})
	}
}

// OnTrack sets the handler for each remote track (simple-peer's 'track').
// Pion reports a track when its first packet arrives. Read the track's RTP
// in a goroutine of your own, not inside the handler.
func (p *Peer) OnTrack(f func(*webrtc.TrackRemote, *webrtc.RTPReceiver)) {
	p.setHandler(evTrack, func(h *handlers) { h.track = f })
}

// OnStream sets the handler called for each remote stream once all the
// tracks the remote described for it have arrived (simple-peer's 'stream'),
// and again, with the longer track list, each time a later negotiation adds
// a track to that stream (in simple-peer the MediaStream grows instead).
func (p *Peer) OnStream(f func(*Stream)) {
	p.setHandler(evStream, func(h *handlers) { h.stream = f })
}
