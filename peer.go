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
	// owns the PeerConnection's negotiation state in actor. It never calls
	// user code and never waits for the dispatcher.
	ops       *fifo[func()]
	actorDone chan struct{}
	actor     actorState

	ev   eventState // the dispatcher delivers events to handlers (events.go)
	life lifecycle  // closing, dying, torn (lifecycle.go)

	// Data path (datachannel.go, inbox.go, conn.go).
	mu          sync.Mutex // guards the fields below
	dc          *webrtc.DataChannel
	channel     datachannel.ReadWriteCloser // dc, detached; nil before open
	acked       chan struct{}               // closed when the remote has the channel; nil before open
	readerDone  chan struct{}               // closed when readLoop ends; nil before open
	channelName string
	connected   bool
	prebuf      []byte // Write before connect; flushed at connect
	localAddr   net.Addr
	remoteAddr  net.Addr
	sendLimit   int

	sentData           atomic.Bool   // Send or Write put data on the channel
	remoteChannelTaken atomic.Bool   // a non-initiator has its channel from the remote
	connectedCh        chan struct{} // closed at connect
	bufferedLow        notifier      // the unacknowledged amount fell to the low mark
	window             sendWindow    // Write and Send's adaptive limit on unacknowledged bytes
	writeLock          chan struct{} // serializes Write calls
	inbox              inbox
	refused            drains // the remote's extra channels being drained
	readDeadline       deadline
	writeDeadline      deadline
	stats              counters // for Summary
}

// actorState is touched only by the actor goroutine.
type actorState struct {
	iceReady, channelReady, connectEmitted bool
	signaling                              webrtc.SignalingState
	ice                                    webrtc.ICEConnectionState // as last reported by Pion
	gathering                              webrtc.ICEGatheringState  // as last reported by Pion

	iceComplete bool
	iceTimer    *time.Timer
	iceWaiters  []func()

	pendingCandidates []webrtc.ICECandidateInit
	remoteUfrag       string // of the remote description, to count its candidates
	remoteCandidates  int    // accepted for remoteUfrag

	isNegotiating, firstNegotiation, batchedNegotiation, queuedNegotiation bool

	iceRestart   bool        // the next offer (or renegotiate request) restarts ICE
	restartTimer *time.Timer // AutoRestartICE: runs while ICE is disconnected

	media mediaState
}

