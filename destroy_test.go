package simplepeer_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v3"
)

// remoteCloseTimeout bounds how long the remote may take to notice a
// destroy: the data channel's stream reset and DTLS close_notify arrive in
// milliseconds on loopback, far below ICE's failure timeouts.
const remoteCloseTimeout = 5 * time.Second

// lifecycle records the events of one peer, in the order delivered.
type lifecycle struct {
	name string

	mu    sync.Mutex
	log   []string
	errs  []error
	after []string // events delivered after close

	connect chan struct{}
	closed  chan struct{}
}

// watchLifecycle sets p's connect, error and close handlers (plus state
// handlers that only log) and records what they get.
func watchLifecycle(p *simplepeer.Peer, name string) *lifecycle {
	l := &lifecycle{
		name:    name,
		connect: make(chan struct{}, 8),
		closed:  make(chan struct{}, 8),
	}
	p.OnConnect(func() {
		l.add("connect")
		l.connect <- struct{}{}
	})
	p.OnError(func(err error) {
		l.mu.Lock()
		l.errs = append(l.errs, err)
		l.mu.Unlock()
		l.add("error")
	})
	p.OnClose(func() {
		l.add("close")
		l.closed <- struct{}{}
	})
	p.OnICEStateChange(func(webrtc.ICEConnectionState, webrtc.ICEGatheringState) { l.add("ice") })
	p.OnSignalingStateChange(func(webrtc.SignalingState) { l.add("signaling") })
	p.OnNegotiated(func() { l.add("negotiated") })
	return l
}

func (l *lifecycle) add(ev string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.log) > 0 && l.log[len(l.log)-1] == "close" || len(l.after) > 0 {
		l.after = append(l.after, ev)
	}
	l.log = append(l.log, ev)
}

func (l *lifecycle) events() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.log...)
}

func (l *lifecycle) count(ev string) int {
	n := 0
	for _, e := range l.events() {
		if e == ev {
			n++
		}
	}
	return n
}

// waitClosed waits for the close event and checks the error events before
// it: want nil means none, else exactly one matching errors.Is.
func (l *lifecycle) waitClosed(t testing.TB, want error, within time.Duration) {
	t.Helper()
	select {
	case <-l.closed:
	case <-time.After(within):
		t.Fatalf("%s: no close event within %v (events %v)", l.name, within, l.events())
	}
	l.check(t, want)
}

// check verifies the recorded history: at most one connect, errors only as
// wanted, exactly one close, last.
func (l *lifecycle) check(t testing.TB, want error) {
	t.Helper()
	l.mu.Lock()
	errs := append([]error(nil), l.errs...)
	after := append([]string(nil), l.after...)
	l.mu.Unlock()
	ev := l.events()
	switch {
	case want == nil && len(errs) > 0:
		t.Errorf("%s: error events %v, want none", l.name, errs)
	case want != nil && (len(errs) != 1 || !errors.Is(errs[0], want)):
		t.Errorf("%s: error events %v, want exactly [%v]", l.name, errs, want)
	}
	if n := l.count("close"); n != 1 {
		t.Errorf("%s: %d close events, want 1 (%v)", l.name, n, ev)
	}
	if len(after) > 0 {
		t.Errorf("%s: events after close: %v", l.name, after)
	}
	if n := l.count("connect"); n > 1 {
		t.Errorf("%s: %d connect events", l.name, n)
	}
	if want != nil {
		i, j := eventIndex(ev, "error"), eventIndex(ev, "close")
		if i < 0 || j < i {
			t.Errorf("%s: error must come before close: %v", l.name, ev)
		}
	}
}

