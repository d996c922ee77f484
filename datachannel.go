package simplepeer

import (
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/pion/datachannel"
	"github.com/pion/webrtc/v3"
)

const (
	// maxMessageSize is the largest message this peer receives and sends. It
	// is what a remote assumes when the SDP names no a=max-message-size
	// (RFC 8841); we advertise it explicitly and read with a buffer this
	// big. Pion v3's SCTP refuses to send more, whatever the remote allows.
	maxMessageSize = 65536

	// chunkSize bounds the messages Write makes: 16 KiB is what every
	// browser accepts (simple-peer's stream interop size).
	chunkSize = 16 << 10

	// preConnectLimit is how much Write buffers before connect
	// (simple-peer's MAX_BUFFERED_AMOUNT); more blocks until connect.
	preConnectLimit = 64 << 10

	// maxRefusedDrains bounds the remote's extra data channels that are
	// drained at once (see refuseChannel).
	maxRefusedDrains = 16
)

// setupData takes the data channel, created by us or announced by the
// remote. Runs on the actor (or in New before the actor starts).
func (p *Peer) setupData(dc *webrtc.DataChannel) {
	p.mu.Lock()
	if p.dc != nil || p.Destroyed() {
		p.mu.Unlock()
		return
	}
	p.dc = dc
	p.channelName = dc.Label()
	p.mu.Unlock()

	if p.initiator || isNegotiated(p.opts.channel) {
		p.watchBuffered(dc) // a channel of ours: Pion opens it much later
	}
	dc.OnOpen(func() {
		// Detach must happen inside OnOpen; the rest belongs to the actor.
		p.log.Debugf("%s channel %q open", p.id, dc.Label())
		ch, err := dc.Detach()
		p.post(func() { p.onChannelOpen(ch, err) })
	})
}

// onRemoteChannel takes a data channel the remote opened in-band. The first
// one a non-initiator sees is the peer's channel (simple-peer's); any other
// is refused. Runs on Pion's goroutine, which waits for it before it opens
// the channel.
func (p *Peer) onRemoteChannel(dc *webrtc.DataChannel) {
	if p.initiator || isNegotiated(p.opts.channel) || !p.remoteChannelTaken.CompareAndSwap(false, true) {
		p.refuseChannel(dc)
		return
	}
	p.watchBuffered(dc) // before Pion opens it: see watchBuffered
	p.post(func() { p.setupData(dc) })
}

// refuseChannel closes a data channel the remote opened beyond the peer's
// own. simple-peer switches to the newest channel; we keep the first, so
// that neither Read's byte stream nor OnData's messages mix two channels.
// Closing resets our side of the stream and a compliant remote then closes
// its side; until it does, whatever it sent on that channel is read and
// discarded, because unread data would fill the SCTP receive window that
// all channels share and stall ours. At most maxRefusedDrains are drained
// at once; beyond that a channel is only closed.
func (p *Peer) refuseChannel(dc *webrtc.DataChannel) {
	p.log.Debugf("%s refusing extra data channel %q from the remote", p.id, dc.Label())
	dc.OnOpen(func() {
		ch, err := dc.Detach()
		if err != nil {
			return
		}
		_ = ch.Close()
		if !p.refused.add() {
			return
		}
		go func() {
			defer p.refused.done()
			buf := make([]byte, maxMessageSize)
			for {
				if _, _, err := ch.ReadDataChannel(buf); err != nil {
					return
				}
			}
		}()
	})
}

// drains counts the goroutines draining refused channels; teardown waits
// for them once the connection is closed (which ends their reads).
type drains struct {
	mu     sync.Mutex
	n      int
	closed bool
	wg     sync.WaitGroup
}

func (d *drains) add() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || d.n >= maxRefusedDrains {
		return false
	}
	d.n++
	d.wg.Add(1)
	return true
}

func (d *drains) done() {
	d.mu.Lock()
	d.n--
	d.mu.Unlock()
	d.wg.Done()
}

func (d *drains) closeAndWait() {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	d.wg.Wait()
}

// watchBuffered has Pion wake Write and Send (through bufferedLow) when the
// channel's unacknowledged amount falls to half the send window (window.go). Pion copies these
// settings to the channel it opens, and a setting made while it is opening
// the channel can be overwritten by that copy, leaving Write waiting for a
// wake that never comes. So it runs before Pion opens the channel: in New
// for ours, and inside Pion's OnDataChannel callback (which Pion waits for)
// for the remote's, not later on the actor.
func (p *Peer) watchBuffered(dc *webrtc.DataChannel) {
	dc.SetBufferedAmountLowThreshold(lowMark(minWindow))
	dc.OnBufferedAmountLow(p.bufferedLow.notify)
}

