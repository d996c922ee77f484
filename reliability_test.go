package simplepeer_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/webrtc/v3"
)

// A handler may call every method, Read and Write included: OnConnect writes
// a request and reads the reply, on both sides, with no OnData handler set.
// Read must not depend on the event goroutine, which is busy running the
// handler.
func TestReadAndWriteInsideHandler(t *testing.T) {
	p1, p2 := newPeerPair(t, nil, nil)
	type result struct {
		got string
		err error
	}
	results := make(chan result, 2)
	exchange := func(p *simplepeer.Peer, say, want string) func() {
		return func() {
			_ = p.SetDeadline(time.Now().Add(testTimeout))
			if _, err := p.Write([]byte(say)); err != nil {
				results <- result{err: err}
				return
			}
			buf := make([]byte, len(want))
			_, err := io.ReadFull(p, buf)
			results <- result{string(buf), err}
		}
	}
	p1.OnConnect(exchange(p1, "ping", "pong"))
	p2.OnConnect(exchange(p2, "pong", "ping"))
	for range 2 {
		r := recv(t, results, "a handler's Read")
		if r.err != nil || (r.got != "ping" && r.got != "pong") {
			t.Fatalf("Read inside OnConnect: %q, %v", r.got, r.err)
		}
	}
}

// Close, Destroy and the remote's close release every goroutine blocked in
// Read, not just one: net.Conn's contract.
func TestCloseReleasesEveryRead(t *testing.T) {
	cases := []struct {
		name    string
		close   func(local, remote *simplepeer.Peer)
		wantErr error
	}{
		{"Close", func(l, _ *simplepeer.Peer) { _ = l.Close() }, net.ErrClosed},
		{"Destroy", func(l, _ *simplepeer.Peer) { l.Destroy(errors.New("bye")) }, net.ErrClosed},
		{"remote Close", func(_, r *simplepeer.Peer) { _ = r.Close() }, io.EOF},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			local, remote := connectedPair(t)
			const readers = 5
			var started sync.WaitGroup
			errs := make(chan error, readers)
			for range readers {
				started.Add(1)
				go func() {
					started.Done()
					_, err := local.Read(make([]byte, 16))
					errs <- err
				}()
			}
			started.Wait()
			c.close(local, remote)
			for i := range readers {
				err := recv(t, errs, "a blocked Read to return")
				if !errors.Is(err, c.wantErr) {
					t.Errorf("Read %d returned %v, want %v", i, err, c.wantErr)
				}
			}
		})
	}
}

// fillWindow makes w's Write and Send block: r's data handler blocks until
// release is closed, so r stops reading once its receive budget is spent,
// SCTP's receive window fills (the remote advertises 0), and then w's send
// window fills.
func fillWindow(t *testing.T, w, r *simplepeer.Peer) (release func()) {
	t.Helper()
	gate := make(chan struct{})
	r.OnData(func([]byte) { <-gate })
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release)
	chunk := make([]byte, 16<<10)
	// Full means: r's reader has stopped, r's SCTP advertises no receive
	// window (its buffer is full, not merely starved of CPU on a loaded
	// machine), and Send made no progress in four attempts in a row, the
	// remote acknowledging nothing meanwhile.
	stuck := 0
	for sent := 0; stuck < 4; {
		if sent > 64<<20 {
			t.Fatalf("Send never blocked: %d bytes sent to a stalled remote, %d buffered", sent, w.BufferedAmount())
		}
		buffered := w.BufferedAmount()
		_ = w.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
		err := w.Send(chunk)
		switch {
		case err == nil:
			sent += len(chunk)
			stuck = 0
		case !errors.Is(err, os.ErrDeadlineExceeded):
			t.Fatalf("Send while filling the window: %v", err)
		case w.BufferedAmount() == buffered && readerStopped(r, len(chunk)) && remoteWindow(w) == 0:
			stuck++
		default:
			stuck = 0
		}
	}
	_ = w.SetWriteDeadline(time.Time{})
	return release
}

