package simplepeer

import (
	"sync"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v3"
)

// Event delivery. The actor and the reader push events; one dispatcher
// goroutine per peer pops them and calls the handlers, never holding a lock.
// An event whose handler is not set yet is held, per kind, and delivered
// when the handler is set: state changes keep only the latest, other kinds
// at most maxHeld events. Received data is routed by the reader (inbox.go):
// with no OnData handler it goes to Read without passing through here.
// Nothing is delivered after close.

// maxHeld bounds the events held per kind for a handler that is not set;
// past it the oldest are dropped. A peer's own signals (one description per
// negotiation plus its candidates) stay far below it.
const maxHeld = 1024

type eventKind int

const (
	evSignal eventKind = iota
	evConnect
	evData
	evError
	evClose
	evTrack
	evStream
	evNegotiated
	evICEState
	evSignalingState
	evRTCP
	evTrackEnded
	numEventKinds
	evFlush // a handler was set: deliver what was held for ev.flush
)

type event struct {
	kind      eventKind
	flush     eventKind
	signal    Signal
	data      []byte
	err       error
	track     *webrtc.TrackRemote
	receiver  *webrtc.RTPReceiver
	stream    *Stream
	ice       webrtc.ICEConnectionState
	gathering webrtc.ICEGatheringState
	signaling webrtc.SignalingState
	sender    *webrtc.RTPSender
	rtcp      []rtcp.Packet
}

type handlers struct {
	signal     func(Signal)
	connect    func()
	data       func([]byte)
	err        func(error)
	close      func()
	track      func(*webrtc.TrackRemote, *webrtc.RTPReceiver)
	stream     func(*Stream)
	negotiated func()
	iceState   func(webrtc.ICEConnectionState, webrtc.ICEGatheringState)
	signaling  func(webrtc.SignalingState)
	rtcp       func(*webrtc.RTPSender, []rtcp.Packet)
	trackEnded func(*webrtc.TrackRemote)
}

type eventState struct {
	queue *fifo[event]
	done  chan struct{} // closed when the dispatcher exits

	dataHandlerSet atomic.Bool  // h.data != nil, for the reader
	rtcpHandlerSet atomic.Bool  // h.rtcp != nil, for the RTCP readers
	rtcpQueued     atomic.Int32 // RTCP events queued, at most maxQueuedRTCP

	mu     sync.Mutex // guards the fields below
	h      handlers
	held   [numEventKinds][]event
	closed bool // close was delivered: drop everything after it
	exited bool // the dispatcher is gone
}

// keepsLatest reports whether only the newest held event of kind matters.
func keepsLatest(kind eventKind) bool {
	return kind == evICEState || kind == evSignalingState || kind == evNegotiated
}

// hold keeps ev until its handler is set. The caller holds e.mu.
func (e *eventState) hold(ev event) {
	held := e.held[ev.kind]
	switch {
	case keepsLatest(ev.kind):
		held = held[:0]
	case len(held) >= maxHeld:
		held = append(held[:0], held[1:]...)
	}
	e.held[ev.kind] = append(held, ev)
}

func (e *eventState) init() {
	e.queue = newFIFO[event]()
	e.done = make(chan struct{})
}

// emit queues an event for the dispatcher.
func (p *Peer) emit(ev event) { p.ev.queue.push(ev) }

// setHandler stores a handler under the lock (set), then has the held events
// of that kind delivered: by the dispatcher while it runs, so they stay on
// its goroutine, or right here once it has exited.
func (p *Peer) setHandler(kind eventKind, set func(h *handlers)) {
	if !p.usable() {
		return
	}
	e := &p.ev
	e.mu.Lock()
	set(&e.h)
	if !e.exited {
		e.queue.push(event{kind: evFlush, flush: kind})
		e.mu.Unlock()
		return
	}
	e.mu.Unlock()
	p.deliverHeld(kind)
}

// deliverHeld delivers the events held for kind. Once the dispatcher has
// exited (the peer has closed), only a held error and close are still news;
// the rest are dropped, so that nothing follows close.
func (p *Peer) deliverHeld(kind eventKind) {
	e := &p.ev
	e.mu.Lock()
	held := e.held[kind]
	e.held[kind] = nil
	if e.exited && kind != evError && kind != evClose {
		held = nil
	}
	e.mu.Unlock()
	for _, ev := range held {
		p.deliver(ev)
	}
}

func (p *Peer) dispatchLoop() {
	e := &p.ev
	defer close(e.done)
	p.life.dispatcherID.Store(goroutineID())
	var batch []event
	for range e.queue.ready() {
		batch = e.queue.take(batch)
		for _, ev := range batch {
			if ev.kind == evFlush {
				p.deliverHeld(ev.flush)
				continue
			}
			p.deliver(ev)
			if ev.kind == evClose {
				p.exitDispatcher()
				return
			}
		}
	}
}

// exitDispatcher stops the queue; flush requests still queued are served
// here, and by setHandler's caller from now on.
func (p *Peer) exitDispatcher() {
	e := &p.ev
	e.mu.Lock()
	e.exited = true
	rest := e.queue.close()
	e.mu.Unlock()
	for _, ev := range rest {
		if ev.kind == evFlush {
			p.deliverHeld(ev.flush)
		}
	}
}

