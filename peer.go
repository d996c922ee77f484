package simplepeer

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/datachannel"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v3"
)

// Peer is one WebRTC connection with one data channel, driven like a
// simple-peer instance. Create it with New, carry its signals to the remote
// peer, and pass the remote's signals to Signal. All methods are safe for
// concurrent use, including from inside event handlers.
type Peer struct {
	id        string
	opts      *options
	log       logging.LeveledLogger
	initiator bool
	pc        *webrtc.PeerConnection

	// The actor: one goroutine runs every op posted to ops, in order, and
	// owns the PeerConnection's negotiation state below. It never calls user
	// code and never waits for the dispatcher.
	ops       *fifo[func()]
	actorDone chan struct{}
	st        actorState

	// The dispatcher delivers events to handlers, in order (events.go).
	ev eventState

	// Lifecycle. done is closed when destruction starts (for any reason);
	// closing when the user asks for it (Close or Destroy); torn when the
	// connection is fully torn down.
	destroyOnce sync.Once
	closeOnce   sync.Once
	done        chan struct{}
	closing     chan struct{}
	torn        chan struct{}
	destroyed   atomic.Bool

	// Data path (datachannel.go, conn.go).
	mu          sync.Mutex // guards the fields below
	dc          *webrtc.DataChannel
	rwc         datachannel.ReadWriteCloser
	acked       chan struct{} // closed when the remote has the channel; nil before open
	channelName string
	connected   bool
	prebuf      []byte // Write before connect; flushed at connect
	localAddr   net.Addr
	remoteAddr  net.Addr
	sendLimit   int
	sentData    atomic.Bool // Send or Write put data on the channel

	connectedCh chan struct{} // closed at connect
	low         chan struct{} // buffered amount fell to the low mark
	wlock       chan struct{} // serializes Write calls
	rx          inbox
	rdl, wdl    deadline
	readerDone  chan struct{} // closed when the reader goroutine ends; nil before open
}

// actorState is touched only by the actor goroutine.
type actorState struct {
	pcReady, channelReady, connecting bool
	signaling                         webrtc.SignalingState

	iceComplete bool
	iceTimer    *time.Timer
	iceWaiters  []func()

	pendingCandidates []webrtc.ICECandidateInit

	isNegotiating, firstNegotiation, batchedNegotiation, queuedNegotiation bool

	media mediaState
}

// New creates a peer. Options may be nil for simple-peer's defaults. An
// initiator starts negotiating at once: set OnSignal to receive its offer
// (events that fire before their handler is set are held, so nothing is
// missed). Errors have code ERR_PC_CONSTRUCTOR, ERR_DATA_CHANNEL or
// ERR_SENDER_ALREADY_ADDED (a track given twice in Options.Tracks).
func New(o *Options) (*Peer, error) {
	opts := newOptions(o)
	if err := checkSettingEngine(&opts.settings); err != nil {
		return nil, wrapError(ErrCodePCConstructor, err)
	}
	p := &Peer{
		id:          randomHex(4)[:7],
		opts:        opts,
		log:         opts.LoggerFactory.NewLogger("simplepeer"),
		initiator:   opts.Initiator,
		ops:         newFIFO[func()](),
		actorDone:   make(chan struct{}),
		done:        make(chan struct{}),
		closing:     make(chan struct{}),
		torn:        make(chan struct{}),
		connectedCh: make(chan struct{}),
		low:         make(chan struct{}, 1),
		wlock:       make(chan struct{}, 1),
		sendLimit:   maxMessageSize,
	}
	p.st.firstNegotiation = true
	p.st.signaling = webrtc.SignalingStateStable
	p.st.media.init()
	p.ev.init()
	p.rx.init()
	p.rdl.init()
	p.wdl.init()

	api, err := p.newAPI()
	if err != nil {
		return nil, wrapError(ErrCodePCConstructor, err)
	}
	p.pc, err = api.NewPeerConnection(opts.config)
	if err != nil {
		return nil, wrapError(ErrCodePCConstructor, err)
	}
	p.watchPeerConnection()

	if p.initiator || isNegotiated(opts.channel) {
		name := opts.ChannelName
		if name == "" && p.initiator {
			name = randomHex(20)
		}
		init := opts.channel
		dc, err := p.pc.CreateDataChannel(name, &init)
		if err != nil {
			_ = p.pc.Close()
			return nil, wrapError(ErrCodeDataChannel, err)
		}
		p.setupData(dc)
	}
	for _, t := range opts.Tracks {
		if err := p.addTrack(t); err != nil {
			_ = p.pc.Close()
			return nil, err
		}
	}

	// One batch with the tracks' requests, as simple-peer's constructor
	// does; safe here because the actor has not started.
	p.needsNegotiation()
	go p.dispatchLoop()
	go p.actorLoop()
	p.log.Debugf("%s new peer (initiator: %v)", p.id, p.initiator)
	return p, nil
}

