package simplepeer

import (
	"errors"
	"io"
	"net"
	"strconv"
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

	// Write blocks while more than highWater bytes are unacknowledged and
	// resumes when Pion reports the amount at or below lowWater. 64 KiB is
	// simple-peer's MAX_BUFFERED_AMOUNT. Pion counts bytes in flight, not
	// only queued ones, so this is also the sending window: larger windows
	// let Pion's unpaced bursts overflow a libwebrtc receiver's socket
	// (1 MiB: 7-543 datagrams lost per 4 MiB to Node/Chromium, ~10x
	// slower), while on loopback Go to Go 64 KiB is as fast as 1 MiB.
	highWater = 64 << 10
	lowWater  = 32 << 10

	// rxLimit bounds what is received but not yet consumed (by OnData or
	// Read); past it the reader stops and SCTP flow control slows the remote.
	rxLimit = 1 << 20

	// closeFlushTimeout bounds how long Close waits for the remote to
	// acknowledge data already written.
	closeFlushTimeout = 5 * time.Second

	// lingerTimeout bounds the wait in Destroy for the remote to acknowledge
	// what was sent (SCTP delays acknowledgements by up to 200 ms).
	lingerTimeout = time.Second
)

// setupData takes the data channel, created by us or announced by the
// remote. Runs on the actor (or in New before the actor starts).
func (p *Peer) setupData(dc *webrtc.DataChannel) {
	p.mu.Lock()
	if p.dc != nil || p.destroyed.Load() {
		// simple-peer uses one channel; others are not ours to read.
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
		rwc, err := dc.Detach()
		p.post(func() { p.onChannelOpen(rwc, err) })
	})
}

// watchBuffered has Pion wake Write (through p.low) when the channel's
// unacknowledged amount falls to lowWater. Pion copies these settings to
// the channel it opens, and a setting made while it is opening the channel
// can be overwritten by that copy, leaving Write waiting for a wake that
// never comes. So it runs before Pion opens the channel: in New for ours,
// and inside Pion's OnDataChannel callback (which Pion waits for) for the
// remote's, not later on the actor.
func (p *Peer) watchBuffered(dc *webrtc.DataChannel) {
	dc.SetBufferedAmountLowThreshold(lowWater)
	dc.OnBufferedAmountLow(func() {
		select {
		case p.low <- struct{}{}:
		default:
		}
	})
}

func (p *Peer) onChannelOpen(rwc datachannel.ReadWriteCloser, err error) {
	if err != nil {
		p.destroyNow(wrapError(ErrCodeDataChannel, err))
		return
	}
	if p.destroyed.Load() {
		_ = rwc.Close()
		return
	}
	// The side that opened the channel in-band may use it at once, but the
	// remote drops the channel if our stream closes before its ACK arrives
	// (Pion's accept fails); Close and Destroy wait for the ACK. The ACK
	// is read by our reader, so registering before it starts misses none.
	acked := make(chan struct{})
	if d, ok := rwc.(*datachannel.DataChannel); ok && p.initiator && !isNegotiated(p.opts.channel) {
		d.OnOpen(func() { close(acked) }) // called once, on the ACK
	} else {
		close(acked)
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.rwc = rwc
	p.acked = acked
	p.readerDone = done
	p.mu.Unlock()
	go p.readLoop(rwc, done)
	p.st.channelReady = true
	p.maybeReady()
}

// maybeReady emits connect once ICE is connected and the channel is open,
// after resolving the selected candidate pair's addresses.
func (p *Peer) maybeReady() {
	if p.st.connecting || !p.st.pcReady || !p.st.channelReady || p.destroyed.Load() {
		return
	}
	local, remote, ok := p.selectedAddrs()
	if !ok {
		// ICE reports connected a moment before the pair is readable.
		time.AfterFunc(10*time.Millisecond, func() { p.post(p.maybeReady) })
		return
	}
	p.st.connecting = true

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
		_, err = p.rwc.WriteDataChannel(pending[:n], false)
		pending = pending[n:]
	}
	if err != nil {
		p.mu.Unlock()
		p.destroyNow(wrapError(ErrCodeDataChannel, err))
		return
	}
	p.connected = true
	// connect is queued before the reader may queue data: it waits for
	// connectedCh.
	p.emit(event{kind: evConnect})
	close(p.connectedCh)
	p.mu.Unlock()
	p.log.Debugf("%s connect local: %s remote: %s", p.id, local, remote)
}

