package simplepeer

import (
	"strconv"
	"strings"
	"time"

	"github.com/pion/webrtc/v3"
)

// This file is the negotiation state machine. Everything here runs on the
// actor goroutine. It mirrors simple-peer: only the initiator offers; the
// non-initiator asks for offers with a renegotiate signal; a change during a
// negotiation is queued until the signaling state is stable again.

// Signal processes a signal message from the remote peer: an offer, answer,
// candidate, renegotiate request or transceiver request, in any order
// (candidates that arrive before the description are queued).
//
// Input it cannot use (unknown type, missing sdp or candidate, an offer sent
// to the initiator, an unexpected answer, an unparseable candidate) returns
// an *Error with code ERR_SIGNALING and leaves the peer as it was. Input the
// WebRTC state machine rejects (a malformed SDP) destroys the peer with the
// matching code (ERR_SET_REMOTE_DESCRIPTION, ...), as simple-peer does, and
// that error is returned. After destroy it returns ERR_DESTROYED.
func (p *Peer) Signal(s Signal) error {
	if p.destroyed.Load() {
		return errDestroyed()
	}
	t, err := s.normalize()
	if err != nil {
		return err
	}
	if t == SignalCandidate {
		skip, err := checkCandidate(s.Candidate)
		if err != nil {
			return err
		}
		if skip {
			p.log.Debugf("%s ignoring end-of-candidates or mDNS candidate %q", p.id, s.Candidate.Candidate)
			return nil
		}
	}
	return p.call(func() error { return p.handleSignal(s, t) })
}

func (p *Peer) handleSignal(s Signal, t SignalType) error {
	if p.destroyed.Load() {
		return errDestroyed()
	}
	switch t {
	case SignalRenegotiate:
		if p.initiator {
			p.log.Debugf("%s got request to renegotiate", p.id)
			p.needsNegotiation()
		}
	case SignalTransceiverRequest:
		if p.initiator {
			return p.addTransceiverRequest(s.TransceiverRequest)
		}
	case SignalCandidate:
		if p.pc.RemoteDescription() != nil {
			p.addICECandidate(*s.Candidate)
		} else {
			p.st.pendingCandidates = append(p.st.pendingCandidates, *s.Candidate)
		}
	case SignalOffer:
		if p.initiator {
			return newError(ErrCodeSignaling, "%w: the initiator makes the offers and cannot accept one", ErrInvalidSignal)
		}
		if err := p.setRemote(webrtc.SDPTypeOffer, s.SDP); err != nil {
			return err
		}
		p.createAnswer()
	case SignalAnswer:
		if !p.initiator {
			return newError(ErrCodeSignaling, "%w: only the initiator can accept an answer", ErrInvalidSignal)
		}
		if st := p.pc.SignalingState(); st != webrtc.SignalingStateHaveLocalOffer {
			return newError(ErrCodeSignaling, "%w: answer received in signaling state %s, no offer is pending", ErrInvalidSignal, st)
		}
		return p.setRemote(webrtc.SDPTypeAnswer, s.SDP)
	}
	return nil
}

// setRemote applies a remote description, then the candidates that came
// before it. A rejection destroys the peer, as in simple-peer.
func (p *Peer) setRemote(typ webrtc.SDPType, sdp string) error {
	applied := sdp
	if typ == webrtc.SDPTypeAnswer {
		applied = guardDataOnlyAnswer(sdp)
	}
	err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: typ, SDP: applied})
	if err != nil {
		e := wrapError(ErrCodeSetRemoteDescription, err)
		p.destroyNow(e)
		return e
	}
	p.updateSendLimit(sdp)
	p.syncSignalingState()
	for _, c := range p.st.pendingCandidates {
		p.addICECandidate(c)
	}
	p.st.pendingCandidates = nil
	return nil
}

func (p *Peer) addICECandidate(c webrtc.ICECandidateInit) {
	if p.destroyed.Load() {
		return
	}
	if err := p.pc.AddICECandidate(c); err != nil {
		p.destroyNow(wrapError(ErrCodeAddICECandidate, err))
	}
}

// negotiationBatchDelay is how long changes (AddTrack, RemoveTrack, ...)
// are collected into one negotiation: Go has no "end of this tick" like the
// microtask simple-peer batches in, so calls made in a row, within a few
// milliseconds, share one offer.
const negotiationBatchDelay = 5 * time.Millisecond

// needsNegotiation batches requests into one negotiation. The first one
// (from New) runs at once, so connecting is not delayed. The non-initiator's
// first request is dropped: its first negotiation is the initiator's offer.
func (p *Peer) needsNegotiation() {
	if p.st.batchedNegotiation {
		return
	}
	p.st.batchedNegotiation = true
	run := func() {
		p.st.batchedNegotiation = false
		if p.initiator || !p.st.firstNegotiation {
			p.negotiate()
		}
		p.st.firstNegotiation = false
	}
	if p.st.firstNegotiation {
		p.post(run)
		return
	}
	time.AfterFunc(negotiationBatchDelay, func() { p.post(run) })
}

