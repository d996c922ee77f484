package simplepeer

import (
	"io"
	"net"
	"sync"
)

// The receive path. The reader goroutine (readLoop) takes each message off
// the data channel and puts it here: straight into Read's buffer when no
// OnData handler is set, or as a data event for the dispatcher when one is.
// Either way the message is charged to one budget until it is consumed, and
// when the budget is spent the reader stops reading, so a remote that sends
// faster than this peer consumes is slowed by SCTP's receive window, not
// buffered here.

const (
	// rxBudget bounds what a peer holds of received data that OnData or
	// Read has not consumed yet: each message is charged its length plus
	// rxMessageCost. A message larger than the whole budget is taken when
	// nothing else is held.
	rxBudget = 1 << 20

	// rxMessageCost is what each held message is charged on top of its
	// bytes: the slice and event bookkeeping that even an empty message
	// costs. With rxBudget it caps the messages held at 4,096.
	rxMessageCost = 256
)

// inbox holds received messages until OnData or Read consumes them.
type inbox struct {
	mu      sync.Mutex
	charged int      // budget in use, see rxBudget
	events  int      // messages queued as data events, not yet delivered
	bufs    [][]byte // Read's messages from bufs[head], oldest first; bufs[head] may be partly read
	head    int      // bufs[:head] are read (nil); the array is reused, not reallocated per message
	eof     bool     // the peer was torn down: nothing more will arrive
	eofErr  error    // what it was destroyed with, if anything; nil means io.EOF
	closed  bool     // the user closed the peer: Read returns net.ErrClosed

	readable notifier // data, EOF or close for Read
	space    notifier // budget freed, for the reader
}

func cost(msg []byte) int { return len(msg) + rxMessageCost }

// reserve waits until msg fits in the budget, then charges it. It returns
// false, charging nothing, once stop is closed.
func (b *inbox) reserve(msg []byte, stop <-chan struct{}) bool {
	for {
		b.mu.Lock()
		if b.charged == 0 || b.charged+cost(msg) <= rxBudget {
			b.charged += cost(msg)
			b.mu.Unlock()
			return true
		}
		// Refunds notify under mu, so none can slip in before this wait.
		wait := b.space.wait()
		b.mu.Unlock()
		select {
		case <-wait:
		case <-stop:
			return false
		}
	}
}

func (b *inbox) refund(n int) {
	b.charged -= n
	b.space.notify()
}

// route decides where a charged message goes: it reports true when it must
// be queued as a data event for the dispatcher (a handler is set, or older
// messages are still queued there and this one must not overtake them);
// otherwise it puts msg in Read's buffer itself.
func (b *inbox) route(msg []byte, handlerSet bool) (toDispatcher bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if handlerSet || b.events > 0 {
		b.events++
		return true
	}
	b.append(msg)
	return false
}

// append adds msg to Read's buffer. An empty message adds no bytes to the
// stream, so it is consumed at once. The caller holds mu.
func (b *inbox) append(msg []byte) {
	if len(msg) == 0 || b.closed {
		b.refund(cost(msg))
		return
	}
	if len(b.bufs) == cap(b.bufs) && b.head > 0 {
		// Move the unread messages to the front rather than grow.
		n := copy(b.bufs, b.bufs[b.head:])
		clear(b.bufs[n:])
		b.bufs, b.head = b.bufs[:n], 0
	}
	b.bufs = append(b.bufs, msg)
	b.readable.notify()
}

// handled is called by the dispatcher once a data event was delivered to
// the OnData handler.
func (b *inbox) handled(msg []byte) {
	b.mu.Lock()
	b.events--
	b.refund(cost(msg))
	b.readable.notify() // Read may be waiting for the queue to drain
	b.mu.Unlock()
}

// unhandled moves a data event to Read's buffer: the OnData handler was
// unset after the message was routed to it.
func (b *inbox) unhandled(msg []byte) {
	b.mu.Lock()
	b.events--
	b.append(msg)
	b.readable.notify()
	b.mu.Unlock()
}

// setEOF marks the end of the stream, after the reader has stopped; err is
// what Read returns after the buffered data (nil: io.EOF).
func (b *inbox) setEOF(err error) {
	b.mu.Lock()
	b.eof = true
	if err != nil && b.eofErr == nil {
		b.eofErr = err
	}
	b.readable.notify()
	b.mu.Unlock()
}

// closeLocal drops what Read has not read yet and makes every Read, blocked
// or future, return net.ErrClosed.
func (b *inbox) closeLocal() {
	b.mu.Lock()
	b.closed = true
	for _, m := range b.bufs[b.head:] {
		b.refund(cost(m))
	}
	b.bufs, b.head = nil, 0
	b.readable.notify()
	b.mu.Unlock()
}

// read copies buffered bytes into p. When there is nothing to return yet it
// returns a channel that is closed when that may change.
func (b *inbox) read(p []byte, handlerSet bool) (n int, wait <-chan struct{}, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return 0, nil, net.ErrClosed
	case b.head < len(b.bufs):
		for b.head < len(b.bufs) && n < len(p) {
			m := b.bufs[b.head]
			c := copy(p[n:], m)
			n += c
			if c < len(m) {
				b.bufs[b.head] = m[c:]
				b.refund(c)
				break
			}
			b.refund(c + rxMessageCost)
			b.bufs[b.head] = nil
			b.head++
		}
		if b.head == len(b.bufs) {
			b.bufs, b.head = b.bufs[:0], 0
		}
		return n, nil, nil
	case b.eof && (b.events == 0 || handlerSet):
		// Data events still queued go to Read only if OnData is unset
		// before they are delivered; wait for them in that case.
		if b.eofErr != nil {
			return 0, nil, b.eofErr
		}
		return 0, nil, io.EOF
	}
	return 0, b.readable.wait(), nil
}