func eventIndex(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// expectNoMoreEvents checks that no second close arrived since the close
// that was waited for (error counts are checked by check).
func (l *lifecycle) expectNoMoreEvents(t testing.TB) {
	t.Helper()
	select {
	case <-l.closed:
		t.Errorf("%s: second close event", l.name)
	default:
	}
}

// destroyer ends a peer: Close, or Destroy with an error (returned, for
// matching the error event; nil for Close).
type destroyer struct {
	name string
	do   func(p *simplepeer.Peer) error
}

var destroyers = []destroyer{
	{"Close", func(p *simplepeer.Peer) error {
		_ = p.Close()
		return nil
	}},
	{"Destroy", func(p *simplepeer.Peer) error {
		err := fmt.Errorf("test destroy of %s", p.ID())
		p.Destroy(err)
		return err
	}},
	{"DestroyNil", func(p *simplepeer.Peer) error {
		p.Destroy(nil)
		return nil
	}},
}

// TestDestroyBeforeSignal checks destroy right after New, before any signal
// is exchanged: close (after error, for Destroy(err)) fires once and the
// held first offer is not delivered after close.
func TestDestroyBeforeSignal(t *testing.T) {
	for _, d := range destroyers {
		for _, initiator := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/initiator=%v", d.name, initiator), func(t *testing.T) {
				p := newPeer(t, testOptions(initiator))
				l := watchLifecycle(p, "peer")
				want := d.do(p)
				if !p.Destroyed() || p.Connected() {
					t.Errorf("after destroy: Destroyed %v, Connected %v", p.Destroyed(), p.Connected())
				}
				l.waitClosed(t, want, testTimeout)
				p.OnSignal(func(s simplepeer.Signal) { l.add("signal " + string(s.Type)) })
				_ = p.Close()
				l.expectNoMoreEvents(t)
				l.check(t, want)
			})
		}
	}
}

// TestDestroyMidNegotiation checks destroy after the offer was sent and
// before the answer arrived (first negotiation and a renegotiation): the
// peer closes at once, and the late answer is refused with ERR_DESTROYED.
func TestDestroyMidNegotiation(t *testing.T) {
	for _, d := range destroyers {
		for _, renegotiate := range []bool{false, true} {
			name := d.name + "/first"
			if renegotiate {
				name = d.name + "/renegotiation"
			}
			t.Run(name, func(t *testing.T) {
				p1 := newPeer(t, testOptions(true))
				p2 := newPeer(t, testOptions(false))
				var holding atomic.Bool
				holding.Store(!renegotiate)
				answers := make(chan simplepeer.Signal, 4)
				p1.OnSignal(func(s simplepeer.Signal) { forward(t, p2, s) })
				p2.OnSignal(func(s simplepeer.Signal) {
					if s.Type == simplepeer.SignalAnswer && holding.Load() {
						answers <- s
						return
					}
					forward(t, p1, s)
				})
				if renegotiate {
					connected(t, p1, p2)
				}
				l1 := watchLifecycle(p1, "initiator")
				l2 := watchLifecycle(p2, "non-initiator")
				holding.Store(true)
				if renegotiate {
					if err := p1.Negotiate(); err != nil {
						t.Fatalf("Negotiate: %v", err)
					}
				}
				answer := recv(t, answers, "held answer")
				if st := p1.PeerConnection().SignalingState(); st != webrtc.SignalingStateHaveLocalOffer {
					t.Fatalf("initiator signaling state %s, want have-local-offer", st)
				}

				want := d.do(p1)
				l1.waitClosed(t, want, testTimeout)
				if err := p1.Signal(answer); simplepeer.Code(err) != simplepeer.ErrCodeDestroyed {
					t.Errorf("Signal(answer) after destroy = %v, want code %s", err, simplepeer.ErrCodeDestroyed)
				}
				if renegotiate {
					// The remote was connected: it sees a plain close.
					l2.waitClosed(t, nil, remoteCloseTimeout)
				} else {
					_ = p2.Close()
					l2.waitClosed(t, nil, testTimeout)
				}
				l1.expectNoMoreEvents(t)
			})
		}
	}
}

// TestDestroyConnected checks destroying a connected peer from either side:
// Destroy(err) gives error then close locally, Close gives close only, and
// the remote gets a plain close (no error) promptly, as simple-peer's remote
// sees its data channel close.
func TestDestroyConnected(t *testing.T) {
	for _, d := range destroyers {
		for _, side := range []string{"initiator", "non-initiator"} {
			t.Run(d.name+"/"+side, func(t *testing.T) {
				p1, p2 := connectedPair(t)
				local, remote := p1, p2
				if side == "non-initiator" {
					local, remote = p2, p1
				}
				ll := watchLifecycle(local, "local")
				lr := watchLifecycle(remote, "remote")
				if !local.Connected() || !remote.Connected() {
					t.Fatalf("Connected: local %v remote %v, want true", local.Connected(), remote.Connected())
				}
				want := d.do(local)
				if !local.Destroyed() || local.Connected() {
					t.Errorf("local after destroy: Destroyed %v, Connected %v", local.Destroyed(), local.Connected())
				}
				ll.waitClosed(t, want, testTimeout)
				lr.waitClosed(t, nil, remoteCloseTimeout)
				if !remote.Destroyed() || remote.Connected() {
					t.Errorf("remote after close: Destroyed %v, Connected %v", remote.Destroyed(), remote.Connected())
				}
				if err := remote.Send([]byte("x")); simplepeer.Code(err) != simplepeer.ErrCodeDestroyed {
					t.Errorf("remote Send after close = %v, want code %s", err, simplepeer.ErrCodeDestroyed)
				}
			})
		}
	}
}