// Negotiate starts a renegotiation: the initiator sends a new offer; a
// non-initiator asks the initiator for one with a renegotiate signal. During
// a negotiation the request is queued until the signaling state is stable.
func (p *Peer) Negotiate() error {
	return p.call(func() error {
		if p.destroyed.Load() {
			return errDestroyed()
		}
		p.negotiate()
		return nil
	})
}

func (p *Peer) negotiate() {
	if p.destroyed.Load() {
		return
	}
	switch {
	case p.st.isNegotiating:
		p.st.queuedNegotiation = true
		p.log.Debugf("%s already negotiating, queueing", p.id)
	case p.initiator:
		p.log.Debugf("%s start negotiation", p.id)
		p.post(p.createOffer)
	default:
		p.log.Debugf("%s requesting negotiation from initiator", p.id)
		p.emit(event{kind: evSignal, signal: Signal{Type: SignalRenegotiate, Renegotiate: true}})
	}
	p.st.isNegotiating = true
}

func (p *Peer) createOffer() {
	p.describe(func() (webrtc.SessionDescription, error) { return p.pc.CreateOffer(p.opts.OfferOptions) },
		ErrCodeCreateOffer, p.sendLocalDescription)
}

func (p *Peer) createAnswer() {
	p.describe(func() (webrtc.SessionDescription, error) { return p.pc.CreateAnswer(p.opts.AnswerOptions) },
		ErrCodeCreateAnswer, func() {
			p.sendLocalDescription()
			p.requestMissingTransceivers() // only the non-initiator answers
		})
}

// describe creates an offer or answer, sets it as the local description,
// and runs then once ICE gathering allows signalling it. Failures destroy
// the peer, as in simple-peer.
func (p *Peer) describe(create func() (webrtc.SessionDescription, error), code ErrorCode, then func()) {
	if p.destroyed.Load() {
		return
	}
	desc, err := create()
	if err != nil {
		p.destroyNow(wrapError(code, err))
		return
	}
	if err := p.pc.SetLocalDescription(desc); err != nil {
		p.destroyNow(wrapError(ErrCodeSetLocalDescription, err))
		return
	}
	p.syncSignalingState()
	p.whenICEComplete(then)
}

// sendLocalDescription signals the current local description, edited for the
// wire: trickle option removed when trickle is off, our max-message-size
// added, then the user's SDPTransform.
func (p *Peer) sendLocalDescription() {
	if p.destroyed.Load() {
		return
	}
	ld := p.pc.LocalDescription()
	if ld == nil {
		return
	}
	sdp := ld.SDP
	if ld.Type == webrtc.SDPTypeAnswer {
		sdp = withoutPhantomSenders(sdp)
	}
	if !p.opts.trickle && !p.opts.AllowHalfTrickle {
		sdp = filterTrickle(sdp)
	}
	sdp = p.opts.SDPTransform(addMaxMessageSize(sdp, maxMessageSize))
	p.emit(event{kind: evSignal, signal: Signal{Type: SignalType(ld.Type.String()), SDP: sdp}})
}

// whenICEComplete runs f now with trickle on, else once gathering is done or
// ICECompleteTimeout after the first candidate.
func (p *Peer) whenICEComplete(f func()) {
	if p.opts.trickle || p.st.iceComplete {
		f()
		return
	}
	p.st.iceWaiters = append(p.st.iceWaiters, f)
}

func (p *Peer) setICEComplete() {
	if p.st.iceComplete {
		return
	}
	p.st.iceComplete = true
	waiters := p.st.iceWaiters
	p.st.iceWaiters = nil
	for _, f := range waiters {
		f()
	}
}

func (p *Peer) onICECandidate(c *webrtc.ICECandidate) {
	if p.destroyed.Load() {
		return
	}
	if c == nil { // gathering complete: never signalled
		p.setICEComplete()
		return
	}
	if p.opts.trickle {
		init := c.ToJSON()
		p.emit(event{kind: evSignal, signal: Signal{Type: SignalCandidate, Candidate: &init}})
		p.log.Debugf("%s signal candidate %s", p.id, init.Candidate)
	}
	if p.st.iceTimer == nil && !p.st.iceComplete {
		p.st.iceTimer = time.AfterFunc(p.opts.ICECompleteTimeout, func() {
			p.post(func() {
				if !p.destroyed.Load() {
					p.log.Debugf("%s ICE gathering timed out, signalling what we have", p.id)
					p.setICEComplete()
				}
			})
		})
	}
}

