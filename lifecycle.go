package simplepeer

import (
	"bytes"
	"context"
	"errors"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The lifecycle of a peer, from New to Done. Each state is a channel that
// is closed once, when the peer enters it:
//
//	open ──Close──▶ closing ──flush (≤ 5 s)──────────▶ dying ──teardown──▶ torn ──▶ done
//	  │   Destroy(err) ──▶ closing ──linger (≤ 1 s)──▶ dying
//	  └── failure or remote close ─────────────────────▶ dying
//
//   - closing: the user closed the peer. Read returns net.ErrClosed, Write and
//     Send refuse, and every call blocked in them returns. Close first waits
//     for the remote to acknowledge what was sent; Destroy(err) waits only
//     briefly (linger), so that the remote learns of the close.
//   - dying: destruction has started, for whatever reason; Destroyed reports
//     true and new calls fail with ERR_DESTROYED.
//   - torn: the actor has closed the data channel and the PeerConnection,
//     waited for every goroutine of the peer but the dispatcher, ended Read's
//     stream, and queued the error (if any) and close events.
//   - done: the dispatcher has delivered close (or held it for an OnClose
//     set later) and exited. Done's channel is closed.
//
// Close and Destroy return after done, unless they are called from a
// handler: the dispatcher is then busy running that handler, so they return
// after torn and the dispatcher ends once the handler returns.

const (
	// closeFlushTimeout bounds how long Close waits for the remote to
	// acknowledge data already written: Close returns within about this
	// long even when the remote has vanished.
	closeFlushTimeout = 5 * time.Second

	// lingerTimeout bounds the wait in Destroy for the remote to
	// acknowledge what was sent (SCTP delays acknowledgements by up to
	// 200 ms).
	lingerTimeout = time.Second
)

type lifecycle struct {
	closeOnce   sync.Once
	destroyOnce sync.Once
	closing     chan struct{} // closed when Close or Destroy is called
	dying       chan struct{} // closed when destruction starts
	torn        chan struct{} // closed when teardown has finished
	err         error         // what the peer was destroyed with; set before dying closes

	dispatcherID atomic.Uint64 // the dispatcher goroutine's id, set at its start
}

func (l *lifecycle) init() {
	l.closing = make(chan struct{})
	l.dying = make(chan struct{})
	l.torn = make(chan struct{})
}

// Destroy tears the connection down and emits error (when err is non-nil)
// and then close, once. Destroy(nil) is Close: data already written is
// flushed first. With a non-nil err, writes stop at once and the teardown
// waits at most 1 s for the remote to acknowledge what was already sent,
// so that it learns of the close. Every Read, Write and Send blocked on the
// peer returns. Safe to call repeatedly and from any goroutine. Called from
// outside a handler, it returns once the close event has been delivered and
// every goroutine of the peer has ended; called from a handler, once the
// connection is closed (the close event follows when the handler returns).
func (p *Peer) Destroy(err error) {
	if err == nil {
		_ = p.Close()
		return
	}
	if !p.usable() {
		return
	}
	p.beginClose()
	p.destroy(err, true)
	p.awaitClosed()
}

// Close flushes data written with Write or Send, waiting up to 5 s for the
// remote to acknowledge it, then destroys the peer and emits close. It is
// Destroy(nil): it returns as Destroy does, so a Close called from outside a
// handler takes at most about 5 s, even when the remote has vanished. It
// implements io.Closer and net.Conn, always returns nil and is safe to
// repeat.
func (p *Peer) Close() error {
	if !p.usable() {
		return nil
	}
	p.beginClose()
	p.flush(closeFlushTimeout)
	p.destroy(nil, false) // the flush has waited for the remote already
	p.awaitClosed()
	return nil
}

// Done returns a channel that is closed once the peer has closed: after its
// close event has been delivered (or held for an OnClose handler set later).
// It lets a caller wait for the end of a peer without setting handlers.
func (p *Peer) Done() <-chan struct{} {
	if !p.usable() {
		c := make(chan struct{})
		close(c)
		return c
	}
	return p.ev.done
}

// WaitConnected blocks until the peer has connected (nil), has been
// destroyed first (the error it was destroyed with, or ERR_DESTROYED), or
// ctx ends (ctx.Err()). It lets Read and Write users wait for the
// connection without an OnConnect handler.
func (p *Peer) WaitConnected(ctx context.Context) error {
	if !p.usable() {
		return errNotCreated()
	}
	select {
	case <-p.connectedCh:
		return nil
	default:
	}
	select {
	case <-p.connectedCh:
		return nil
	case <-p.life.dying:
		if isClosed(p.connectedCh) {
			return nil
		}
		if p.life.err != nil {
			return p.life.err
		}
		return errDestroyed()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// beginClose stops new reads and writes and wakes every blocked one.
func (p *Peer) beginClose() {
	p.life.closeOnce.Do(func() {
		close(p.life.closing)
		p.inbox.closeLocal()
	})
}

// destroy starts destruction from any goroutine but the actor's: the
// teardown runs on the actor, after a linger when asked for.
func (p *Peer) destroy(err error, linger bool) {
	p.life.destroyOnce.Do(func() {
		p.markDying(err)
		p.ops.push(func() {
			if linger {
				p.linger()
			}
			p.teardown(err)
		})
		// A failed push means the actor is gone, which happens only after
		// a teardown ran.
	})
}

// destroyOnActor destroys from the actor goroutine: teardown runs inline.
func (p *Peer) destroyOnActor(err error) {
	p.life.destroyOnce.Do(func() {
		p.markDying(err)
		p.teardown(err)
	})
}

func (p *Peer) markDying(err error) {
	p.life.err = err
	close(p.life.dying)
	p.log.Debugf("%s destroying (error: %v)", p.id, err)
}

// awaitClosed waits for the teardown and, from outside a handler, for the
// dispatcher to deliver close and exit.
func (p *Peer) awaitClosed() {
	<-p.life.torn
	<-p.actorDone
	if goroutineID() != p.life.dispatcherID.Load() {
		<-p.ev.done
	}
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
	p.waitDelivered(timer.C, nil) // dying is closed already: no stop
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
		case <-p.life.dying:
			return
		case <-timer.C:
			p.log.Debugf("%s close: not connected after %v, %d bytes dropped", p.id, timeout, pending)
			return
		}
	}
	p.waitDelivered(timer.C, p.life.dying)
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
	p.window.freeze(dc)
	for {
		wait := p.bufferedLow.wait()
		if dc.BufferedAmount() == 0 {
			return
		}
		select {
		case <-wait:
		case <-stop:
			return
		case <-expired:
			p.log.Debugf("%s close: %d bytes unacknowledged", p.id, dc.BufferedAmount())
			return
		}
	}
}

// teardown runs on the actor: close the channels and the connection, wait
// for the goroutines that read them, end Read's stream, then emit error and
// close.
func (p *Peer) teardown(err error) {
	if isClosed(p.life.torn) {
		return
	}
	if p.actor.iceTimer != nil {
		p.actor.iceTimer.Stop()
	}
	p.stopRestartTimer()
	p.mu.Lock()
	ch, dc, readerDone := p.channel, p.dc, p.readerDone
	p.connected = false
	p.mu.Unlock()
	if ch != nil {
		_ = ch.Close()
	} else if dc != nil {
		_ = dc.Close()
	}
	if cerr := p.pc.GracefulClose(); cerr != nil {
		p.log.Debugf("%s close: %v", p.id, cerr)
	}
	if readerDone != nil {
		<-readerDone
	}
	p.refused.closeAndWait()
	p.actor.media.stop()
	p.inbox.setEOF(err)
	if err != nil {
		p.emit(event{kind: evError, err: err})
	}
	p.emit(event{kind: evClose})
	close(p.life.torn)
}

// usable reports whether p was made by New: a nil or zero Peer behaves as a
// destroyed one, returning errors instead of panicking.
func (p *Peer) usable() bool { return p != nil && p.ops != nil }

// Destroyed reports whether the peer has been destroyed (or is being).
func (p *Peer) Destroyed() bool { return !p.usable() || isClosed(p.life.dying) }

func errDestroyed() error {
	return &Error{Code: ErrCodeDestroyed, Err: net.ErrClosed}
}

func errNotCreated() error {
	return &Error{Code: ErrCodeDestroyed, Err: errors.Join(ErrNotCreated, net.ErrClosed)}
}

// goroutineID returns the id of the calling goroutine. Close uses it to tell
// a call from a handler (on the dispatcher, which must not wait for itself)
// from any other; Go has no other way to know which goroutine is running.
func goroutineID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, _ := strconv.ParseUint(string(b), 10, 64)
	return id
}
