package simplepeer_test

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/webrtc/v3"
)

// restartLog records the signals a wired pair exchanges.
type restartLog struct {
	mu  sync.Mutex
	all []simplepeer.Signal
}

func (l *restartLog) add(s simplepeer.Signal) {
	l.mu.Lock()
	l.all = append(l.all, s)
	l.mu.Unlock()
}

// offerUfrags returns the ICE ufrag of every offer so far, in order.
func (l *restartLog) offerUfrags() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, s := range l.all {
		if s.Type == simplepeer.SignalOffer {
			out = append(out, iceUfragOf(s.SDP))
		}
	}
	return out
}

func (l *restartLog) has(match func(simplepeer.Signal) bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.all {
		if match(s) {
			return true
		}
	}
	return false
}

// wireLogged is wire, recording every signal.
func wireLogged(t testing.TB, a, b *simplepeer.Peer) *restartLog {
	log := &restartLog{}
	a.OnSignal(func(s simplepeer.Signal) { log.add(s); forward(t, b, s) })
	b.OnSignal(func(s simplepeer.Signal) { log.add(s); forward(t, a, s) })
	return log
}

// restartDone returns a channel that receives once p's ICE has gone through
// checking (a new session) and is connected again.
func restartDone(p *simplepeer.Peer) <-chan struct{} {
	done := make(chan struct{})
	var once sync.Once
	checking := false
	p.OnICEStateChange(func(s webrtc.ICEConnectionState, _ webrtc.ICEGatheringState) {
		switch s {
		case webrtc.ICEConnectionStateChecking:
			checking = true
		case webrtc.ICEConnectionStateConnected, webrtc.ICEConnectionStateCompleted:
			if checking {
				once.Do(func() { close(done) })
			}
		}
	})
	return done
}

// transfer writes data from w to r in the background and returns a channel
// with the error of reading it all back intact.
func transfer(t testing.TB, w, r *simplepeer.Peer, data []byte) <-chan error {
	t.Helper()
	res := make(chan error, 2)
	go func() {
		if _, err := w.Write(data); err != nil {
			res <- err
		}
	}()
	go func() {
		got := make([]byte, len(data))
		_ = r.SetReadDeadline(time.Now().Add(testTimeout))
		if _, err := io.ReadFull(r, got); err != nil {
			res <- err
			return
		}
		if !bytes.Equal(got, data) {
			res <- io.ErrUnexpectedEOF
			return
		}
		res <- nil
	}()
	return res
}

// noClose fails the test if p closes before the test ends.
func noClose(t *testing.T, p *simplepeer.Peer) {
	ended := make(chan struct{})
	t.Cleanup(func() { close(ended) })
	p.OnClose(func() {
		select {
		case <-ended:
		default:
			t.Errorf("peer %s closed during an ICE restart", p.ID())
		}
	})
}

// An ICE restart from either side, in the middle of a transfer: the
// initiator offers new ICE credentials (asked by the non-initiator's
// renegotiate signal with iceRestart), ICE checks again, and the transfer
// completes intact without a close.
func TestRestartICE(t *testing.T) {
	for _, from := range []string{"initiator", "non-initiator", "initiator/no-trickle", "non-initiator/no-trickle"} {
		t.Run(from, func(t *testing.T) {
			o1, o2 := testOptions(true), testOptions(false)
			if strings.HasSuffix(from, "/no-trickle") {
				o1.DisableTrickle, o2.DisableTrickle = true, true
				from = strings.TrimSuffix(from, "/no-trickle")
			}
			p1 := newPeer(t, o1)
			p2 := newPeer(t, o2)
			log := wireLogged(t, p1, p2)
			connected(t, p1, p2)
			noClose(t, p1)
			noClose(t, p2)
			restarted := restartDone(p1)
			data := randomBytes(t, 4<<20)
			res := transfer(t, p1, p2, data)

			restarter := map[string]*simplepeer.Peer{"initiator": p1, "non-initiator": p2}[from]
			if err := restarter.RestartICE(); err != nil {
				t.Fatalf("RestartICE: %v", err)
			}
			recv(t, restarted, "ICE connected again after the restart")
			if err := recv(t, res, "the transfer"); err != nil {
				t.Fatalf("transfer across the restart: %v", err)
			}
			ufrags := log.offerUfrags()
			if len(ufrags) != 2 || ufrags[0] == ufrags[1] {
				t.Errorf("offers' ICE ufrags %q: want two, the second new", ufrags)
			}
			asked := log.has(func(s simplepeer.Signal) bool { return s.Type == simplepeer.SignalRenegotiate && s.ICERestart })
			if asked != (from == "non-initiator") {
				t.Errorf("renegotiate signal with iceRestart sent: %v, want %v", asked, from == "non-initiator")
			}
			if pair := p1.SelectedCandidatePair(); pair == nil {
				t.Error("no selected candidate pair after the restart")
			}
		})
	}
}

// A restart request is queued behind a negotiation in progress and still
// restarts ICE; after destroy RestartICE fails with ERR_DESTROYED.
func TestRestartICEQueuedAndAfterDestroy(t *testing.T) {
	p1 := newPeer(t, testOptions(true))
	p2 := newPeer(t, testOptions(false))
	log := wireLogged(t, p1, p2)
	connected(t, p1, p2)
	restarted := restartDone(p2)
	if err := p1.Negotiate(); err != nil {
		t.Fatal(err)
	}
	if err := p1.RestartICE(); err != nil {
		t.Fatal(err)
	}
	recv(t, restarted, "ICE connected again after the queued restart")
	if u := log.offerUfrags(); len(u) < 2 || u[len(u)-1] == u[0] {
		t.Errorf("offers' ufrags %q: the last should be new", u)
	}
	_ = p1.Close()
	if err := p1.RestartICE(); simplepeer.Code(err) != simplepeer.ErrCodeDestroyed {
		t.Errorf("RestartICE after Close: %v, want ERR_DESTROYED", err)
	}
}
