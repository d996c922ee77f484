package simplepeer_test

// Abuse: every public method called at once from many goroutines while the
// peer is being destroyed, signals delivered twice, out of order or to a
// closed peer, and oversize or overabundant signals. Run with -race.

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/webrtc/v3"
)

// abuseSeed seeds the tests' random choices; it is logged, so that a failing
// schedule can be replayed by setting it here.
var abuseSeed = uint64(time.Now().UnixNano())

// waitOrDump waits for done like recv, but on a timeout it fails the test
// with every goroutine's stack: a call that never returns is the bug.
func waitOrDump(t testing.TB, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(testTimeout):
		buf := make([]byte, 4<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("timed out waiting for %s; goroutines:\n%s", what, buf)
	}
}

// signalCapture carries every signal between two peers, as wire does, and
// keeps the first candidate each side sent and any renegotiate request.
type signalCapture struct {
	mu          sync.Mutex
	candidate   map[*simplepeer.Peer]simplepeer.Signal
	renegotiate *simplepeer.Signal
	got         chan struct{} // a candidate or renegotiate was captured
}

func wireCapturing(t testing.TB, a, b *simplepeer.Peer) *signalCapture {
	c := &signalCapture{candidate: map[*simplepeer.Peer]simplepeer.Signal{}, got: make(chan struct{}, 16)}
	carry := func(from, to *simplepeer.Peer) func(simplepeer.Signal) {
		return func(s simplepeer.Signal) {
			c.mu.Lock()
			captured := false
			switch s.Type {
			case simplepeer.SignalCandidate:
				if _, ok := c.candidate[from]; !ok {
					c.candidate[from] = s
					captured = true
				}
			case simplepeer.SignalRenegotiate:
				if c.renegotiate == nil {
					c.renegotiate = &s
					captured = true
				}
			}
			c.mu.Unlock()
			if captured {
				c.got <- struct{}{}
			}
			forward(t, to, s)
		}
	}
	a.OnSignal(carry(a, b))
	b.OnSignal(carry(b, a))
	return c
}

// waitCaptured waits until a candidate of each peer and a renegotiate
// request have been captured.
func (c *signalCapture) waitCaptured(t testing.TB, a, b *simplepeer.Peer) {
	t.Helper()
	for {
		c.mu.Lock()
		_, okA := c.candidate[a]
		_, okB := c.candidate[b]
		done := okA && okB && c.renegotiate != nil
		c.mu.Unlock()
		if done {
			return
		}
		recv(t, c.got, "a captured signal")
	}
}

// Error classes a call may return under abuse.
const (
	peerErrors = iota // nil or an *Error with a code
	connErrors        // also net.ErrClosed, os.ErrDeadlineExceeded, io.EOF
	noError           // nil only
)

func checkAbuseError(t testing.TB, call string, class int, err error) {
	if err == nil {
		return
	}
	if class == noError {
		t.Errorf("%s = %v, want nil", call, err)
		return
	}
	var pe *simplepeer.Error
	if errors.As(err, &pe) {
		if pe.Code == "" {
			t.Errorf("%s = %#v: *Error without a code", call, err)
		}
		return
	}
	if class == connErrors && (errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) || err == io.EOF) {
		return
	}
	t.Errorf("%s = %v (%T): want an *Error with a code%s", call, err, err,
		map[bool]string{true: ", net.ErrClosed, os.ErrDeadlineExceeded or io.EOF"}[class == connErrors])
}

// abuseCall is one method call made by the goroutines of
// TestConcurrentCallsWhileDestroying.
type abuseCall struct {
	name  string
	class int
	do    func(rng *rand.Rand) error
}

// junkSignals are signals a peer cannot use: each must be refused with
// ERR_SIGNALING (or ERR_DESTROYED) and destroy nothing.
var junkSignals = []simplepeer.Signal{
	{Type: "bogus"},
	{},
	{Type: simplepeer.SignalOffer},
	{Type: simplepeer.SignalAnswer, SDP: " \r\n"},
	{Type: simplepeer.SignalCandidate},
	candidateSignal("candidate:garbage"),
	{Type: simplepeer.SignalRenegotiate},
	{Type: simplepeer.SignalTransceiverRequest, TransceiverRequest: &simplepeer.TransceiverRequest{Kind: "smell"}},
}

// TestConcurrentCallsWhileDestroying checks that every method of a
// connected peer may be called from many goroutines while one of them
// destroys it: no call panics or hangs, every error is an *Error with a
// code (or, from the net.Conn methods, net.ErrClosed, os.ErrDeadlineExceeded
// or io.EOF), junk signals are refused with ERR_SIGNALING, calls after
// destroy fail with ERR_DESTROYED, and once Destroy or Close returns Done is
// closed. The remote sees the close. Rounds alternate the abused side and
// whether Close is among the concurrent calls.
func TestConcurrentCallsWhileDestroying(t *testing.T) {
	rounds := 100
	if testing.Short() {
		rounds = 10
	}
	t.Logf("seed %d", abuseSeed)
	sem := make(chan struct{}, 2) // two pairs at a time: 2 shared cores
	t.Run("rounds", func(t *testing.T) {
		for round := range rounds {
			t.Run(fmt.Sprint(round), func(t *testing.T) {
				t.Parallel()
				sem <- struct{}{}
				defer func() { <-sem }()
				abuseRound(t, round)
			})
		}
	})
}

