package main

import (
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// slack is how early a queued datagram may leave: waking a timer for each
// datagram of a busy stream would cost more CPU than the precision is worth.
const slack = 50 * time.Microsecond

// pathStats counts what the delaying relay sockets did with datagrams.
type pathStats struct {
	forwarded atomic.Int64 // written after the delay
	lost      atomic.Int64 // dropped on purpose (-loss)
	overflow  atomic.Int64 // dropped because the delay queue was full
	maxQueue  atomic.Int64 // the longest the queue has been, in datagrams
}

// snapshot returns the counters, for deltas around one transfer.
func (s *pathStats) snapshot() (forwarded, lost, overflow int64) {
	return s.forwarded.Load(), s.lost.Load(), s.overflow.Load()
}

// datagram is one queued WriteTo.
type datagram struct {
	due  time.Time
	addr net.Addr
	buf  *[]byte
	n    int
}

// bufPool holds datagram buffers of the TURN server's MTU (1,600 bytes).
var bufPool = sync.Pool{New: func() any { b := make([]byte, 1600); return &b }}

// delayConn is a UDP socket whose WriteTo sends each datagram a fixed delay
// later, in order, after dropping a random fraction of them. Queued
// datagrams wait in a FIFO of at most queueLen entries (a channel); a
// WriteTo that finds it full drops the datagram and counts an overflow,
// separately from the random loss. Both drops look like success to the
// caller, as a router's would. Reads are untouched. With no delay, WriteTo
// writes at once, without the queue.
type delayConn struct {
	net.PacketConn
	delay time.Duration
	loss  float64 // probability of a random drop, 0..1
	stats *pathStats

	queue     chan datagram
	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

func newDelayConn(pc net.PacketConn, delay time.Duration, loss float64, queueLen int, stats *pathStats) *delayConn {
	c := &delayConn{PacketConn: pc, delay: delay, loss: loss, stats: stats,
		queue: make(chan datagram, queueLen), done: make(chan struct{})}
	c.wg.Add(1)
	go c.run()
	return c
}

// WriteTo queues p for addr, or drops it (random loss, full queue).
func (c *delayConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if c.loss > 0 && rand.Float64() < c.loss {
		c.stats.lost.Add(1)
		return len(p), nil
	}
	if c.delay <= 0 || len(p) > 1600 { // no delay (-rtt 0), or bigger than the TURN server's MTU (never)
		n, err := c.PacketConn.WriteTo(p, addr)
		if err == nil {
			c.stats.forwarded.Add(1)
		}
		return n, err
	}
	b := bufPool.Get().(*[]byte)
	n := copy(*b, p)
	select {
	case c.queue <- datagram{due: time.Now().Add(c.delay), addr: addr, buf: b, n: n}:
		if q := int64(len(c.queue)); q > c.stats.maxQueue.Load() {
			c.stats.maxQueue.Store(q) // racy maximum: good enough for a report
		}
	default:
		bufPool.Put(b)
		c.stats.overflow.Add(1)
	}
	return len(p), nil
}

// run sends queued datagrams when they are due. The delay is the same for
// every datagram, so FIFO order is due order.
func (c *delayConn) run() {
	defer c.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var d datagram
		select {
		case d = <-c.queue:
		case <-c.done:
			return
		}
		if wait := time.Until(d.due); wait > slack {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-c.done:
				return
			}
		}
		if _, err := c.PacketConn.WriteTo((*d.buf)[:d.n], d.addr); err == nil {
			c.stats.forwarded.Add(1)
		}
		bufPool.Put(d.buf)
	}
}

// Close stops the queue (queued datagrams are lost) and closes the socket.
func (c *delayConn) Close() error {
	c.closeOnce.Do(func() { close(c.done) })
	err := c.PacketConn.Close()
	c.wg.Wait()
	return err
}
