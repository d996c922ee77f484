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

	"github.com/pion/webrtc/v3"
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
//   - torn: the actor has closed the data channel, waited (after Close or
//     Destroy, ≤ 0.5 s) for the remote to close its end, closed the
//     PeerConnection, waited for every goroutine of the peer but the
//     dispatcher, ended Read's stream, and queued the error (if any) and
//     close events.
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

	// channelCloseTimeout bounds the wait, after Close or Destroy has
	// closed the data channel, for the remote to close its end (one round
	// trip when it is there) before the connection itself is closed.
	channelCloseTimeout = 500 * time.Millisecond
)

type lifecycle struct {
	closeOnce   sync.Once
	destroyOnce sync.Once
	closing     chan struct{} // closed when Close or Destroy is called
	dying       chan struct{} // closed when destruction starts
	torn        chan struct{} // closed when teardown has finished
	err         error         // what the peer was destroyed with; set before dying closes
	// unresponsive is set when Close's flush or Destroy's linger gave up
	// waiting for the remote's acknowledgements: the teardown then does
	// not wait for the remote to close the channel either.
	unresponsive atomic.Bool
	channelClose atomic.Int32 // channelClose*: how the teardown's wait ended

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
// so that it learns of the close. Then the data channel is closed, and the
// connection once the remote has closed its end of the channel too (at most
// 0.5 s later), so that its channel's close reaches it before its
// transport's. Every Read, Write and Send blocked on the peer returns. Safe
// to call repeatedly and from any goroutine. Called from outside a handler,
// it returns once the close event has been delivered and every goroutine of
// the peer has ended; called from a handler, once the connection is closed
// (the close event follows when the handler returns).
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
// handler takes at most about 5.5 s, and about 5 s when the remote has
// vanished. It implements io.Closer and net.Conn, always returns nil and is
// safe to repeat.
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
		p.life.unresponsive.Store(true)
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
			p.life.unresponsive.Store(true)
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
		p.awaitRemoteChannelClose(readerDone)
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

// awaitRemoteChannelClose waits, after Close or Destroy has closed the
// data channel (an SCTP stream reset), until the remote has closed its end
// too, which ends the reader, or channelCloseTimeout passes. Closing the
// connection at once would race the remote's channel close against its
// transport's: libdatachannel (node-datachannel) then reports its ICE
// connection "closed" now and then before the channel's close event, and
// simple-peer on it ends with ERR_ICE_CONNECTION_CLOSED instead of a plain
// close. Failures and remote closes skip the wait: the remote is gone, or
// has closed first.
func (p *Peer) awaitRemoteChannelClose(readerDone <-chan struct{}) {
	if readerDone == nil || !isClosed(p.life.closing) {
		return // a failure or a remote close
	}
	if p.life.unresponsive.Load() {
		p.life.channelClose.Store(channelCloseSkipped)
		return
	}
	switch p.pc.ICEConnectionState() {
	case webrtc.ICEConnectionStateConnected, webrtc.ICEConnectionStateCompleted:
	default:
		p.life.channelClose.Store(channelCloseSkipped)
		return
	}
	timer := time.NewTimer(channelCloseTimeout)
	defer timer.Stop()
	select {
	case <-readerDone:
		p.life.channelClose.Store(channelCloseRemote)
	case <-timer.C:
		p.life.channelClose.Store(channelCloseTimedOut)
		p.log.Debugf("%s close: the remote did not close the data channel within %v", p.id, channelCloseTimeout)
	}
}

// How the teardown after Close or Destroy ended its wait for the remote to
// close the data channel (lifecycle.channelClose).
const (
	channelCloseNone     int32 = iota // no wait: not closed by the user, or no channel
	channelCloseSkipped               // no wait: the remote did not acknowledge, or ICE is down
	channelCloseRemote                // the remote closed its end
	channelCloseTimedOut              // channelCloseTimeout passed
)

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