func (p *Peer) selectedAddrs() (local, remote net.Addr, ok bool) {
	sctp := p.pc.SCTP()
	if sctp == nil || sctp.Transport() == nil || sctp.Transport().ICETransport() == nil {
		return nil, nil, false
	}
	pair, err := sctp.Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Local == nil || pair.Remote == nil {
		return nil, nil, false
	}
	return candidateAddr(pair.Local), candidateAddr(pair.Remote), true
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

// readLoop reads messages from the detached channel and hands them to the
// dispatcher, never before connect and never more than rxLimit ahead of the
// consumer.
func (p *Peer) readLoop(rwc datachannel.ReadWriteCloser, done chan struct{}) {
	defer close(done)
	buf := make([]byte, maxMessageSize)
	for {
		n, _, err := rwc.ReadDataChannel(buf)
		if err != nil {
			p.post(func() { p.onChannelClosed(err) })
			return
		}
		msg := make([]byte, n)
		copy(msg, buf[:n])
		select {
		case <-p.connectedCh:
		case <-p.done:
			return
		}
		select {
		case <-p.closing:
			continue // the user closed: nobody will consume it
		default:
		}
		if !p.rx.reserve(n, p.done) {
			return
		}
		p.emit(event{kind: evData, data: msg})
	}
}

// onChannelClosed: the remote closed the channel, or the connection went
// away. That is a plain close, as in simple-peer; a message larger than we
// advertised is an error.
func (p *Peer) onChannelClosed(err error) {
	if errors.Is(err, io.ErrShortBuffer) {
		p.destroyNow(&Error{Code: ErrCodeDataChannel, Err: errors.Join(ErrMessageTooLarge,
			errors.New("remote sent more than a=max-message-size:"+strconv.Itoa(maxMessageSize)))})
		return
	}
	p.log.Debugf("%s data channel closed: %v", p.id, err)
	p.destroyNow(nil)
}

// Send sends data as one binary message. It fails with ERR_DATA_CHANNEL
// before connect (ErrNotConnected) or when data is larger than the remote
// accepts (ErrMessageTooLarge, usually 64 KiB), and with ERR_DESTROYED after
// destroy. Send never blocks: check BufferedAmount, or use Write, which
// applies backpressure.
func (p *Peer) Send(data []byte) error { return p.send(data, false) }

// SendString sends s as one text message: a browser receives a string.
func (p *Peer) SendString(s string) error { return p.send([]byte(s), true) }

func (p *Peer) send(data []byte, isString bool) error {
	if p.destroyed.Load() || isClosed(p.closing) {
		return errDestroyed()
	}
	p.mu.Lock()
	rwc, connected, limit := p.rwc, p.connected, p.sendLimit
	p.mu.Unlock()
	if !connected {
		return &Error{Code: ErrCodeDataChannel, Err: ErrNotConnected}
	}
	if len(data) > limit {
		return newError(ErrCodeDataChannel, "%w: %d bytes, the limit is %d", ErrMessageTooLarge, len(data), limit)
	}
	p.sentData.Store(true)
	if _, err := rwc.WriteDataChannel(data, isString); err != nil {
		if p.destroyed.Load() {
			return errDestroyed()
		}
		return wrapError(ErrCodeDataChannel, err)
	}
	return nil
}

// BufferedAmount returns the bytes sent but not yet acknowledged by the
// remote (simple-peer's bufferSize).
func (p *Peer) BufferedAmount() uint64 {
	p.mu.Lock()
	dc := p.dc
	p.mu.Unlock()
	if dc == nil {
		return 0
	}
	return dc.BufferedAmount()
}

// flush waits until everything sent is acknowledged, the peer is destroyed,
// or the timeout passes. Data written before connect waits for connect
// first, as simple-peer's end() does.
func (p *Peer) flush(timeout time.Duration) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	p.mu.Lock()
	connected, pending := p.connected, len(p.prebuf)
	p.mu.Unlock()
	if !connected && pending > 0 {
		select {
		case <-p.connectedCh:
		case <-p.done:
			return
		case <-timer.C:
			p.log.Debugf("%s close: not connected after %v, %d bytes dropped", p.id, timeout, pending)
			return
		}
	}
	p.waitDelivered(timer.C, p.done)
}

// waitDelivered waits until the remote has acknowledged the channel and
// every byte sent on it, or until expired or stop fires. It returns at once
// when the channel never opened.
func (p *Peer) waitDelivered(expired <-chan time.Time, stop <-chan struct{}) {
	p.mu.Lock()
	dc, acked := p.dc, p.acked
	p.mu.Unlock()
	if acked == nil {
		return
	}
	select {
	case <-acked:
	case <-stop:
		return
	case <-expired:
		return
	}
	if !p.sentData.Load() {
		// Only the channel's own open/ack bytes are in flight; waiting
		// for their (delayed, up to 200 ms) SACK gains nothing.
		return
	}
	dc.SetBufferedAmountLowThreshold(0)
	for dc.BufferedAmount() > 0 {
		select {
		case <-p.low:
		case <-stop:
			return
		case <-expired:
			p.log.Debugf("%s close: %d bytes unacknowledged", p.id, dc.BufferedAmount())
			return
		}
	}
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