func isNegotiated(c webrtc.DataChannelInit) bool {
	return c.Negotiated != nil && *c.Negotiated
}

func (p *Peer) newAPI() (*webrtc.API, error) {
	me := p.opts.MediaEngine
	reg := &interceptor.Registry{}
	if me == nil {
		me = &webrtc.MediaEngine{}
		if err := me.RegisterDefaultCodecs(); err != nil {
			return nil, err
		}
		if err := webrtc.RegisterDefaultInterceptors(me, reg); err != nil {
			return nil, err
		}
	}
	return webrtc.NewAPI(
		webrtc.WithSettingEngine(p.opts.settings),
		webrtc.WithMediaEngine(me),
		webrtc.WithInterceptorRegistry(reg),
	), nil
}

// watchPeerConnection routes Pion's callbacks to the actor. Some run
// synchronously on Pion's goroutines (ICE), so they only post.
func (p *Peer) watchPeerConnection() {
	pc := p.pc
	pc.OnICEConnectionStateChange(func(webrtc.ICEConnectionState) { p.post(p.onICEStateChange) })
	pc.OnICEGatheringStateChange(func(webrtc.ICEGathererState) { p.post(p.onICEStateChange) })
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateFailed {
			p.post(func() { p.destroyNow(&Error{Code: ErrCodeConnectionFailure, Err: ErrConnectionFailed}) })
		}
	})
	pc.OnICECandidate(func(c *webrtc.ICECandidate) { p.post(func() { p.onICECandidate(c) }) })
	pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) { p.post(func() { p.onTrack(t, r) }) })
	// The SCTP association ends when the remote closes its connection: a
	// plain close, even when the data channel never arrived here (Pion
	// stops accepting channels once one fails to open).
	// When the channel is open, its reader sees the end itself, after it has
	// drained every message the remote sent: closing here would drop them.
	// That holds too when Pion has opened the channel but our open handler
	// has not run yet: it is on its way (Pion calls it once the channel is
	// open), and its reader will drain what arrived before the end.
	pc.SCTP().OnClose(func(err error) {
		p.post(func() {
			p.mu.Lock()
			reading, dc := p.rwc != nil, p.dc
			p.mu.Unlock()
			p.log.Debugf("%s SCTP association closed: %v", p.id, err)
			opening := dc != nil && dc.ReadyState() == webrtc.DataChannelStateOpen
			if !reading && !opening {
				p.destroyNow(nil)
			}
		})
	})
	if !p.initiator && !isNegotiated(p.opts.channel) {
		pc.OnDataChannel(func(dc *webrtc.DataChannel) {
			p.watchBuffered(dc) // before Pion opens it: see watchBuffered
			p.post(func() { p.setupData(dc) })
		})
	}
}

// post queues op for the actor. Ops posted after teardown are dropped.
func (p *Peer) post(op func()) { p.ops.push(op) }

// call runs op on the actor and returns its error, or ERR_DESTROYED when the
// peer is torn down before op runs.
func (p *Peer) call(op func() error) error {
	res := make(chan error, 1)
	if !p.ops.push(func() { res <- op() }) {
		return errDestroyed()
	}
	select {
	case err := <-res:
		return err
	case <-p.actorDone:
		select {
		case err := <-res:
			return err
		default:
			return errDestroyed()
		}
	}
}

func (p *Peer) actorLoop() {
	defer close(p.actorDone)
	for range p.ops.ready() {
		for _, op := range p.ops.take() {
			op()
			if p.isTornDown() {
				p.ops.close()
				return
			}
		}
	}
}

func (p *Peer) isTornDown() bool {
	select {
	case <-p.torn:
		return true
	default:
		return false
	}
}

func errDestroyed() error {
	return &Error{Code: ErrCodeDestroyed, Err: net.ErrClosed}
}

