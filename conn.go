package simplepeer

import (
	"net"
	"os"
	"time"
)

// Peer implements net.Conn, the Go form of simple-peer's duplex stream:
// Read and Write see the data channel as a byte stream.
var _ net.Conn = (*Peer)(nil)

// Read reads data received on the data channel as a byte stream: messages
// are concatenated, and what does not fit in b stays for the next call. It
// sees the messages that arrive while no OnData handler is set (and those
// routed to OnData whose handler was unset before they were delivered). It
// does not depend on the event goroutine, so a handler may call it. Read
// returns io.EOF after the remote closed and everything was read (or the
// error the peer was destroyed with, after a failure), net.ErrClosed after
// Close, and os.ErrDeadlineExceeded when the read deadline passes (the peer
// stays usable). Close and the remote's close release every blocked Read.
func (p *Peer) Read(b []byte) (int, error) {
	if !p.usable() {
		return 0, net.ErrClosed
	}
	for {
		if isClosed(p.readDeadline.wait()) {
			return 0, os.ErrDeadlineExceeded
		}
		n, wait, err := p.inbox.read(b, p.ev.dataHandlerSet.Load())
		if wait == nil {
			return n, err
		}
		if len(b) == 0 {
			return 0, nil
		}
		select {
		case <-wait:
		case <-p.readDeadline.wait():
		}
	}
}

// Write sends b as binary messages of at most 16 KiB. Before connect it
// buffers up to 64 KiB and then blocks until connect; after connect it
// blocks while more than the send window is unacknowledged: 64 KiB on a
// near path, growing with the measured bandwidth-delay product to at most
// 4 MiB on a far one (see the README's "Over real networks"). It returns net.ErrClosed
// (with code ERR_DESTROYED) after destroy, and os.ErrDeadlineExceeded when
// the write deadline passes, with n bytes written.
func (p *Peer) Write(b []byte) (n int, err error) {
	if !p.usable() {
		return 0, errNotCreated()
	}
	select {
	case p.writeLock <- struct{}{}:
	case <-p.writeDeadline.wait():
		return 0, os.ErrDeadlineExceeded
	case <-p.life.closing:
		return 0, errDestroyed()
	case <-p.life.dying:
		return 0, errDestroyed()
	}
	defer func() { <-p.writeLock }()
	for len(b) > 0 {
		if err := p.writeReady(); err != nil {
			return n, err
		}
		chunk := b[:min(len(b), chunkSize)]
		p.mu.Lock()
		if !p.connected {
			room := preConnectLimit - len(p.prebuf)
			if room <= 0 {
				p.mu.Unlock()
				if err := p.waitConnected(); err != nil {
					return n, err
				}
				continue
			}
			chunk = chunk[:min(room, len(chunk))]
			p.prebuf = append(p.prebuf, chunk...)
			p.mu.Unlock()
			n += len(chunk)
			b = b[len(chunk):]
			continue
		}
		ch, dc := p.channel, p.dc
		p.mu.Unlock()
		if err := p.waitWindow(dc); err != nil {
			return n, err
		}
		p.sentData.Store(true)
		if _, err := ch.WriteDataChannel(chunk, false); err != nil {
			if p.Destroyed() {
				return n, errDestroyed()
			}
			return n, wrapError(ErrCodeDataChannel, err)
		}
		p.window.sent(len(chunk))
		p.stats.sent(len(chunk))
		n += len(chunk)
		b = b[len(chunk):]
	}
	if isClosed(p.writeDeadline.wait()) && n == 0 {
		return 0, os.ErrDeadlineExceeded
	}
	return n, nil
}

// writeReady reports why Write cannot go on, if it cannot.
func (p *Peer) writeReady() error {
	switch {
	case isClosed(p.writeDeadline.wait()):
		return os.ErrDeadlineExceeded
	case isClosed(p.life.closing), p.Destroyed():
		return errDestroyed()
	}
	return nil
}

func (p *Peer) waitConnected() error { return p.writeWait(p.connectedCh) }

// LocalAddr returns the local address of the selected ICE candidate pair
// once connected, or an empty address before.
func (p *Peer) LocalAddr() net.Addr { return p.addr(func() net.Addr { return p.localAddr }) }

// RemoteAddr returns the remote address of the selected ICE candidate pair
// once connected, or an empty address before.
func (p *Peer) RemoteAddr() net.Addr { return p.addr(func() net.Addr { return p.remoteAddr }) }

// addr returns get() under the lock, or an empty address before connect.
func (p *Peer) addr(get func() net.Addr) net.Addr {
	if !p.usable() {
		return hostAddr{network: "udp"}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if a := get(); a != nil {
		return a
	}
	return hostAddr{network: "udp"}
}

// SetDeadline sets both the read and the write deadline.
func (p *Peer) SetDeadline(t time.Time) error {
	if !p.usable() {
		return net.ErrClosed
	}
	p.readDeadline.set(t)
	p.writeDeadline.set(t)
	return nil
}

// SetReadDeadline makes blocked and future Reads fail with
// os.ErrDeadlineExceeded once t passes; the zero time means no deadline. A
// timeout does not close the peer.
func (p *Peer) SetReadDeadline(t time.Time) error {
	if !p.usable() {
		return net.ErrClosed
	}
	p.readDeadline.set(t)
	return nil
}

// SetWriteDeadline does the same for Write, Send and SendString.
func (p *Peer) SetWriteDeadline(t time.Time) error {
	if !p.usable() {
		return net.ErrClosed
	}
	p.writeDeadline.set(t)
	return nil
}
