package simplepeer

import (
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// Peer implements net.Conn, the Go form of simple-peer's duplex stream:
// Read and Write see the data channel as a byte stream.
var _ net.Conn = (*Peer)(nil)

// inbox holds received messages that no OnData handler took, for Read, and
// counts bytes received but not yet consumed so the reader can stop early.
type inbox struct {
	mu      sync.Mutex
	bufs    [][]byte
	pending int   // bytes reserved by the reader and not yet consumed
	eof     bool  // close was dispatched: nothing more will arrive
	eofErr  error // the error the peer was destroyed with, if any
	closed  bool  // the user closed the peer
	avail   chan struct{}
	space   chan struct{}
}

func (b *inbox) init() {
	b.avail = make(chan struct{}, 1)
	b.space = make(chan struct{}, 1)
}

func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// reserve waits until n more bytes fit under rxLimit (a message larger than
// the limit passes when nothing else is pending); false once done closes.
func (b *inbox) reserve(n int, done <-chan struct{}) bool {
	for {
		b.mu.Lock()
		if b.pending == 0 || b.pending+n <= rxLimit || b.closed {
			b.pending += n
			b.mu.Unlock()
			return true
		}
		b.mu.Unlock()
		select {
		case <-b.space:
		case <-done:
			return false
		}
	}
}

func (b *inbox) release(n int) {
	b.mu.Lock()
	b.pending -= n
	b.mu.Unlock()
	wake(b.space)
}

func (b *inbox) push(msg []byte) {
	b.mu.Lock()
	if b.closed {
		b.pending -= len(msg)
		b.mu.Unlock()
		wake(b.space)
		return
	}
	if len(msg) > 0 {
		b.bufs = append(b.bufs, msg)
	}
	b.mu.Unlock()
	wake(b.avail)
}

// setEOF marks the end of the stream; err is what Read returns after the
// buffered data: nil means io.EOF.
func (b *inbox) setEOF(err error) {
	b.mu.Lock()
	b.eof = true
	if err != nil {
		b.eofErr = err
	}
	b.mu.Unlock()
	wake(b.avail)
}

func (b *inbox) closeLocal() {
	b.mu.Lock()
	b.closed = true
	b.bufs = nil
	b.pending = 0
	b.mu.Unlock()
	wake(b.avail)
	wake(b.space)
}

// read copies buffered bytes into p; ok is false when nothing is buffered.
func (b *inbox) read(p []byte) (n int, ok bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return 0, true, net.ErrClosed
	case len(b.bufs) > 0:
		for len(b.bufs) > 0 && n < len(p) {
			c := copy(p[n:], b.bufs[0])
			n += c
			if c == len(b.bufs[0]) {
				b.bufs[0] = nil
				b.bufs = b.bufs[1:]
			} else {
				b.bufs[0] = b.bufs[0][c:]
			}
		}
		b.pending -= n
		wake(b.space)
		if len(b.bufs) > 0 {
			wake(b.avail) // more for the next reader
		}
		return n, true, nil
	case b.eof && b.eofErr != nil:
		return 0, true, b.eofErr
	case b.eof:
		return 0, true, io.EOF
	}
	return 0, false, nil
}

// Read reads data received on the data channel as a byte stream: messages
// are concatenated, and what does not fit in b stays for the next call. It
// sees only messages that no OnData handler took. Read returns io.EOF after
// the remote closed and everything was read (or the error the peer was
// destroyed with, after a failure), net.ErrClosed after Close, and
// os.ErrDeadlineExceeded when the read deadline passes (the peer stays
// usable).
func (p *Peer) Read(b []byte) (int, error) {
	for {
		if isClosed(p.rdl.wait()) {
			return 0, os.ErrDeadlineExceeded
		}
		n, ok, err := p.rx.read(b)
		if ok {
			return n, err
		}
		if len(b) == 0 {
			return 0, nil
		}
		select {
		case <-p.rx.avail:
		case <-p.rdl.wait():
		}
	}
}

// Write sends b as binary messages of at most 16 KiB. Before connect it
// buffers up to 64 KiB and then blocks until connect; after connect it
// blocks while more than 64 KiB is unacknowledged. It returns net.ErrClosed
// (with code ERR_DESTROYED) after destroy, and os.ErrDeadlineExceeded when
// the write deadline passes, with n bytes written.
func (p *Peer) Write(b []byte) (n int, err error) {
	select {
	case p.wlock <- struct{}{}:
	case <-p.wdl.wait():
		return 0, os.ErrDeadlineExceeded
	case <-p.closing:
		return 0, errDestroyed()
	case <-p.done:
		return 0, errDestroyed()
	}
	defer func() { <-p.wlock }()
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
		rwc, dc := p.rwc, p.dc
		p.mu.Unlock()
		if err := p.waitBuffered(dc.BufferedAmount); err != nil {
			return n, err
		}
		p.sentData.Store(true)
		if _, err := rwc.WriteDataChannel(chunk, false); err != nil {
			if p.destroyed.Load() {
				return n, errDestroyed()
			}
			return n, wrapError(ErrCodeDataChannel, err)
		}
		n += len(chunk)
		b = b[len(chunk):]
	}
	if isClosed(p.wdl.wait()) && n == 0 {
		return 0, os.ErrDeadlineExceeded
	}
	return n, nil
}

// writeReady reports why Write cannot go on, if it cannot.
func (p *Peer) writeReady() error {
	switch {
	case isClosed(p.wdl.wait()):
		return os.ErrDeadlineExceeded
	case isClosed(p.closing), p.destroyed.Load():
		return errDestroyed()
	}
	return nil
}

func (p *Peer) waitConnected() error {
	select {
	case <-p.connectedCh:
		return nil
	case <-p.wdl.wait():
		return os.ErrDeadlineExceeded
	case <-p.closing:
		return errDestroyed()
	case <-p.done:
		return errDestroyed()
	}
}

// waitBuffered blocks while the unacknowledged amount is above highWater.
func (p *Peer) waitBuffered(amount func() uint64) error {
	for amount() > highWater {
		select {
		case <-p.low:
		case <-p.wdl.wait():
			return os.ErrDeadlineExceeded
		case <-p.closing:
			return errDestroyed()
		case <-p.done:
			return errDestroyed()
		}
	}
	return nil
}

// LocalAddr returns the local address of the selected ICE candidate pair
// once connected, or an empty address before.
func (p *Peer) LocalAddr() net.Addr { return p.addr(&p.localAddr) }

// RemoteAddr returns the remote address of the selected ICE candidate pair
// once connected, or an empty address before.
func (p *Peer) RemoteAddr() net.Addr { return p.addr(&p.remoteAddr) }

func (p *Peer) addr(a *net.Addr) net.Addr {
	p.mu.Lock()
	defer p.mu.Unlock()
	if *a == nil {
		return hostAddr{network: "udp"}
	}
	return *a
}

// SetDeadline sets both the read and the write deadline.
func (p *Peer) SetDeadline(t time.Time) error {
	p.rdl.set(t)
	p.wdl.set(t)
	return nil
}

// SetReadDeadline makes blocked and future Reads fail with
// os.ErrDeadlineExceeded once t passes; the zero time means no deadline. A
// timeout does not close the peer.
func (p *Peer) SetReadDeadline(t time.Time) error {
	p.rdl.set(t)
	return nil
}

// SetWriteDeadline does the same for Write.
func (p *Peer) SetWriteDeadline(t time.Time) error {
	p.wdl.set(t)
	return nil
}
