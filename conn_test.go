package simplepeer_test

// *Peer as a net.Conn: golang.org/x/net/nettest's conformance suite,
// deadlines, addresses and use after Close.

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"golang.org/x/net/nettest"
)

// makePipe is a nettest.MakePipe: a connected initiator/non-initiator pair
// on loopback. stop closes both peers concurrently, as two ends of a
// connection are closed in real use.
func makePipe() (c1, c2 net.Conn, stop func(), err error) {
	p1, err := simplepeer.New(testOptions(true))
	if err != nil {
		return nil, nil, nil, err
	}
	p2, err := simplepeer.New(testOptions(false))
	if err != nil {
		_ = p1.Close()
		return nil, nil, nil, err
	}
	stop = func() {
		var wg sync.WaitGroup
		for _, p := range []*simplepeer.Peer{p1, p2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = p.Close()
			}()
		}
		wg.Wait()
	}
	failed := make(chan error, 2)
	carry := func(to *simplepeer.Peer) func(simplepeer.Signal) {
		return func(s simplepeer.Signal) {
			if err := to.Signal(s); err != nil && !to.Destroyed() {
				select {
				case failed <- fmt.Errorf("Signal(%s): %w", s.Type, err):
				default:
				}
			}
		}
	}
	p1.OnSignal(carry(p2))
	p2.OnSignal(carry(p1))
	connected := make(chan struct{}, 2)
	for _, p := range []*simplepeer.Peer{p1, p2} {
		p.OnConnect(func() { connected <- struct{}{} })
	}
	timeout := time.After(testTimeout)
	for range 2 {
		select {
		case <-connected:
		case err := <-failed:
			stop()
			return nil, nil, nil, err
		case <-timeout:
			stop()
			return nil, nil, nil, errors.New("peers did not connect")
		}
	}
	return p1, p2, stop, nil
}

// TestNetConn runs nettest.TestConn: *Peer behaves as a net.Conn, with
// byte-stream reads, independent deadlines that leave the conn usable, and
// Close unblocking everything.
func TestNetConn(t *testing.T) {
	nettest.TestConn(t, makePipe)
}

// TestDeadlines checks that an expired read or write deadline returns
// os.ErrDeadlineExceeded itself (unwrapped) and leaves the peer usable.
func TestDeadlines(t *testing.T) {
	p1, p2 := connectedPair(t)

	t.Run("read, blocked", func(t *testing.T) {
		if err := p2.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		if n, err := p2.Read(make([]byte, 8)); n != 0 || err != os.ErrDeadlineExceeded {
			t.Fatalf("Read: %d, %v; want 0, os.ErrDeadlineExceeded", n, err)
		}
		var ne net.Error
		if _, err := p2.Read(make([]byte, 8)); !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("Read again: %v; want a net.Error with Timeout()", err)
		}
	})
	t.Run("read, usable after", func(t *testing.T) {
		if err := p2.SetReadDeadline(time.Time{}); err != nil {
			t.Fatal(err)
		}
		if _, err := p1.Write([]byte("after")); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 5)
		if _, err := io.ReadFull(p2, b); err != nil || string(b) != "after" {
			t.Fatalf("ReadFull: %q, %v", b, err)
		}
	})
	t.Run("read, past deadline with data buffered", func(t *testing.T) {
		if err := p1.SendString("x"); err != nil {
			t.Fatal(err)
		}
		// Wait for it: a Read with a generous deadline returns it.
		if err := p2.SetReadDeadline(time.Now().Add(testTimeout)); err != nil {
			t.Fatal(err)
		}
		if _, err := p2.Read(make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
		if err := p1.SendString("y"); err != nil {
			t.Fatal(err)
		}
		if err := p2.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, err := p2.Read(make([]byte, 1)); err != os.ErrDeadlineExceeded {
			t.Fatalf("Read past the deadline: %v, want os.ErrDeadlineExceeded", err)
		}
		if err := p2.SetReadDeadline(time.Time{}); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 1)
		if _, err := p2.Read(b); err != nil || string(b) != "y" {
			t.Fatalf("Read after clearing the deadline: %q, %v; want \"y\"", b, err)
		}
	})
	t.Run("write, past deadline", func(t *testing.T) {
		if err := p1.SetWriteDeadline(time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		if n, err := p1.Write([]byte("late")); n != 0 || err != os.ErrDeadlineExceeded {
			t.Fatalf("Write: %d, %v; want 0, os.ErrDeadlineExceeded", n, err)
		}
		// The write deadline does not touch reads, nor Send.
		if err := p2.SendString("reads still work"); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, len("reads still work"))
		if _, err := io.ReadFull(p1, b); err != nil {
			t.Fatalf("Read with an expired write deadline: %v", err)
		}
		if err := p1.SetWriteDeadline(time.Time{}); err != nil {
			t.Fatal(err)
		}
		if _, err := p1.Write([]byte("on time")); err != nil {
			t.Fatalf("Write after clearing the deadline: %v", err)
		}
		b = make([]byte, len("on time"))
		if _, err := io.ReadFull(p2, b); err != nil || string(b) != "on time" {
			t.Fatalf("ReadFull: %q, %v", b, err)
		}
	})
	t.Run("write before connect", func(t *testing.T) {
		w := newPeer(t, testOptions(true)) // never connects
		if err := w.SetWriteDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		// 64 KiB are buffered before connect; more must wait for it.
		n, err := w.Write(make([]byte, 200<<10))
		if err != os.ErrDeadlineExceeded || n >= 200<<10 {
			t.Fatalf("Write: %d, %v; want fewer bytes and os.ErrDeadlineExceeded", n, err)
		}
		// Close would wait for connect to flush what was buffered.
		w.Destroy(errors.New("done"))
	})
	if !p1.Connected() || !p2.Connected() {
		t.Errorf("after timeouts: Connected %v, %v", p1.Connected(), p2.Connected())
	}
}