func (p *Peer) onChannelOpen(ch datachannel.ReadWriteCloser, err error) {
	if err != nil {
		p.destroyOnActor(wrapError(ErrCodeDataChannel, err))
		return
	}
	if p.Destroyed() {
		_ = ch.Close()
		return
	}
	// The side that opened the channel in-band may use it at once, but the
	// remote drops the channel if our stream closes before its ACK arrives
	// (Pion's accept fails); Close and Destroy wait for the ACK. The ACK
	// is read by our reader, so registering before it starts misses none.
	acked := make(chan struct{})
	if d, ok := ch.(*datachannel.DataChannel); ok && p.initiator && !isNegotiated(p.opts.channel) {
		d.OnOpen(func() { close(acked) }) // called once, on the ACK
	} else {
		close(acked)
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.channel = ch
	p.acked = acked
	p.readerDone = done
	p.mu.Unlock()
	go p.readLoop(ch, done)
	p.actor.channelReady = true
	p.maybeReady()
}

// maybeReady emits connect once ICE is connected and the channel is open,
// after resolving the selected candidate pair's addresses.
func (p *Peer) maybeReady() {
	if p.actor.connectEmitted || !p.actor.iceReady || !p.actor.channelReady || p.Destroyed() {
		return
	}
	local, remote, ok := p.selectedAddrs()
	if !ok {
		// ICE reports connected a moment before the pair is readable.
		time.AfterFunc(10*time.Millisecond, func() { p.post(p.maybeReady) })
		return
	}
	p.actor.connectEmitted = true

	p.mu.Lock()
	p.localAddr, p.remoteAddr = local, remote
	pending := p.prebuf
	p.prebuf = nil
	var err error
	if len(pending) > 0 {
		p.sentData.Store(true)
	}
	for len(pending) > 0 && err == nil {
		n := min(len(pending), chunkSize)
		if _, err = p.channel.WriteDataChannel(pending[:n], false); err == nil {
			p.stats.sent(n)
		}
		pending = pending[n:]
	}
	if err != nil {
		p.mu.Unlock()
		p.destroyOnActor(wrapError(ErrCodeDataChannel, err))
		return
	}
	p.connected = true
	// connect is queued before the reader may route data: it waits for
	// connectedCh.
	p.emit(event{kind: evConnect})
	close(p.connectedCh)
	p.mu.Unlock()
	p.log.Debugf("%s connect local: %s remote: %s", p.id, local, remote)
}

// updateSendLimit applies the remote's a=max-message-size (0: unlimited).
func (p *Peer) updateSendLimit(sdp string) {
	limit := maxMessageSize
	if n := remoteMaxMessageSize(sdp); n > 0 && n < limit {
		limit = n
	}
	p.mu.Lock()
	p.sendLimit = limit
	p.mu.Unlock()
}

// readLoop reads messages off the detached channel and routes each one,
// never before connect, to Read's buffer or to the dispatcher (inbox.go).
// When the receive budget is spent it stops reading until the consumer
// catches up. After the user's Close it keeps reading, so that the remote's
// data is acknowledged during the flush, but drops what it reads.
func (p *Peer) readLoop(ch datachannel.ReadWriteCloser, done chan struct{}) {
	defer close(done)
	buf := make([]byte, maxMessageSize)
	for {
		n, _, err := ch.ReadDataChannel(buf)
		if err != nil {
			p.post(func() { p.onChannelClosed(err) })
			return
		}
		select {
		case <-p.connectedCh:
		case <-p.life.dying:
			return
		}
		if isClosed(p.life.closing) {
			continue
		}
		p.stats.received(n)
		msg := make([]byte, n)
		copy(msg, buf[:n])
		if !p.inbox.reserve(msg, p.life.dying) {
			return
		}
		if p.inbox.route(msg, p.ev.dataHandlerSet.Load()) {
			p.emit(event{kind: evData, data: msg})
		}
	}
}

// onChannelClosed: the remote closed the channel, or the connection went
// away. That is a plain close, as in simple-peer; a message larger than we
// advertised is an error.
func (p *Peer) onChannelClosed(err error) {
	if errors.Is(err, io.ErrShortBuffer) {
		p.destroyOnActor(&Error{Code: ErrCodeDataChannel, Err: errors.Join(ErrMessageTooLarge,
			errors.New("remote sent more than a=max-message-size:"+strconv.Itoa(maxMessageSize)))})
		return
	}
	p.log.Debugf("%s data channel closed: %v", p.id, err)
	p.destroyOnActor(nil)
}

// Send sends data as one binary message. While more than the send window
// (as for Write: 64 KiB to 4 MiB) sent earlier is unacknowledged it blocks, as Write does, until the remote has
// caught up or the write deadline passes (an *Error with code
// ERR_DATA_CHANNEL wrapping os.ErrDeadlineExceeded; nothing is sent). It
// fails with ERR_DATA_CHANNEL before connect (ErrNotConnected) or when data
// is larger than the remote accepts (ErrMessageTooLarge, usually 64 KiB),
// and with ERR_DESTROYED after Close or Destroy, which also release a
// blocked Send.
func (p *Peer) Send(data []byte) error { return p.send(data, false) }

// SendString sends s as one text message: a browser receives a string. It
// blocks and fails as Send does.
func (p *Peer) SendString(s string) error { return p.send([]byte(s), true) }

func (p *Peer) send(data []byte, isString bool) error {
	if !p.usable() {
		return errNotCreated()
	}
	if p.Destroyed() || isClosed(p.life.closing) {
		return errDestroyed()
	}
	p.mu.Lock()
	ch, dc, connected, limit := p.channel, p.dc, p.connected, p.sendLimit
	p.mu.Unlock()
	if !connected {
		return &Error{Code: ErrCodeDataChannel, Err: ErrNotConnected}
	}
	if len(data) > limit {
		return newError(ErrCodeDataChannel, "%w: %d bytes, the limit is %d", ErrMessageTooLarge, len(data), limit)
	}
	if err := p.waitWindow(dc); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return &Error{Code: ErrCodeDataChannel, Err: err}
		}
		return err
	}
	p.sentData.Store(true)
	if _, err := ch.WriteDataChannel(data, isString); err != nil {
		if p.Destroyed() {
			return errDestroyed()
		}
		return wrapError(ErrCodeDataChannel, err)
	}
	p.window.sent(len(data))
	p.stats.sent(len(data))
	return nil
}