// TestDestroyTwice checks that destroy is idempotent, as in simple-peer:
// Close twice, Destroy(err) then Close, Close then Destroy(err), and many
// concurrent calls give one close and at most the first error.
func TestDestroyTwice(t *testing.T) {
	errFirst := errors.New("first")
	cases := []struct {
		name string
		do   func(p *simplepeer.Peer)
		want error
	}{
		{"Close Close", func(p *simplepeer.Peer) {
			if err := p.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if err := p.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		}, nil},
		{"Destroy Close", func(p *simplepeer.Peer) {
			p.Destroy(errFirst)
			_ = p.Close()
		}, errFirst},
		{"Destroy Destroy", func(p *simplepeer.Peer) {
			p.Destroy(errFirst)
			p.Destroy(errors.New("second"))
		}, errFirst},
		{"Close Destroy", func(p *simplepeer.Peer) {
			_ = p.Close()
			p.Destroy(errors.New("after close"))
		}, nil},
		{"concurrent Close", func(p *simplepeer.Peer) {
			var wg sync.WaitGroup
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_ = p.Close()
				}()
			}
			wg.Wait()
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p1, p2 := connectedPair(t)
			l1 := watchLifecycle(p1, "local")
			l2 := watchLifecycle(p2, "remote")
			tc.do(p1)
			l1.waitClosed(t, tc.want, testTimeout)
			l2.waitClosed(t, nil, remoteCloseTimeout)
			tc.do(p1)
			l1.expectNoMoreEvents(t)
			l1.check(t, tc.want)
		})
	}
}

// TestDestroyConcurrentErrors checks that when several goroutines destroy a
// peer with different errors at once, exactly one of them is reported,
// followed by one close.
func TestDestroyConcurrentErrors(t *testing.T) {
	p1, _ := connectedPair(t)
	l := watchLifecycle(p1, "peer")
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		errs[i] = fmt.Errorf("destroy %d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			p1.Destroy(errs[i])
		}()
	}
	wg.Wait()
	recv(t, l.closed, "close")
	l.mu.Lock()
	got := append([]error(nil), l.errs...)
	l.mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("%d error events, want 1: %v", len(got), got)
	}
	found := false
	for _, e := range errs {
		found = found || errors.Is(got[0], e)
	}
	if !found {
		t.Errorf("error event %v is none of the errors passed to Destroy", got[0])
	}
}