// TestAddrs checks LocalAddr and RemoteAddr: the loopback UDP addresses of
// the selected candidate pair once connected, mirrored between the peers.
func TestAddrs(t *testing.T) {
	p1, p2 := connectedPair(t)
	for i, p := range []*simplepeer.Peer{p1, p2} {
		for _, a := range []net.Addr{p.LocalAddr(), p.RemoteAddr()} {
			u, ok := a.(*net.UDPAddr)
			if !ok || !u.IP.IsLoopback() || u.Port == 0 || a.Network() != "udp" {
				t.Errorf("peer %d address %v (%T, %s): want a loopback *net.UDPAddr", i+1, a, a, a.Network())
			}
		}
	}
	if p1.LocalAddr().String() != p2.RemoteAddr().String() || p1.RemoteAddr().String() != p2.LocalAddr().String() {
		t.Errorf("addresses do not mirror: %v->%v and %v->%v", p1.LocalAddr(), p1.RemoteAddr(), p2.LocalAddr(), p2.RemoteAddr())
	}
}

// TestConnAfterClose checks the net.Conn methods after Close: Read and
// Write fail with net.ErrClosed (Write's error also has code
// ERR_DESTROYED), deadlines and addresses do not panic, and Close repeats.
func TestConnAfterClose(t *testing.T) {
	p1, _ := connectedPair(t)
	blocked := make(chan error, 1)
	go func() {
		_, err := p1.Read(make([]byte, 8))
		blocked <- err
	}()
	closeAll(t, p1)
	if err := recv(t, blocked, "blocked Read"); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read blocked across Close: %v, want net.ErrClosed", err)
	}
	if _, err := p1.Read(make([]byte, 8)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read: %v, want net.ErrClosed", err)
	}
	_, err := p1.Write([]byte("x"))
	if !errors.Is(err, net.ErrClosed) || simplepeer.Code(err) != simplepeer.ErrCodeDestroyed {
		t.Errorf("Write: %v, want net.ErrClosed with code %s", err, simplepeer.ErrCodeDestroyed)
	}
	_ = p1.SetDeadline(time.Now())
	_ = p1.LocalAddr()
	_ = p1.RemoteAddr()
	if err := p1.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