// waitWindow blocks while more than the send window (window.go) is
// unacknowledged. It returns os.ErrDeadlineExceeded when the write deadline
// passes and ERR_DESTROYED once the peer is closing.
func (p *Peer) waitWindow(dc *webrtc.DataChannel) error {
	for dc.BufferedAmount() > p.window.limit() {
		p.window.update(p, dc)
		// Take the wake-up before checking again: Pion may report the
		// low mark in between.
		wait := p.bufferedLow.wait()
		if dc.BufferedAmount() <= p.window.limit() {
			return nil
		}
		if err := p.writeWait(wait); err != nil {
			return err
		}
	}
	return nil
}

// writeWait blocks until ch is closed (nil), the write deadline passes
// (os.ErrDeadlineExceeded) or the peer is closing (ERR_DESTROYED).
func (p *Peer) writeWait(ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-p.writeDeadline.wait():
		return os.ErrDeadlineExceeded
	case <-p.life.closing:
		return errDestroyed()
	case <-p.life.dying:
		return errDestroyed()
	}
}

// BufferedAmount returns the bytes sent but not yet acknowledged by the
// remote (simple-peer's bufferSize).
func (p *Peer) BufferedAmount() uint64 {
	if !p.usable() {
		return 0
	}
	p.mu.Lock()
	dc := p.dc
	p.mu.Unlock()
	if dc == nil {
		return 0
	}
	return dc.BufferedAmount()
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// candidateAddr turns an ICE candidate into a net.Addr.
func candidateAddr(c *webrtc.ICECandidate) net.Addr {
	ip := net.ParseIP(c.Address)
	if c.Protocol == webrtc.ICEProtocolTCP {
		return &net.TCPAddr{IP: ip, Port: int(c.Port)}
	}
	if ip == nil {
		return hostAddr{network: "udp", addr: net.JoinHostPort(c.Address, strconv.Itoa(int(c.Port)))}
	}
	return &net.UDPAddr{IP: ip, Port: int(c.Port)}
}

// hostAddr is an address known by name (an mDNS candidate) or not at all.
type hostAddr struct{ network, addr string }

func (a hostAddr) Network() string { return a.network }
func (a hostAddr) String() string  { return a.addr }