// deliver calls the handler for ev, or holds ev when there is none.
func (p *Peer) deliver(ev event) {
	e := &p.ev
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	h := e.h
	if !h.has(ev.kind) {
		switch ev.kind {
		case evData:
			e.mu.Unlock()
			p.inbox.unhandled(ev.data)
		case evRTCP: // only queued while a handler is set; it was unset
			e.mu.Unlock()
			e.rtcpQueued.Add(-1)
		default:
			e.hold(ev)
			e.mu.Unlock()
		}
		return
	}
	if held := e.held[ev.kind]; len(held) > 0 {
		// The handler was set after these were held and before its flush
		// request came up in the queue: they are older than ev, so they go
		// first.
		e.held[ev.kind] = nil
		e.mu.Unlock()
		for _, h := range held {
			p.deliver(h)
		}
		p.deliver(ev)
		return
	}
	if ev.kind == evClose {
		e.closed = true
		e.held = [numEventKinds][]event{}
	}
	e.mu.Unlock()
	h.call(&ev)
	switch ev.kind {
	case evData:
		p.inbox.handled(ev.data)
	case evRTCP:
		e.rtcpQueued.Add(-1)
	}
}

// has reports whether a handler for kind is set.
func (h *handlers) has(kind eventKind) bool {
	switch kind {
	case evSignal:
		return h.signal != nil
	case evConnect:
		return h.connect != nil
	case evData:
		return h.data != nil
	case evError:
		return h.err != nil
	case evClose:
		return h.close != nil
	case evTrack:
		return h.track != nil
	case evStream:
		return h.stream != nil
	case evNegotiated:
		return h.negotiated != nil
	case evICEState:
		return h.iceState != nil
	case evSignalingState:
		return h.signaling != nil
	case evRTCP:
		return h.rtcp != nil
	case evTrackEnded:
		return h.trackEnded != nil
	}
	return false
}

// call calls the handler for ev, which has checked it is set. (A switch,
// not a closure: a closure per event costs two allocations per message.)
func (h *handlers) call(ev *event) {
	switch ev.kind {
	case evSignal:
		h.signal(ev.signal)
	case evConnect:
		h.connect()
	case evData:
		h.data(ev.data)
	case evError:
		h.err(ev.err)
	case evClose:
		h.close()
	case evTrack:
		h.track(ev.track, ev.receiver)
	case evStream:
		h.stream(ev.stream)
	case evNegotiated:
		h.negotiated()
	case evICEState:
		h.iceState(ev.ice, ev.gathering)
	case evSignalingState:
		h.signaling(ev.signaling)
	case evRTCP:
		h.rtcp(ev.sender, ev.rtcp)
	case evTrackEnded:
		h.trackEnded(ev.track)
	}
}

// Handlers. Each setter replaces the previous handler; nil unsets it. All
// handlers of a peer run on one goroutine, one at a time, in the order the
// events happened, and never while the library holds a lock: a handler may
// call any method of the peer, including Destroy. An event that fires
// before its handler is set is held and delivered when it is set. A slow
// handler delays the events after it, so hand long work to a goroutine.

// OnSignal sets the handler for signal data to carry to the remote peer and
// pass to its Signal method (simple-peer's 'signal' event).
func (p *Peer) OnSignal(f func(Signal)) {
	p.setHandler(evSignal, func(h *handlers) { h.signal = f })
}

// OnConnect sets the handler called once, when ICE is connected and the data
// channel is open; LocalAddr and RemoteAddr are known by then. It comes
// before any data.
func (p *Peer) OnConnect(f func()) {
	p.setHandler(evConnect, func(h *handlers) { h.connect = f })
}

// OnData sets the handler for each message received, text or binary. The
// slice is the handler's to keep. While no OnData handler is set, messages
// go to Read instead; each message goes to exactly one of the two.
func (p *Peer) OnData(f func([]byte)) {
	p.setHandler(evData, func(h *handlers) {
		h.data = f
		p.ev.dataHandlerSet.Store(f != nil)
	})
}

// OnError sets the handler for the error a peer is destroyed with. It is
// followed by close.
func (p *Peer) OnError(f func(error)) {
	p.setHandler(evError, func(h *handlers) { h.err = f })
}

// OnClose sets the handler called once when the peer is destroyed, by either
// side or by a failure. Nothing is delivered after it.
func (p *Peer) OnClose(f func()) {
	p.setHandler(evClose, func(h *handlers) { h.close = f })
}

// OnNegotiated sets the handler called each time a negotiation completes
// (the signaling state is stable again with no negotiation queued).
func (p *Peer) OnNegotiated(f func()) {
	p.setHandler(evNegotiated, func(h *handlers) { h.negotiated = f })
}

// OnICEStateChange sets the handler for ICE connection and gathering state
// changes (simple-peer's 'iceStateChange').
func (p *Peer) OnICEStateChange(f func(webrtc.ICEConnectionState, webrtc.ICEGatheringState)) {
	p.setHandler(evICEState, func(h *handlers) { h.iceState = f })
}

// OnSignalingStateChange sets the handler for signaling state changes
// (simple-peer's 'signalingStateChange').
func (p *Peer) OnSignalingStateChange(f func(webrtc.SignalingState)) {
	p.setHandler(evSignalingState, func(h *handlers) { h.signaling = f })
}