// New creates a peer. Options may be nil for simple-peer's defaults. An
// initiator starts negotiating at once: set OnSignal to receive its offer
// (events that fire before their handler is set are held, so nothing is
// missed). Errors have code ERR_PC_CONSTRUCTOR (among them a SettingEngine
// that disables fingerprint verification: ErrInsecureSettings),
// ERR_DATA_CHANNEL (a negotiated channel without an ID), ERR_ADD_TRANSCEIVER
// (a nil track in Options.Tracks: ErrNilTrack) or ERR_SENDER_ALREADY_ADDED
// (a track given twice in Options.Tracks).
func New(o *Options) (*Peer, error) {
	opts := newOptions(o)
	if err := checkSettingEngine(&opts.settings); err != nil {
		return nil, wrapError(ErrCodePCConstructor, err)
	}
	if isNegotiated(opts.channel) && opts.channel.ID == nil {
		// Each side would pick its own stream ID, and the channel would
		// never open (the W3C API refuses this too).
		return nil, newError(ErrCodeDataChannel, "a negotiated channel needs ChannelConfig.ID, the same on both peers")
	}
	p := &Peer{
		id:          randomHex(4)[:7],
		opts:        opts,
		log:         opts.LoggerFactory.NewLogger("simplepeer"),
		initiator:   opts.Initiator,
		ops:         newFIFO[func()](),
		actorDone:   make(chan struct{}),
		connectedCh: make(chan struct{}),
		writeLock:   make(chan struct{}, 1),
		sendLimit:   maxMessageSize,
	}
	// Outermost, so that it sees Pion's own format strings.
	opts.settings.LoggerFactory = countingFactory{LoggerFactory: opts.settings.LoggerFactory, c: &p.stats}
	p.actor.firstNegotiation = true
	p.actor.signaling = webrtc.SignalingStateStable
	p.actor.ice = webrtc.ICEConnectionStateNew
	p.window.init()
	p.actor.gathering = webrtc.ICEGatheringStateNew
	p.actor.media.init()
	p.ev.init()
	p.life.init()
	p.readDeadline.init()
	p.writeDeadline.init()

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
		if _, err := p.addTrack(t); err != nil {
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
		if err := registerInterceptors(me, reg, p.opts.LoggerFactory); err != nil {
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
	// Each state travels with its change: reading Pion's current state when
	// the op runs could report gathering complete before the candidates
	// gathered earlier, still queued behind it, are signalled.
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		p.post(func() { p.onICEStateChange(s, p.actor.gathering) })
	})
	pc.OnICEGatheringStateChange(func(s webrtc.ICEGathererState) {
		g := webrtc.ICEGatheringStateComplete
		switch s {
		case webrtc.ICEGathererStateNew:
			g = webrtc.ICEGatheringStateNew
		case webrtc.ICEGathererStateGathering:
			g = webrtc.ICEGatheringStateGathering
		}
		p.post(func() { p.onICEStateChange(p.actor.ice, g) })
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateFailed {
			p.post(func() { p.destroyOnActor(&Error{Code: ErrCodeConnectionFailure, Err: ErrConnectionFailed}) })
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
			reading, dc := p.channel != nil, p.dc
			p.mu.Unlock()
			p.log.Debugf("%s SCTP association closed: %v", p.id, err)
			opening := dc != nil && dc.ReadyState() == webrtc.DataChannelStateOpen
			if !reading && !opening {
				p.destroyOnActor(nil)
			}
		})
	})
	// Every role listens: a channel the remote opens and nobody reads
	// would stall ours (see refuseChannel).
	pc.OnDataChannel(p.onRemoteChannel)
}

// post queues op for the actor. Ops posted after teardown are dropped.
func (p *Peer) post(op func()) { p.ops.push(op) }

// call runs op on the actor and returns its error, or ERR_DESTROYED when the
// peer is torn down before op runs.
func (p *Peer) call(op func() error) error {
	if !p.usable() {
		return errNotCreated()
	}
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
	var batch []func()
	for range p.ops.ready() {
		batch = p.ops.take(batch)
		for _, op := range batch {
			op()
			if isClosed(p.life.torn) {
				p.ops.close()
				return
			}
		}
	}
}

// ID returns a short random identifier, handy in logs.
func (p *Peer) ID() string {
	if !p.usable() {
		return ""
	}
	return p.id
}

// Initiator reports whether this peer makes the offers.
func (p *Peer) Initiator() bool { return p.usable() && p.initiator }

// ChannelName returns the data channel label: the initiator's choice, or the
// remote's once the channel arrives on a non-initiator.
func (p *Peer) ChannelName() string {
	if !p.usable() {
		return ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.channelName
}

// Connected reports whether connect has fired and the peer is not yet
// destroyed.
func (p *Peer) Connected() bool {
	if !p.usable() {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.connected && !p.Destroyed()
}

// GetStats returns Pion's statistics for the connection (an empty report
// for a Peer not made by New).
func (p *Peer) GetStats() webrtc.StatsReport {
	if !p.usable() {
		return webrtc.StatsReport{}
	}
	return p.pc.GetStats()
}

// PeerConnection returns the underlying Pion connection, for what this API
// does not cover (nil for a Peer not made by New). Changing its negotiation
// state behind the Peer's back (descriptions, handlers) breaks the Peer.
func (p *Peer) PeerConnection() *webrtc.PeerConnection {
	if !p.usable() {
		return nil
	}
	return p.pc
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails: crypto/rand aborts the program instead
	return hex.EncodeToString(b)
}
