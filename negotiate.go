package simplepeer

import (
	"time"

	"github.com/pion/webrtc/v3"
)

// This file is the negotiation state machine. Signal and Negotiate run on
// the caller's goroutine and hand their work to the actor; everything else
// here runs on the actor goroutine. It mirrors simple-peer: only the initiator offers; the
// non-initiator asks for offers with a renegotiate signal; a change during a
// negotiation is queued until the signaling state is stable again.

// Signal processes a signal message from the remote peer: an offer, answer,
// candidate, renegotiate request or transceiver request, in any order
// (candidates that arrive before the description are queued).
//
// Input it cannot use returns an *Error with code ERR_SIGNALING and leaves
// the peer as it was: an unknown type, a missing sdp or candidate, an offer
// sent to the initiator, the same offer again, an unexpected answer, an
// unparseable candidate, an SDP over 1 MiB, a candidate over 4 KiB, more
// than 1,000 candidates for one ICE session. Candidates with an mDNS
// (.local) address are passed to Pion, which resolves them; a failure to
// add one is ignored, as in simple-peer. Input the WebRTC state machine
// rejects (a malformed SDP) destroys the peer with the matching code
// (ERR_SET_REMOTE_DESCRIPTION, ...), as simple-peer does, and that error is
// returned. After destroy it returns ERR_DESTROYED.
func (p *Peer) Signal(s Signal) error {
	if p.Destroyed() {
		if !p.usable() {
			return errNotCreated()
		}
		return errDestroyed()
	}
	t, err := s.normalize()
	if err != nil {
		return err
	}
	if t == SignalCandidate {
		end, err := checkCandidate(s.Candidate)
		if err != nil {
			return err
		}
		if end {
			return nil // end-of-candidates is never needed: see SPEC
		}
		// Pion gets the line checkCandidate parsed (no "a=", no spaces
		// around it), not the caller's, which Pion may read differently.
		c := *s.Candidate
		c.Candidate = candidateLine(c.Candidate)
		s.Candidate = &c
	}
	return p.call(func() error { return p.handleSignal(s, t) })
}

func (p *Peer) handleSignal(s Signal, t SignalType) error {
	if p.Destroyed() {
		return errDestroyed()
	}
	switch t {
	case SignalRenegotiate:
		if p.initiator {
			p.log.Debugf("%s got request to renegotiate (ICE restart: %v)", p.id, s.ICERestart)
			if s.ICERestart {
				p.actor.iceRestart = true
			}
			p.needsNegotiation()
		}
	case SignalTransceiverRequest:
		if p.initiator {
			return p.addTransceiverRequest(s.TransceiverRequest)
		}
	case SignalCandidate:
		if p.actor.remoteCandidates >= maxRemoteCandidates {
			return newError(ErrCodeSignaling, "%w: more than %d for this ICE session", ErrTooManyCandidates, maxRemoteCandidates)
		}
		p.actor.remoteCandidates++
		if p.pc.RemoteDescription() != nil {
			p.addICECandidate(*s.Candidate)
		} else {
			p.actor.pendingCandidates = append(p.actor.pendingCandidates, *s.Candidate)
		}
	case SignalOffer:
		if p.initiator {
			return newError(ErrCodeSignaling, "%w: the initiator makes the offers and cannot accept one", ErrInvalidSignal)
		}
		if rd := p.pc.RemoteDescription(); rd != nil && rd.Type == webrtc.SDPTypeOffer && sameSession(rd.SDP, s.SDP) {
			// The same offer again (a signalling relay that retries):
			// answering it anew would be a second answer the initiator
			// refuses, and Pion would start a new ICE session for it.
			return newError(ErrCodeSignaling, "%w: this offer was already applied (same o= line); ignored", ErrInvalidSignal)
		}
		if err := p.setRemote(webrtc.SDPTypeOffer, s.SDP); err != nil {
			return err
		}
		p.createAnswer()
		if p.Destroyed() {
			// Pion could not answer this offer: the peer is destroyed
			// with ERR_CREATE_ANSWER (or ERR_SET_LOCAL_DESCRIPTION).
			if p.life.err != nil {
				return p.life.err
			}
			return errDestroyed()
		}
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
		p.destroyOnActor(e)
		return e
	}
	p.updateSendLimit(sdp)
	p.endTracks(sdp)
	if ufrag := iceUfrag(sdp); ufrag != p.actor.remoteUfrag {
		// A new ICE session (an ICE restart): its candidates count anew;
		// those queued before this description belong to it.
		if p.actor.remoteUfrag != "" && typ == webrtc.SDPTypeOffer {
			p.newGathering() // Pion restarted ICE and gathers again
		}
		p.actor.remoteUfrag = ufrag
		p.actor.remoteCandidates = len(p.actor.pendingCandidates)
	}
	p.syncSignalingState()
	for _, c := range p.actor.pendingCandidates {
		p.addICECandidate(c)
	}
	p.actor.pendingCandidates = nil
	return nil
}