func (p *Peer) onICEStateChange() {
	if p.destroyed.Load() {
		return
	}
	ice, gathering := p.pc.ICEConnectionState(), p.pc.ICEGatheringState()
	p.emit(event{kind: evICEState, ice: ice, gathering: gathering})
	switch ice {
	case webrtc.ICEConnectionStateConnected, webrtc.ICEConnectionStateCompleted:
		p.st.pcReady = true
		p.maybeReady()
	case webrtc.ICEConnectionStateFailed:
		p.destroyNow(&Error{Code: ErrCodeICEConnectionFailure, Err: ErrICEFailed})
	case webrtc.ICEConnectionStateClosed:
		p.destroyNow(&Error{Code: ErrCodeICEConnectionClosed, Err: ErrICEClosed})
	}
}

// syncSignalingState reads the signaling state after a description is set.
// Pion reports signaling changes on fresh goroutines, out of order, so the
// actor tracks the state itself.
func (p *Peer) syncSignalingState() {
	cur := p.pc.SignalingState()
	if cur == p.st.signaling {
		return
	}
	p.st.signaling = cur
	if cur == webrtc.SignalingStateStable {
		p.st.isNegotiating = false
		if p.st.queuedNegotiation {
			p.st.queuedNegotiation = false
			p.needsNegotiation()
		} else {
			p.emit(event{kind: evNegotiated})
		}
	}
	p.emit(event{kind: evSignalingState, signaling: cur})
}

// guardDataOnlyAnswer works around Pion v3 (fixed in v4, pion/webrtc#3066):
// when the current remote description has a single media section, Pion
// gives any RTP stream it does not know yet to that section, even when it
// is the data channel's m=application. After a renegotiation that adds
// media, the remote starts sending as soon as it has answered, so its first
// packets reach us before its answer: Pion then made a bogus video track of
// them and the real track never fired. With an a=rid line in the section
// Pion leaves such streams to its MID-based routing, which finds the right
// transceiver. Only the description given to Pion is changed; a data
// section ignores rid.
func guardDataOnlyAnswer(sdp string) string {
	if strings.Count(sdp, "\nm=") != 1 || !strings.Contains(sdp, "\nm=application ") {
		return sdp
	}
	if strings.HasSuffix(sdp, "\n") {
		return sdp + "a=rid:simplepeer-data recv\r\n"
	}
	return sdp + "\r\na=rid:simplepeer-data recv\r\n"
}

// filterTrickle removes a=ice-options:trickle (simple-peer #354).
func filterTrickle(sdp string) string {
	return removeLines(sdp, func(l string) bool { return strings.TrimSpace(l) == "a=ice-options:trickle" })
}

func removeLines(sdp string, drop func(string) bool) string {
	lines := strings.SplitAfter(sdp, "\n")
	out := lines[:0]
	for _, l := range lines {
		if !drop(l) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

// withoutPhantomSenders fixes the direction of answered media sections in
// which we send nothing. Pion answers a remote recvonly transceiver with
// a=sendonly (and sendrecv with sendrecv) even with no track to send, so a
// browser would fire track and stream for media that never comes; a
// browser answers inactive (recvonly) there. A section with a track has an
// a=msid line.
func withoutPhantomSenders(sdp string) string {
	sections := strings.SplitAfter(sdp, "\nm=")
	for i, sec := range sections {
		if i == 0 || !(strings.HasPrefix(sec, "audio") || strings.HasPrefix(sec, "video")) ||
			strings.Contains(sec, "\na=msid:") {
			continue
		}
		sec = strings.Replace(sec, "\na=sendonly\r\n", "\na=inactive\r\n", 1)
		sections[i] = strings.Replace(sec, "\na=sendrecv\r\n", "\na=recvonly\r\n", 1)
	}
	return strings.Join(sections, "")
}

// addMaxMessageSize adds a=max-message-size (RFC 8841) after a=sctp-port in
// the data section when the SDP has none, so the remote knows what this peer
// can receive.
func addMaxMessageSize(sdp string, size int) string {
	if strings.Contains(sdp, "a=max-message-size:") || !strings.Contains(sdp, "a=sctp-port:") {
		return sdp
	}
	lines := strings.SplitAfter(sdp, "\n")
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		if strings.HasPrefix(l, "a=sctp-port:") {
			b.WriteString("a=max-message-size:" + strconv.Itoa(size) + "\r\n")
		}
	}
	return b.String()
}

// remoteMaxMessageSize returns the a=max-message-size in sdp: 65,536 when
// absent (RFC 8841 section 6.1), 0 for "no limit".
func remoteMaxMessageSize(sdp string) int {
	const key = "a=max-message-size:"
	i := strings.Index(sdp, key)
	if i < 0 {
		return 65536
	}
	v := sdp[i+len(key):]
	if j := strings.IndexAny(v, "\r\n"); j >= 0 {
		v = v[:j]
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 65536
	}
	return n
}