// TestDestroyFromHandler checks that a handler may destroy its own peer
// (simple-peer users call destroy() from any event): the call returns, the
// handler finishes, close follows once, and the remote sees a plain close.
func TestDestroyFromHandler(t *testing.T) {
	type stage struct {
		name string
		// run creates the peers with kill installed in the handler under
		// test and makes that handler run; p2 is nil when there is no
		// remote.
		run func(t *testing.T, kill func(p *simplepeer.Peer)) (p1, p2 *simplepeer.Peer)
	}
	stages := []stage{
		{"OnSignal", func(t *testing.T, kill func(*simplepeer.Peer)) (*simplepeer.Peer, *simplepeer.Peer) {
			p1 := newPeer(t, testOptions(true))
			p1.OnSignal(func(simplepeer.Signal) { kill(p1) })
			return p1, nil
		}},
		{"OnICEStateChange", func(t *testing.T, kill func(*simplepeer.Peer)) (*simplepeer.Peer, *simplepeer.Peer) {
			p1 := newPeer(t, testOptions(true))
			p1.OnICEStateChange(func(webrtc.ICEConnectionState, webrtc.ICEGatheringState) { kill(p1) })
			return p1, nil
		}},
		{"OnConnect", func(t *testing.T, kill func(*simplepeer.Peer)) (*simplepeer.Peer, *simplepeer.Peer) {
			p1, p2 := newPeerPair(t, nil, nil)
			p1.OnConnect(func() { kill(p1) })
			return p1, p2
		}},
		{"OnData", func(t *testing.T, kill func(*simplepeer.Peer)) (*simplepeer.Peer, *simplepeer.Peer) {
			p1, p2 := connectedPair(t)
			p1.OnData(func([]byte) { kill(p1) })
			for i := range 5 {
				// The first message can close p1, and p2 with it, before
				// the rest are sent.
				if err := p2.SendString("die"); err != nil && (i == 0 || simplepeer.Code(err) != simplepeer.ErrCodeDestroyed) {
					t.Fatalf("SendString %d: %v", i, err)
				}
			}
			return p1, p2
		}},
		{"OnNegotiated", func(t *testing.T, kill func(*simplepeer.Peer)) (*simplepeer.Peer, *simplepeer.Peer) {
			p1, p2 := connectedPair(t)
			// The first negotiation's event is held; take it, then
			// renegotiate for a fresh one.
			first := make(chan struct{}, 1)
			p1.OnNegotiated(func() { first <- struct{}{} })
			recv(t, first, "first negotiated")
			p1.OnNegotiated(func() { kill(p1) })
			if err := p1.Negotiate(); err != nil {
				t.Fatalf("Negotiate: %v", err)
			}
			return p1, p2
		}},
	}
	for _, st := range stages {
		for _, d := range destroyers {
			t.Run(st.name+"/"+d.name, func(t *testing.T) {
				returned := make(chan struct{})
				var once sync.Once
				var want error // set by kill, read after returned
				p1, p2 := st.run(t, func(p *simplepeer.Peer) {
					once.Do(func() {
						want = d.do(p)
						if !p.Destroyed() {
							t.Error("not Destroyed after destroy returned in a handler")
						}
						close(returned)
					})
				})
				var l2 *lifecycle
				if p2 != nil {
					l2 = watchLifecycle(p2, "remote")
				}
				l1 := &lifecycle{name: "peer", closed: make(chan struct{}, 8)}
				p1.OnError(func(err error) {
					l1.mu.Lock()
					l1.errs = append(l1.errs, err)
					l1.mu.Unlock()
					l1.add("error")
				})
				p1.OnClose(func() {
					l1.add("close")
					l1.closed <- struct{}{}
				})
				recv(t, returned, "destroy to return inside the handler")
				l1.waitClosed(t, want, testTimeout)
				if l2 != nil {
					l2.waitClosed(t, nil, remoteCloseTimeout)
				}
			})
		}
	}

	// Destroying again from the close and error handlers themselves.
	for _, d := range destroyers {
		t.Run("OnClose/"+d.name, func(t *testing.T) {
			p1, p2 := connectedPair(t)
			l2 := watchLifecycle(p2, "remote")
			returned := make(chan struct{})
			p1.OnError(func(err error) { t.Errorf("error event %v", err) })
			p1.OnClose(func() {
				d.do(p1)
				close(returned)
			})
			_ = p1.Close()
			recv(t, returned, "destroy to return inside OnClose")
			l2.waitClosed(t, nil, remoteCloseTimeout)
		})
		t.Run("OnError/"+d.name, func(t *testing.T) {
			p1, p2 := connectedPair(t)
			l2 := watchLifecycle(p2, "remote")
			l1 := watchLifecycle(p1, "peer")
			returned := make(chan struct{})
			p1.OnError(func(err error) {
				l1.mu.Lock()
				l1.errs = append(l1.errs, err)
				l1.mu.Unlock()
				l1.add("error")
				d.do(p1)
				close(returned)
			})
			errBoom := errors.New("boom")
			p1.Destroy(errBoom)
			recv(t, returned, "destroy to return inside OnError")
			l1.waitClosed(t, errBoom, testTimeout)
			l2.waitClosed(t, nil, remoteCloseTimeout)
		})
	}
}

// TestDestroyRightAfterConnect checks that the remote notices a destroy that
// comes at the earliest moment, inside the initiator's connect handler, and
// gets a plain close promptly (simple-peer's remote sees its channel close).
// The initiator's channel opens as soon as its open request is sent, so the
// remote may not have accepted the channel yet; the scenario is repeated to
// cover both orders.
func TestDestroyRightAfterConnect(t *testing.T) {
	for i := range 20 {
		p1, p2 := newPeerPair(t, nil, nil)
		destroyed := make(chan struct{})
		p1.OnConnect(func() {
			p1.Destroy(errors.New("destroyed in OnConnect"))
			close(destroyed)
		})
		l2 := watchLifecycle(p2, "remote")
		recv(t, destroyed, "Destroy in OnConnect")
		select {
		case <-l2.closed:
		case <-time.After(remoteCloseTimeout):
			t.Fatalf("attempt %d: remote got no close within %v (channel %q, ICE %s, events %v)",
				i, remoteCloseTimeout, p2.ChannelName(), p2.PeerConnection().ICEConnectionState(), l2.events())
		}
		l2.check(t, nil)
		_ = p2.Close()
	}
}