// remoteWindow is the receive window p's SCTP last saw the remote
// advertise, less what it has in flight.
func remoteWindow(p *simplepeer.Peer) uint32 {
	for _, s := range p.GetStats() {
		if st, ok := s.(webrtc.SCTPTransportStats); ok {
			return st.ReceiverWindow
		}
	}
	return 0
}

// readerStopped reports whether p's receive budget is too spent for another
// message of n bytes: its reader waits for the consumer.
func readerStopped(p *simplepeer.Peer, n int) bool {
	charged, _ := simplepeer.InboxState(p)
	return charged+n+simplepeer.RxMessageCost > simplepeer.RxBudget
}

// Close and Destroy release every goroutine blocked in Write or Send; the
// remote's close does too.
func TestCloseReleasesEveryWriteAndSend(t *testing.T) {
	cases := []struct {
		name  string
		close func(local, remote *simplepeer.Peer)
	}{
		{"Close", func(l, _ *simplepeer.Peer) { _ = l.Close() }},
		{"Destroy", func(l, _ *simplepeer.Peer) { l.Destroy(errors.New("bye")) }},
		{"remote Destroy", func(_, r *simplepeer.Peer) { r.Destroy(errors.New("bye")) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			local, remote := connectedPair(t)
			release := fillWindow(t, local, remote)
			const writers = 4
			errs := make(chan error, 2*writers)
			for range writers {
				go func() {
					_, err := local.Write(make([]byte, 64<<10))
					errs <- err
				}()
				go func() { errs <- local.Send(make([]byte, 1024)) }()
			}
			// Close returns once the remote has caught up (the flush) or
			// its handler, blocked by fillWindow, has returned (the
			// remote's Destroy): run it aside and release the remote once
			// every blocked call has returned.
			closed := make(chan struct{})
			go func() {
				c.close(local, remote)
				close(closed)
			}()
			for range 2 * writers {
				err := recv(t, errs, "a blocked Write or Send to return")
				if simplepeer.Code(err) != simplepeer.ErrCodeDestroyed {
					t.Errorf("blocked call returned %v, want ERR_DESTROYED", err)
				}
			}
			release()
			recv(t, closed, c.name+" to return")
		})
	}
}

// After Close returns (called from outside a handler), no handler is running
// or will start, and no goroutine of the peer is left.
func TestNothingRunsAfterClose(t *testing.T) {
	before := runtime.NumGoroutine()
	p1, p2 := connectedPair(t)
	var closed atomic.Bool
	var late atomic.Int32
	check := func() {
		if closed.Load() {
			late.Add(1)
		}
	}
	inHandler := make(chan struct{})
	var once sync.Once
	p2.OnData(func([]byte) {
		check()
		once.Do(func() { close(inHandler) })
		// Stay in the handler until Close has had time to return, which
		// it must not do while a handler runs.
		select {
		case <-time.After(300 * time.Millisecond):
		case <-p2.Done():
			t.Error("Done closed while a handler was running")
		}
		check()
	})
	p2.OnSignalingStateChange(func(webrtc.SignalingState) { check() })
	_ = p1.Send([]byte("x"))
	recv(t, inHandler, "the data handler")
	for range 50 {
		_ = p1.Send([]byte("y")) // more events while p2 closes
	}
	_ = p2.Close()
	closed.Store(true)
	if n := late.Load(); n > 0 {
		t.Errorf("%d handler calls were running or started after Close returned", n)
	}
	_ = p1.Close()
	// A goroutine that has signalled its end may still be returning from
	// its last function (seen 3 times in 20 runs under -race): give the
	// scheduler a moment, bounded, as leakcheck does.
	leaked := peerGoroutines()
	for deadline := time.Now().Add(time.Second); len(leaked) > 0 && time.Now().Before(deadline); leaked = peerGoroutines() {
		runtime.Gosched()
	}
	if len(leaked) > 0 {
		t.Errorf("goroutines of the peers left 1 s after Close returned (%d before the test, %d now):\n%s",
			before, runtime.NumGoroutine(), strings.Join(leaked, "\n\n"))
	}
}

