package main

import (
	"fmt"
	"sync"
	"time"
)

// pair is two connected in-process peers.
type pair interface {
	// transfer sends payload from the first peer to the second, checks
	// that it arrives intact and in order, and returns the longest time
	// without any data arriving (a stall: a retransmission timeout, or the
	// machine busy elsewhere).
	transfer(payload []byte, timeout time.Duration) (stall time.Duration, err error)
	// ends returns the message endpoints of the first and second peer.
	ends() (a, b endpoint)
	close()
}

// endpoint is one peer's data channel, message by message: simplepeer's
// Send / OnData, or raw Pion's DataChannel.Send / OnMessage.
type endpoint interface {
	send(msg []byte) error
	// onMessage replaces the handler of received messages; f is called
	// on one goroutine, in order.
	onMessage(f func([]byte))
}

// connOpts is how the two peers of a pair signal.
type connOpts struct {
	delay     time.Duration // one-way latency of the signalling channel
	noTrickle bool          // one offer and one answer holding all candidates
}

// defaultConn is the signalling of the throughput and peers sections:
// trickle, with -sigdelay.
func defaultConn() connOpts { return connOpts{delay: sigDelay} }

// connect creates two peers and returns once both data channels are open.
func (v variant) connect() (pair, error) { return v.connectWith(defaultConn()) }

func (v variant) connectWith(o connOpts) (pair, error) {
	if v.simple {
		return connectSimplePeer(v, o)
	}
	return connectPion(v, o)
}

// ready collects "open" notices and errors from callbacks.
type ready struct {
	up   chan struct{}
	errs chan error
}

func newReady() *ready {
	return &ready{up: make(chan struct{}, 2), errs: make(chan error, 1)}
}

func (r *ready) done() { r.up <- struct{}{} }

func (r *ready) fail(err error) {
	if err != nil {
		select {
		case r.errs <- err:
		default:
		}
	}
}

// wait waits for two done calls, the first error or setupTimeout.
func (r *ready) wait() error {
	timer := time.NewTimer(setupTimeout)
	defer timer.Stop()
	for n := 0; n < 2; n++ {
		select {
		case <-r.up:
		case err := <-r.errs:
			return err
		case <-timer.C:
			return fmt.Errorf("not connected after %v", setupTimeout)
		}
	}
	return nil
}

// courier carries signals one way, in order, delay after they were sent,
// like an application's signalling server. With no delay it calls at once;
// otherwise one goroutine delivers until stop.
type courier struct {
	delay    time.Duration
	ch       chan func()
	stop     chan struct{}
	stopOnce sync.Once
}

func newCourier(delay time.Duration) *courier {
	c := &courier{delay: delay, ch: make(chan func(), 64), stop: make(chan struct{})}
	if delay > 0 {
		go func() {
			for {
				select {
				case fn := <-c.ch:
					fn()
				case <-c.stop:
					return
				}
			}
		}()
	}
	return c
}

// send runs fn on the far side after the delay; dropped after stop.
func (c *courier) send(fn func()) {
	if c.delay == 0 {
		fn()
		return
	}
	at := time.Now().Add(c.delay)
	select {
	case c.ch <- func() { time.Sleep(time.Until(at)); fn() }:
	case <-c.stop:
	}
}

func (c *courier) close() { c.stopOnce.Do(func() { close(c.stop) }) }

// gapMeter finds the longest interval between calls of tick.
type gapMeter struct {
	last time.Time
	max  time.Duration
}

func (g *gapMeter) tick() {
	now := time.Now()
	g.max = max(g.max, now.Sub(g.last))
	g.last = now
}

// closeWithin closes p, reporting an error if that takes over closeTimeout
// (the close goes on in the background).
func closeWithin(p interface{ close() }) error {
	done := make(chan struct{})
	go func() {
		p.close()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-time.After(closeTimeout):
		return fmt.Errorf("close hung for %v", closeTimeout)
	}
}