// TestDestroyedPeerMethods checks that after destroy every method fails as
// simple-peer's throw ERR_DESTROYED does (net.Conn methods with
// net.ErrClosed), and that the flags and accessors stay usable.
func TestDestroyedPeerMethods(t *testing.T) {
	newTrack := func(id string) webrtc.TrackLocal {
		tr, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, id, "stream")
		if err != nil {
			t.Fatalf("NewTrackLocalStaticSample: %v", err)
		}
		return tr
	}
	ends := []struct {
		name string
		end  func(t *testing.T) (p *simplepeer.Peer, added webrtc.TrackLocal)
	}{
		{"fresh initiator Destroy", func(t *testing.T) (*simplepeer.Peer, webrtc.TrackLocal) {
			p := newPeer(t, testOptions(true))
			p.Destroy(errors.New("test"))
			return p, nil
		}},
		{"fresh non-initiator Close", func(t *testing.T) (*simplepeer.Peer, webrtc.TrackLocal) {
			p := newPeer(t, testOptions(false))
			_ = p.Close()
			return p, nil
		}},
		{"connected Close", func(t *testing.T) (*simplepeer.Peer, webrtc.TrackLocal) {
			p1, _ := connectedPair(t)
			tr := newTrack("added")
			if err := p1.AddTrack(tr); err != nil {
				t.Fatalf("AddTrack: %v", err)
			}
			_ = p1.Close()
			return p1, tr
		}},
		{"closed by remote", func(t *testing.T) (*simplepeer.Peer, webrtc.TrackLocal) {
			p1, p2 := connectedPair(t)
			closed := make(chan struct{})
			p2.OnClose(func() { close(closed) })
			_ = p1.Close()
			recv(t, closed, "remote close")
			return p2, nil
		}},
	}
	for _, e := range ends {
		t.Run(e.name, func(t *testing.T) {
			p, added := e.end(t)
			if added == nil {
				added = newTrack("never-added")
			}
			other := newTrack("other")
			calls := []struct {
				name string
				call func() error
			}{
				{"Signal candidate", func() error { return p.Signal(candidateSignal(chromeHostCandidate)) }},
				{"Signal offer", func() error { return p.Signal(simplepeer.Signal{Type: simplepeer.SignalOffer, SDP: "v=0\r\n"}) }},
				{"Signal renegotiate", func() error {
					return p.Signal(simplepeer.Signal{Type: simplepeer.SignalRenegotiate, Renegotiate: true})
				}},
				{"Send", func() error { return p.Send([]byte("x")) }},
				{"SendString", func() error { return p.SendString("x") }},
				{"AddTrack", func() error { return p.AddTrack(other) }},
				{"RemoveTrack", func() error { return p.RemoveTrack(added) }},
				{"ReplaceTrack", func() error { return p.ReplaceTrack(added, other) }},
				{"AddStream", func() error { return p.AddStream(other) }},
				{"RemoveStream", func() error { return p.RemoveStream(added) }},
				{"AddTransceiver", func() error { return p.AddTransceiver(webrtc.RTPCodecTypeAudio) }},
				{"Negotiate", p.Negotiate},
			}
			for _, c := range calls {
				err := c.call()
				var pe *simplepeer.Error
				if !errors.As(err, &pe) || pe.Code != simplepeer.ErrCodeDestroyed {
					t.Errorf("%s after destroy = %v, want *Error with code %s", c.name, err, simplepeer.ErrCodeDestroyed)
				}
			}
			if n, err := p.Write([]byte("x")); n != 0 || !errors.Is(err, net.ErrClosed) {
				t.Errorf("Write after destroy = %d, %v; want 0, net.ErrClosed", n, err)
			}
			if n, err := p.Read(make([]byte, 8)); n != 0 || !(errors.Is(err, net.ErrClosed) || err == io.EOF) {
				t.Errorf("Read after destroy = %d, %v; want 0, net.ErrClosed or io.EOF", n, err)
			}
			if !p.Destroyed() || p.Connected() {
				t.Errorf("Destroyed %v, Connected %v; want true, false", p.Destroyed(), p.Connected())
			}
			if err := p.Close(); err != nil {
				t.Errorf("Close again: %v", err)
			}
			// Accessors keep working.
			_ = p.ID()
			_ = p.Initiator()
			_ = p.ChannelName()
			_ = p.BufferedAmount()
			_ = p.LocalAddr().String()
			_ = p.RemoteAddr().String()
			_ = p.GetStats()
			if err := p.SetDeadline(time.Now()); err != nil {
				t.Errorf("SetDeadline after destroy: %v", err)
			}
		})
	}
}