// peerGoroutines returns the stacks of goroutines running this library's or
// Pion's code.
func peerGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var found []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "github.com/pion/") || strings.Contains(g, "gosimplepeer/simplepeer.(*") {
			found = append(found, g)
		}
	}
	return found
}

// Done is closed once the peer has closed, whichever way it closed; a caller
// can wait on it without setting a handler.
func TestDone(t *testing.T) {
	p1, p2 := connectedPair(t)
	select {
	case <-p1.Done():
		t.Fatal("Done closed before the peer closed")
	default:
	}
	p2.Destroy(errors.New("gone"))
	recv(t, p2.Done(), "Done of the destroyed peer")
	recv(t, p1.Done(), "Done of the peer whose remote closed")

	var zero simplepeer.Peer
	recv(t, zero.Done(), "Done of a zero Peer")
}

// WaitConnected returns nil once connected, the peer's error when it is
// destroyed first, and the context's error when that ends first.
func TestWaitConnected(t *testing.T) {
	p1, p2 := newPeerPair(t, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for _, p := range []*simplepeer.Peer{p1, p2} {
		if err := p.WaitConnected(ctx); err != nil {
			t.Fatalf("WaitConnected: %v", err)
		}
	}
	if err := p1.WaitConnected(ctx); err != nil {
		t.Errorf("WaitConnected after connect: %v", err)
	}

	lonely := newPeer(t, testOptions(true))
	short, cancelShort := context.WithCancel(context.Background())
	cancelShort()
	if err := lonely.WaitConnected(short); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitConnected with an ended context: %v, want context.Canceled", err)
	}
	boom := errors.New("boom")
	go lonely.Destroy(boom)
	if err := lonely.WaitConnected(ctx); !errors.Is(err, boom) {
		t.Errorf("WaitConnected on a peer destroyed before connect: %v, want %v", err, boom)
	}
	closedEarly := newPeer(t, testOptions(true))
	_ = closedEarly.Close()
	if err := closedEarly.WaitConnected(ctx); simplepeer.Code(err) != simplepeer.ErrCodeDestroyed {
		t.Errorf("WaitConnected on a closed peer: %v, want ERR_DESTROYED", err)
	}
}

// A handler may call Close; it returns once the connection is torn down,
// and the close event follows when the handler returns.
func TestCloseInsideHandler(t *testing.T) {
	p1, p2 := newPeerPair(t, nil, nil)
	returned := make(chan struct{})
	p1.OnConnect(func() {
		_ = p1.Close()
		if !p1.Destroyed() {
			t.Error("Close inside a handler returned before the peer was destroyed")
		}
		close(returned)
	})
	closed := closeChan(p1)
	connected(t, p2)
	recv(t, returned, "Close inside OnConnect")
	recv(t, closed, "close after the handler")
	recv(t, p1.Done(), "Done")
}

// Close's and Destroy's worst cases are bounded: against a remote that has
// vanished (every packet dropped, ICE not yet failed) with data
// unacknowledged, Close gives up its flush after 5 s and Destroy its linger
// after 1 s. The bound checked is generous; the figures are logged.
func TestCloseBoundedWhenRemoteVanishes(t *testing.T) {
	for _, c := range []struct {
		name  string
		close func(*simplepeer.Peer)
	}{
		{"Close", func(p *simplepeer.Peer) { _ = p.Close() }},
		{"Destroy", func(p *simplepeer.Peer) { p.Destroy(errors.New("bye")) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			p1, p2, drop := vnetPairWith(t, func(*webrtc.SettingEngine) {})
			connected(t, p1, p2)
			drop.Store(true)
			if _, err := p1.Write(make([]byte, 32<<10)); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			closed := make(chan struct{})
			go func() {
				c.close(p1)
				close(closed)
			}()
			select {
			case <-closed:
			case <-time.After(15 * time.Second):
				t.Fatalf("%s against a vanished remote did not return within 15 s", c.name)
			}
			t.Logf("%s took %v with a vanished remote", c.name, time.Since(start).Round(time.Millisecond))
			p2.Destroy(errors.New("test over"))
		})
	}
}