func abuseRound(t *testing.T, round int) {
	p1 := newPeer(t, testOptions(true))
	p2 := newPeer(t, testOptions(false))
	capture := wireCapturing(t, p1, p2)
	connected(t, p1, p2)
	if err := p2.Negotiate(); err != nil { // the renegotiate request to capture
		t.Fatalf("Negotiate: %v", err)
	}
	capture.waitCaptured(t, p1, p2)

	p, remote := p1, p2
	if round%2 == 1 {
		p, remote = p2, p1
	}
	withClose := round%4 >= 2
	remote.OnData(func([]byte) {}) // consume, so that the window never fills
	capture.mu.Lock()
	realCandidate := capture.candidate[remote]
	renegotiate := *capture.renegotiate
	capture.mu.Unlock()
	destroyErr := fmt.Errorf("round %d: destroyed by the test", round)

	checkDone := func(call string) {
		if !isDone(p.Done()) {
			t.Errorf("%s returned but Done is not closed", call)
		}
	}
	calls := []abuseCall{
		{"Send", peerErrors, func(*rand.Rand) error { return p.Send(make([]byte, 1024)) }},
		{"SendString", peerErrors, func(*rand.Rand) error { return p.SendString("abuse") }},
		{"Write", connErrors, func(*rand.Rand) error {
			_, err := p.Write(make([]byte, 20<<10)) // two messages
			return err
		}},
		{"Read", connErrors, func(*rand.Rand) error {
			if err := p.SetReadDeadline(time.Now().Add(2 * time.Millisecond)); err != nil {
				return err
			}
			_, err := p.Read(make([]byte, 512))
			return err
		}},
		{"Signal(candidate)", peerErrors, func(*rand.Rand) error { return p.Signal(realCandidate) }},
		{"Signal(renegotiate)", peerErrors, func(*rand.Rand) error { return p.Signal(renegotiate) }},
		{"Signal(junk)", peerErrors, func(rng *rand.Rand) error {
			s := junkSignals[rng.IntN(len(junkSignals))]
			err := p.Signal(s)
			if c := simplepeer.Code(err); c != simplepeer.ErrCodeSignaling && c != simplepeer.ErrCodeDestroyed {
				t.Errorf("Signal(junk %+v) = %v, want code %s or %s", s, err, simplepeer.ErrCodeSignaling, simplepeer.ErrCodeDestroyed)
			}
			return err
		}},
		{"AddTrack", peerErrors, func(*rand.Rand) error {
			tr, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "abuse")
			if err != nil {
				t.Errorf("NewTrackLocalStaticSample: %v", err)
				return nil
			}
			return p.AddTrack(tr)
		}},
		{"SetDeadline", connErrors, func(rng *rand.Rand) error {
			return p.SetDeadline(time.Now().Add(time.Duration(1+rng.IntN(10)) * time.Millisecond))
		}},
		{"BufferedAmount", noError, func(*rand.Rand) error {
			_ = p.BufferedAmount()
			return nil
		}},
	}
	if withClose {
		calls = append(calls, abuseCall{"Close", noError, func(*rand.Rand) error {
			err := p.Close()
			checkDone("Close")
			return err
		}})
	}
	// After destroy, the peer's own methods must say so.
	checkAfter := func(c abuseCall, err error) {
		if c.class != peerErrors {
			return
		}
		if code := simplepeer.Code(err); code != simplepeer.ErrCodeDestroyed {
			t.Errorf("%s after Destroy returned = %v, want code %s", c.name, err, simplepeer.ErrCodeDestroyed)
		}
	}

	const goroutines, maxCalls = 10, 8
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					buf := make([]byte, 64<<10)
					t.Errorf("goroutine %d panicked: %v\n%s", g, r, buf[:runtime.Stack(buf, false)])
				}
			}()
			rng := rand.New(rand.NewPCG(abuseSeed, uint64(round*goroutines+g)))
			destroyAfter := -1
			if g == 0 {
				destroyAfter = rng.IntN(5)
			}
			<-start
			destroyed := false
			for i := range maxCalls {
				if i == destroyAfter {
					p.Destroy(destroyErr)
					checkDone("Destroy")
					destroyed = true
					continue
				}
				c := calls[rng.IntN(len(calls))]
				err := c.do(rng)
				checkAbuseError(t, c.name, c.class, err)
				if destroyed {
					checkAfter(c, err)
					break // one call after destroy is enough
				}
				if p.Destroyed() && g != 0 {
					break
				}
			}
		}()
	}
	finished := make(chan struct{})
	go func() {
		wg.Wait()
		close(finished)
	}()
	close(start)
	waitOrDump(t, finished, "the concurrent calls")
	if !p.Destroyed() || !isDone(p.Done()) {
		t.Errorf("after Destroy: Destroyed %v, Done closed %v", p.Destroyed(), isDone(p.Done()))
	}
	waitOrDump(t, remote.Done(), "the remote to close")
}

func isDone(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