// TestDestroyReadAfterLocalClose checks the net.Conn side: Read and Write
// after the local Close return net.ErrClosed.
func TestDestroyReadAfterLocalClose(t *testing.T) {
	p1, _ := connectedPair(t)
	_ = p1.Close()
	if _, err := p1.Read(make([]byte, 8)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after Close = %v, want net.ErrClosed", err)
	}
	if _, err := p1.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close = %v, want net.ErrClosed", err)
	}
}

// TestDestroyFlags checks Connected and Destroyed through a peer's life.
func TestDestroyFlags(t *testing.T) {
	p1, p2 := newPeerPair(t, nil, nil)
	for i, p := range []*simplepeer.Peer{p1, p2} {
		if p.Connected() || p.Destroyed() {
			t.Errorf("peer %d new: Connected %v, Destroyed %v", i+1, p.Connected(), p.Destroyed())
		}
	}
	// Connected is true by the time the connect handler runs.
	inHandler := make(chan bool, 2)
	p1.OnConnect(func() { inHandler <- p1.Connected() })
	p2.OnConnect(func() { inHandler <- p2.Connected() })
	for range 2 {
		if !recv(t, inHandler, "connect") {
			t.Error("Connected false inside OnConnect")
		}
	}
	closed := make(chan struct{})
	p2.OnClose(func() { close(closed) })
	_ = p1.Close()
	if p1.Connected() || !p1.Destroyed() {
		t.Errorf("after Close: Connected %v, Destroyed %v", p1.Connected(), p1.Destroyed())
	}
	recv(t, closed, "remote close")
	if p2.Connected() || !p2.Destroyed() {
		t.Errorf("remote after close: Connected %v, Destroyed %v", p2.Connected(), p2.Destroyed())
	}
}

// TestEventOrder checks simple-peer's event order on both peers of a full
// life: connect comes before any data (even data the remote sent at its own
// connect or wrote before connecting), close comes once and last, and the
// error of Destroy(err) comes right before it.
func TestEventOrder(t *testing.T) {
	for i := range 5 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			p1, p2 := newPeerPair(t, nil, nil)
			l1 := watchLifecycle(p1, "initiator")
			l2 := watchLifecycle(p2, "non-initiator")
			const burst = 20
			data := [2]chan struct{}{make(chan struct{}, 2*burst+2), make(chan struct{}, 2*burst+2)}
			for i, pl := range []struct {
				p *simplepeer.Peer
				l *lifecycle
			}{{p1, l1}, {p2, l2}} {
				pl.p.OnData(func([]byte) {
					pl.l.add("data")
					data[i] <- struct{}{}
				})
				// Written before connect: flushed at connect.
				if _, err := pl.p.Write([]byte("early")); err != nil {
					t.Fatalf("Write before connect: %v", err)
				}
				pl.p.OnConnect(func() {
					pl.l.add("connect")
					for range burst {
						if err := pl.p.SendString("on connect"); err != nil {
							t.Errorf("SendString in OnConnect: %v", err)
						}
					}
					pl.l.connect <- struct{}{}
				})
			}
			recv(t, l1.connect, "connect 1")
			recv(t, l2.connect, "connect 2")
			for i := range 2 {
				for range burst + 1 {
					recv(t, data[i], "data")
				}
			}
			errEnd := errors.New("end")
			p2.Destroy(errEnd)
			l2.waitClosed(t, errEnd, testTimeout)
			l1.waitClosed(t, nil, remoteCloseTimeout)
			for _, l := range []*lifecycle{l1, l2} {
				ev := l.events()
				c, d := eventIndex(ev, "connect"), eventIndex(ev, "data")
				if c < 0 || d < c {
					t.Errorf("%s: data before connect: %v", l.name, ev)
				}
				if ev[len(ev)-1] != "close" {
					t.Errorf("%s: close is not the last event: %v", l.name, ev)
				}
			}
		})
	}
}

// stallingLogger is a LoggerFactory whose Debugf blocks while stall says so:
// a way to hold the library's goroutine at a chosen log line, to widen a
// race window deterministically.
type stallingLogger struct {
	logging.LeveledLogger
	stall func(format string)
}

func (l stallingLogger) NewLogger(string) logging.LeveledLogger { return l }
func (l stallingLogger) Debugf(format string, _ ...any)         { l.stall(format) }