// Destroy tears the connection down and emits error (when err is non-nil)
// and then close, once. Destroy(nil) is Close: data already written is
// flushed first. With a non-nil err, writes stop at once and the teardown
// waits at most 1 s for the remote to acknowledge what was already sent,
// so that it learns of the close. Safe to call repeatedly and from any
// goroutine, including event handlers; it returns when the connection is
// closed (the close event follows on the event goroutine).
func (p *Peer) Destroy(err error) {
	if err == nil {
		_ = p.Close()
		return
	}
	p.beginClose()
	p.destroy(err)
	<-p.torn
}

// Close flushes data written with Write or Send (waiting up to 5 s for the
// remote to acknowledge it), then destroys the peer and emits close. It is
// Destroy(nil), implements io.Closer and net.Conn, always returns nil and is
// safe to repeat.
func (p *Peer) Close() error {
	p.beginClose()
	p.flush(closeFlushTimeout)
	p.destroy(nil)
	<-p.torn
	return nil
}

// beginClose stops new reads and writes and wakes blocked ones.
func (p *Peer) beginClose() {
	p.closeOnce.Do(func() {
		close(p.closing)
		p.rx.closeLocal()
	})
}

// destroy starts teardown from any goroutine but the actor's.
func (p *Peer) destroy(err error) {
	p.destroyOnce.Do(func() {
		p.destroyed.Store(true)
		close(p.done)
		p.log.Debugf("%s destroying (error: %v)", p.id, err)
		if !p.ops.push(func() { p.linger(); p.teardown(err) }) {
			// The actor is gone only after a teardown ran.
			return
		}
	})
}

// destroyNow destroys from the actor goroutine: teardown runs inline.
func (p *Peer) destroyNow(err error) {
	p.destroyOnce.Do(func() {
		p.destroyed.Store(true)
		close(p.done)
		p.log.Debugf("%s destroying (error: %v)", p.id, err)
		p.teardown(err)
	})
}

// linger waits, briefly, until the remote has acknowledged what this peer
// already sent, before a user-requested teardown. Pion closes the SCTP
// association without an ABORT, so a remote that has not yet acknowledged
// the channel's open message (the initiator connects one round trip before
// the remote has its channel) would otherwise never learn of the close and
// wait for ICE to time out. Failures skip this: the transport is gone.
func (p *Peer) linger() {
	timer := time.NewTimer(lingerTimeout)
	defer timer.Stop()
	p.waitDelivered(timer.C, nil) // done is closed already: no stop
}

// teardown runs on the actor: close channel and connection, wait for the
// reader, then emit error and close.
func (p *Peer) teardown(err error) {
	if p.isTornDown() {
		return
	}
	if p.st.iceTimer != nil {
		p.st.iceTimer.Stop()
	}
	p.mu.Lock()
	rwc, dc, readerDone := p.rwc, p.dc, p.readerDone
	p.connected = false
	p.mu.Unlock()
	if rwc != nil {
		_ = rwc.Close()
	} else if dc != nil {
		_ = dc.Close()
	}
	if cerr := p.pc.GracefulClose(); cerr != nil {
		p.log.Debugf("%s close: %v", p.id, cerr)
	}
	if readerDone != nil {
		<-readerDone
	}
	p.st.media.stop()
	if err != nil {
		p.emit(event{kind: evError, err: err})
	}
	p.emit(event{kind: evClose})
	close(p.torn)
}

// ID returns a short random identifier, handy in logs.
func (p *Peer) ID() string { return p.id }

// Initiator reports whether this peer makes the offers.
func (p *Peer) Initiator() bool { return p.initiator }

// ChannelName returns the data channel label: the initiator's choice, or the
// remote's once the channel arrives on a non-initiator.
func (p *Peer) ChannelName() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.channelName
}

// Connected reports whether connect has fired and the peer is not yet
// destroyed.
func (p *Peer) Connected() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.connected && !p.destroyed.Load()
}

// Destroyed reports whether the peer has been destroyed (or is being).
func (p *Peer) Destroyed() bool { return p.destroyed.Load() }

// GetStats returns Pion's statistics for the connection.
func (p *Peer) GetStats() webrtc.StatsReport { return p.pc.GetStats() }

// PeerConnection returns the underlying Pion connection, for what this API
// does not cover. Changing its negotiation state behind the Peer's back
// (descriptions, handlers) breaks the Peer.
func (p *Peer) PeerConnection() *webrtc.PeerConnection { return p.pc }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails: crypto/rand aborts the program instead
	return hex.EncodeToString(b)
}