// addICECandidate hands a remote candidate to Pion. As in simple-peer, a
// failure destroys the peer, except for an mDNS candidate, which a peer
// may be unable to resolve.
func (p *Peer) addICECandidate(c webrtc.ICECandidateInit) {
	if p.Destroyed() {
		return
	}
	if err := p.pc.AddICECandidate(c); err != nil {
		if isMDNSCandidate(candidateLine(c.Candidate)) {
			p.log.Debugf("%s ignoring mDNS candidate Pion cannot add: %v", p.id, err)
			return
		}
		p.destroyOnActor(wrapError(ErrCodeAddICECandidate, err))
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
	if p.actor.batchedNegotiation {
		return
	}
	p.actor.batchedNegotiation = true
	run := func() {
		p.actor.batchedNegotiation = false
		if p.initiator || !p.actor.firstNegotiation {
			p.negotiate()
		}
		p.actor.firstNegotiation = false
	}
	if p.actor.firstNegotiation {
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
		if p.Destroyed() {
			return errDestroyed()
		}
		p.negotiate()
		return nil
	})
}

func (p *Peer) negotiate() {
	if p.Destroyed() {
		return
	}
	switch {
	case p.actor.isNegotiating:
		p.actor.queuedNegotiation = true
		p.log.Debugf("%s already negotiating, queueing", p.id)
	case p.initiator:
		p.log.Debugf("%s start negotiation", p.id)
		p.post(p.createOffer)
	default:
		p.log.Debugf("%s requesting negotiation from initiator", p.id)
		p.emit(event{kind: evSignal, signal: Signal{Type: SignalRenegotiate, Renegotiate: true, ICERestart: p.actor.iceRestart}})
		p.actor.iceRestart = false
	}
	p.actor.isNegotiating = true
}

func (p *Peer) createOffer() {
	opts := p.opts.OfferOptions
	if p.actor.iceRestart {
		p.actor.iceRestart = false
		o := webrtc.OfferOptions{ICERestart: true}
		if opts != nil {
			o.OfferAnswerOptions = opts.OfferAnswerOptions
		}
		opts = &o
		p.newGathering()
	}
	p.describe(func() (webrtc.SessionDescription, error) { return p.pc.CreateOffer(opts) },
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
	if p.Destroyed() {
		return
	}
	desc, err := create()
	if err != nil {
		p.destroyOnActor(wrapError(code, err))
		return
	}
	if err := p.pc.SetLocalDescription(desc); err != nil {
		p.destroyOnActor(wrapError(ErrCodeSetLocalDescription, err))
		return
	}
	p.syncSignalingState()
	p.whenICEComplete(then)
}

// sendLocalDescription signals the current local description, edited for the
// wire: trickle option removed when trickle is off, our max-message-size
// added, then the user's SDPTransform.
func (p *Peer) sendLocalDescription() {
	if p.Destroyed() {
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
	if p.opts.trickle || p.actor.iceComplete {
		f()
		return
	}
	p.actor.iceWaiters = append(p.actor.iceWaiters, f)
}

func (p *Peer) setICEComplete() {
	if p.actor.iceComplete {
		return
	}
	p.actor.iceComplete = true
	if p.actor.iceTimer != nil {
		p.actor.iceTimer.Stop() // it would keep the peer reachable until it expires
	}
	waiters := p.actor.iceWaiters
	p.actor.iceWaiters = nil
	for _, f := range waiters {
		f()
	}
}

func (p *Peer) onICECandidate(c *webrtc.ICECandidate) {
	if p.Destroyed() {
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
	if p.actor.iceTimer == nil && !p.actor.iceComplete {
		p.actor.iceTimer = time.AfterFunc(p.opts.ICECompleteTimeout, func() {
			p.post(func() {
				if !p.Destroyed() {
					p.log.Debugf("%s ICE gathering timed out, signalling what we have", p.id)
					p.setICEComplete()
				}
			})
		})
	}
}

func (p *Peer) onICEStateChange(ice webrtc.ICEConnectionState, gathering webrtc.ICEGatheringState) {
	if p.Destroyed() {
		return
	}
	p.actor.ice, p.actor.gathering = ice, gathering
	p.emit(event{kind: evICEState, ice: ice, gathering: gathering})
	p.watchDisconnected(ice)
	switch ice {
	case webrtc.ICEConnectionStateConnected, webrtc.ICEConnectionStateCompleted:
		p.actor.iceReady = true
		p.maybeReady()
		p.refreshAddrs()
	case webrtc.ICEConnectionStateFailed:
		p.destroyOnActor(&Error{Code: ErrCodeICEConnectionFailure, Err: ErrICEFailed})
	case webrtc.ICEConnectionStateClosed:
		p.destroyOnActor(&Error{Code: ErrCodeICEConnectionClosed, Err: ErrICEClosed})
	}
}

// syncSignalingState reads the signaling state after a description is set.
// Pion reports signaling changes on fresh goroutines, out of order, so the
// actor tracks the state itself.
func (p *Peer) syncSignalingState() {
	cur := p.pc.SignalingState()
	if cur == p.actor.signaling {
		return
	}
	p.actor.signaling = cur
	if cur == webrtc.SignalingStateStable {
		p.actor.isNegotiating = false
		if p.actor.queuedNegotiation {
			p.actor.queuedNegotiation = false
			p.needsNegotiation()
		} else {
			p.emit(event{kind: evNegotiated})
		}
	}
	p.emit(event{kind: evSignalingState, signaling: cur})
}