// TestEventOrderConnectBeforeData checks "connect comes before any data"
// when data arrives while the peer is becoming connected: the library's
// debug log of the connect (written by its goroutine between marking the
// peer connected and emitting connect) is stalled until the remote's data
// has had every chance to be delivered. Data must still wait for connect.
func TestEventOrderConnectBeforeData(t *testing.T) {
	gotData := make(chan struct{})
	gotConnect := make(chan struct{})
	o1 := testOptions(true)
	o1.LoggerFactory = stallingLogger{
		LeveledLogger: logging.NewDefaultLeveledLoggerForScope("test", logging.LogLevelDisabled, io.Discard),
		stall: func(format string) {
			if !strings.Contains(format, "connect local") {
				return
			}
			select {
			case <-gotData:
			case <-gotConnect:
			case <-time.After(500 * time.Millisecond): // bounded: the correct order never unblocks
			}
		},
	}
	p1, p2 := newPeerPair(t, o1, nil)
	var mu sync.Mutex
	var order []string
	var dataOnce, connectOnce sync.Once
	p1.OnData(func([]byte) {
		mu.Lock()
		order = append(order, "data")
		mu.Unlock()
		dataOnce.Do(func() { close(gotData) })
	})
	p1.OnConnect(func() {
		mu.Lock()
		order = append(order, "connect")
		mu.Unlock()
		connectOnce.Do(func() { close(gotConnect) })
	})
	// Flushed the moment p2 connects, independently of p1.
	if _, err := p2.Write([]byte("early")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	recv(t, gotConnect, "connect")
	recv(t, gotData, "data")
	mu.Lock()
	defer mu.Unlock()
	if order[0] != "connect" {
		t.Errorf("events %v: data delivered before connect", order)
	}
}

// TestEventHeldUntilHandlerSet checks that an event that fires before its
// handler is set is delivered when the handler is set: the initiator's
// offer (simple-peer users often attach on('signal') a tick late), connect,
// and error and close after a destroy.
func TestEventHeldUntilHandlerSet(t *testing.T) {
	t.Run("offer", func(t *testing.T) {
		p1 := newPeer(t, testOptions(true))
		p2 := newPeer(t, testOptions(false))
		// The ICE gathering state changes only after the offer is set
		// locally, so once such an event is seen the offer has been
		// emitted, with no OnSignal handler to take it.
		gathering := make(chan struct{}, 1)
		p1.OnICEStateChange(func(_ webrtc.ICEConnectionState, g webrtc.ICEGatheringState) {
			if g != webrtc.ICEGatheringStateNew {
				select {
				case gathering <- struct{}{}:
				default:
				}
			}
		})
		recv(t, gathering, "ICE gathering to start")
		first := make(chan simplepeer.Signal, 1)
		var once sync.Once
		p1.OnSignal(func(s simplepeer.Signal) {
			once.Do(func() { first <- s })
			forward(t, p2, s)
		})
		p2.OnSignal(func(s simplepeer.Signal) { forward(t, p1, s) })
		if s := recv(t, first, "held offer"); s.Type != simplepeer.SignalOffer {
			t.Fatalf("first signal %s, want offer", s.Type)
		}
		connected(t, p1, p2)
		exchangeMessages(t, p1, p2)
	})

	t.Run("held event before a newer one of its kind", func(t *testing.T) {
		// p1's have-local-offer state change is held (no handler). While
		// p1's dispatcher is busy in its offer handler, the answer makes
		// p1 queue the stable state change, and then the handler is set:
		// the newer event, queued before the handler was set, must not
		// overtake the held one.
		p1 := newPeer(t, testOptions(true))
		p2 := newPeer(t, testOptions(false))
		answered, release := make(chan struct{}), make(chan struct{})
		var offerOnce, answerOnce sync.Once
		p1.OnSignal(func(s simplepeer.Signal) {
			forward(t, p2, s)
			if s.Type == simplepeer.SignalOffer {
				offerOnce.Do(func() {
					select { // bounded, so a broken test cannot hang
					case <-release:
					case <-time.After(testTimeout):
					}
				})
			}
		})
		p2.OnSignal(func(s simplepeer.Signal) {
			forward(t, p1, s) // returns once p1 has applied it
			if s.Type == simplepeer.SignalAnswer {
				answerOnce.Do(func() { close(answered) })
			}
		})
		recv(t, answered, "answer applied")
		states := make(chan webrtc.SignalingState, 4)
		p1.OnSignalingStateChange(func(s webrtc.SignalingState) { states <- s })
		close(release)
		for _, want := range []webrtc.SignalingState{webrtc.SignalingStateHaveLocalOffer, webrtc.SignalingStateStable} {
			if got := recv(t, states, "signaling state"); got != want {
				t.Fatalf("signaling state %s, want %s", got, want)
			}
		}
		connected(t, p1, p2)
	})

	t.Run("connect", func(t *testing.T) {
		p1, p2 := newPeerPair(t, nil, nil)
		// p1's connect is not handled; its data comes after its connect,
		// so when p1's OnData runs the connect event is held.
		got := make(chan struct{}, 1)
		p1.OnData(func([]byte) { got <- struct{}{} })
		p2.OnConnect(func() {
			if err := p2.SendString("hi"); err != nil {
				t.Errorf("SendString: %v", err)
			}
		})
		recv(t, got, "data")
		connect := make(chan struct{}, 1)
		p1.OnConnect(func() { connect <- struct{}{} })
		recv(t, connect, "held connect")
	})

	t.Run("error and close", func(t *testing.T) {
		p := newPeer(t, testOptions(true))
		errEnd := errors.New("end")
		p.Destroy(errEnd)
		gotErr := make(chan error, 2)
		p.OnError(func(err error) { gotErr <- err })
		if err := recv(t, gotErr, "held error"); !errors.Is(err, errEnd) {
			t.Errorf("error %v, want %v", err, errEnd)
		}
		closed := make(chan struct{}, 2)
		p.OnClose(func() { closed <- struct{}{} })
		recv(t, closed, "held close")
		p.OnClose(func() { closed <- struct{}{} })
		_ = p.Close()
		select {
		case <-closed:
			t.Error("close delivered twice")
		default:
		}
	})
}

// TestHandlersOneAtATime checks that all handlers of one peer run one at a
// time (simple-peer's events are emitted on one JS thread), while the peers
// connect, renegotiate, exchange bursts both ways, reinstall handlers from
// inside handlers, and are destroyed.
func TestHandlersOneAtATime(t *testing.T) {
	p1 := newPeer(t, testOptions(true))
	p2 := newPeer(t, testOptions(false))
	type guard struct {
		running atomic.Int32
		overlap atomic.Bool
	}
	var g [2]guard
	enter := func(i int) func() {
		if g[i].running.Add(1) > 1 {
			g[i].overlap.Store(true)
		}
		runtime.Gosched()
		return func() { g[i].running.Add(-1) }
	}
	const burst = 200
	var received [2]atomic.Int32
	allData := make(chan int, 2)
	connects := make(chan int, 2)
	closes := make(chan int, 2)
	negotiated := make(chan int, 8)
	peers := [2]*simplepeer.Peer{p1, p2}
	for i, p := range peers {
		other := peers[1-i]
		var onData func([]byte)
		onData = func([]byte) {
			defer enter(i)()
			// Reinstalling a handler from inside a handler must not block.
			p.OnData(onData)
			if received[i].Add(1) == burst {
				allData <- i
			}
		}
		p.OnData(onData)
		p.OnSignal(func(s simplepeer.Signal) {
			defer enter(i)()
			forward(t, other, s)
		})
		p.OnConnect(func() {
			defer enter(i)()
			_ = p.Connected()
			_ = p.BufferedAmount()
			connects <- i
		})
		p.OnICEStateChange(func(webrtc.ICEConnectionState, webrtc.ICEGatheringState) { defer enter(i)() })
		p.OnSignalingStateChange(func(webrtc.SignalingState) { defer enter(i)() })
		p.OnNegotiated(func() {
			defer enter(i)()
			negotiated <- i
		})
		p.OnError(func(error) { defer enter(i)() })
		p.OnClose(func() {
			defer enter(i)()
			closes <- i
		})
	}
	recv(t, connects, "connect")
	recv(t, connects, "connect")
	var wg sync.WaitGroup
	for _, p := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range burst {
				if err := p.SendString("x"); err != nil {
					t.Errorf("SendString: %v", err)
					return
				}
			}
		}()
	}
	if err := p1.Negotiate(); err != nil {
		t.Fatalf("Negotiate: %v", err)
	}
	if err := p2.Negotiate(); err != nil {
		t.Fatalf("Negotiate: %v", err)
	}
	wg.Wait()
	recv(t, allData, "all data")
	recv(t, allData, "all data")
	p1.Destroy(errors.New("end"))
	recv(t, closes, "close")
	recv(t, closes, "close")
	for i := range g {
		if g[i].overlap.Load() {
			t.Errorf("peer %d: two handlers ran at once", i+1)
		}
	}
}
