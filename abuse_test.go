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
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/webrtc/v3"
)

// abuseSeed seeds the tests' random choices. It is logged; set
// SIMPLEPEER_ABUSE_SEED to it to replay a failing schedule (as far as the
// goroutines' timing allows).
var abuseSeed = func() uint64 {
	if s, err := strconv.ParseUint(os.Getenv("SIMPLEPEER_ABUSE_SEED"), 10, 64); err == nil {
		return s
	}
	return uint64(time.Now().UnixNano())
}()

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

// signalHold keeps what a peer signals until it is taken, then forwards
// what comes later at once, as a relay that reorders or repeats signals.
type signalHold struct {
	mu       sync.Mutex
	held     []simplepeer.Signal
	live     func(simplepeer.Signal) // set by take: deliver at once
	gathered bool                    // the peer's ICE gathering completed
	changed  chan struct{}           // poked on each signal and on gathering
}

func holdSignals(p *simplepeer.Peer) *signalHold {
	h := &signalHold{changed: make(chan struct{}, 1)}
	p.OnSignal(func(s simplepeer.Signal) {
		h.mu.Lock()
		live := h.live
		if live == nil {
			h.held = append(h.held, s)
		}
		h.mu.Unlock()
		if live != nil {
			live(s)
		}
		poke(h.changed)
	})
	p.OnICEStateChange(func(_ webrtc.ICEConnectionState, g webrtc.ICEGatheringState) {
		if g == webrtc.ICEGatheringStateComplete {
			h.mu.Lock()
			h.gathered = true
			h.mu.Unlock()
			poke(h.changed)
		}
	})
	return h
}

// waitGathered waits until the peer has completed ICE gathering, has
// signalled every candidate of its local description, and has signalled
// descs descriptions. (The gathering-complete event alone is not enough:
// see TestGatheringCompleteAfterCandidates.)
func (h *signalHold) waitGathered(t testing.TB, p *simplepeer.Peer, descs int) {
	t.Helper()
	for {
		h.mu.Lock()
		n, cands := 0, 0
		for _, s := range h.held {
			switch s.Type {
			case simplepeer.SignalOffer, simplepeer.SignalAnswer:
				n++
			case simplepeer.SignalCandidate:
				cands++
			}
		}
		gathered := h.gathered
		h.mu.Unlock()
		if gathered && n >= descs {
			ld := p.PeerConnection().LocalDescription()
			// Pion writes each candidate twice, as components 1 and 2.
			if ld != nil && cands >= len(rtpCandidateLine.FindAllString(ld.SDP, -1)) {
				return
			}
		}
		select {
		case <-h.changed:
		case <-time.After(testTimeout):
			ld := p.PeerConnection().LocalDescription()
			t.Fatalf("timed out waiting for signals and ICE gathering: gathered %v, %d descriptions (want %d), %d candidates, local description %v", gathered, n, descs, cands, ld)
		}
	}
}

// take returns the held signals; from now on signals go to live at once.
func (h *signalHold) take(live func(simplepeer.Signal)) []simplepeer.Signal {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.live = live
	held := h.held
	h.held = nil
	return held
}

// signalResult is one delivery and what Signal returned.
type signalResult struct {
	s   simplepeer.Signal
	err error
}

// resultLog records deliveries from several goroutines, poking changed
// (if set) after each.
type resultLog struct {
	mu      sync.Mutex
	res     []signalResult
	changed chan struct{}
}

func (l *resultLog) deliver(to *simplepeer.Peer, s simplepeer.Signal) error {
	err := to.Signal(s)
	l.mu.Lock()
	l.res = append(l.res, signalResult{s, err})
	l.mu.Unlock()
	poke(l.changed)
	return err
}

func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (l *resultLog) results() []signalResult {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]signalResult(nil), l.res...)
}

// checkDeliveries checks what one peer returned: every candidate accepted;
// of the descriptions of type desc, exactly one accepted when
// onlyOne (an answer: the initiator has one offer pending), at least one
// otherwise (a repeated offer may be answered again), and every refusal an
// ERR_SIGNALING. It returns the number of descriptions accepted.
func checkDeliveries(t testing.TB, who string, res []signalResult, desc simplepeer.SignalType, onlyOne bool) int {
	t.Helper()
	accepted := 0
	for _, r := range res {
		switch {
		case r.s.Type == simplepeer.SignalCandidate && r.err != nil:
			t.Errorf("%s: Signal(candidate %s) = %v, want nil", who, r.s.Candidate.Candidate, r.err)
		case r.s.Type == desc && r.err == nil:
			accepted++
		case r.s.Type == desc && simplepeer.Code(r.err) != simplepeer.ErrCodeSignaling:
			t.Errorf("%s: repeated %s = %v, want nil or code %s", who, desc, r.err, simplepeer.ErrCodeSignaling)
		case r.s.Type != desc && r.s.Type != simplepeer.SignalCandidate:
			t.Errorf("%s: got a %s signal (%v)", who, r.s.Type, r.err)
		}
	}
	t.Logf("%s: %d of %d %ss accepted", who, accepted, countType(res, desc), desc)
	if accepted == 0 || onlyOne && accepted != 1 {
		t.Errorf("%s: %d %ss accepted, want %s", who, accepted, desc, map[bool]string{true: "exactly 1", false: "at least 1"}[onlyOne])
	}
	return accepted
}

// TestSignalsTwiceReorderedAfterClose checks that signals a relay repeats
// or reorders still connect a pair where the order allows it: every signal
// delivered twice (an offer again is answered again or refused, a repeated
// answer is refused with ERR_SIGNALING, and neither destroys a peer);
// each side's signals reversed or shuffled, so that candidates arrive
// before the description and are queued; and the whole set delivered again
// to the closed peers, and to peers closed before any signal, is refused
// with ERR_DESTROYED.
func TestSignalsTwiceReorderedAfterClose(t *testing.T) {
	twice := func(sigs []simplepeer.Signal) []simplepeer.Signal {
		var out []simplepeer.Signal
		for _, s := range sigs {
			out = append(out, s, s)
		}
		return out
	}
	reversed := func(sigs []simplepeer.Signal) []simplepeer.Signal {
		out := append([]simplepeer.Signal(nil), sigs...)
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
		return out
	}
	rng := rand.New(rand.NewPCG(abuseSeed, 1))
	t.Logf("seed %d", abuseSeed)
	cases := []struct {
		name       string
		noTrickle  bool
		live       bool // deliver each signal as it comes (with order applied to it alone)
		order      func([]simplepeer.Signal) []simplepeer.Signal
		candsFirst bool // the order puts every candidate before the description
	}{
		{name: "twice", live: true, order: twice},
		{name: "twice without trickle", noTrickle: true, live: true, order: twice},
		{name: "reversed", order: reversed, candsFirst: true},
		{name: "twice reversed", order: func(s []simplepeer.Signal) []simplepeer.Signal { return reversed(twice(s)) }, candsFirst: true},
		{name: "twice shuffled", order: func(s []simplepeer.Signal) []simplepeer.Signal {
			out := twice(s)
			rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
			return out
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o1, o2 := testOptions(true), testOptions(false)
			o1.DisableTrickle, o2.DisableTrickle = tc.noTrickle, tc.noTrickle
			p1 := newPeer(t, o1)
			p2 := newPeer(t, o2)
			failOnDestroy(t, p1, "initiator")
			failOnDestroy(t, p2, "non-initiator")
			peers := [2]*simplepeer.Peer{p1, p2}
			var mu sync.Mutex
			var sent [2][]simplepeer.Signal // what each peer signalled
			changed := make(chan struct{}, 1)
			given := [2]*resultLog{{changed: changed}, {changed: changed}} // what each peer was given
			record := func(from int, sigs ...simplepeer.Signal) {
				mu.Lock()
				sent[from] = append(sent[from], sigs...)
				mu.Unlock()
				poke(changed)
			}
			sentAnswers := func() []simplepeer.Signal {
				mu.Lock()
				defer mu.Unlock()
				var out []simplepeer.Signal
				for _, s := range sent[1] {
					if s.Type == simplepeer.SignalAnswer {
						out = append(out, s)
					}
				}
				return out
			}
			deliver := func(from int, sigs []simplepeer.Signal) {
				for _, s := range tc.order(sigs) {
					_ = given[1-from].deliver(peers[1-from], s)
				}
			}
			live := func(from int) func(simplepeer.Signal) {
				return func(s simplepeer.Signal) {
					record(from, s)
					deliver(from, []simplepeer.Signal{s})
				}
			}
			if tc.live {
				p1.OnSignal(live(0))
				p2.OnSignal(live(1))
			} else {
				h1, h2 := holdSignals(p1), holdSignals(p2)
				h1.waitGathered(t, p1, 1)
				batch := h1.take(live(0))
				record(0, batch...)
				checkBatch(t, "initiator", batch, simplepeer.SignalOffer, tc.candsFirst, tc.order)
				deliver(0, batch)
				offers := 0
				for _, r := range given[1].results() {
					if r.s.Type == simplepeer.SignalOffer && r.err == nil {
						offers++ // each one is answered
					}
				}
				h2.waitGathered(t, p2, offers)
				batch = h2.take(live(1))
				record(1, batch...)
				checkBatch(t, "non-initiator", batch, simplepeer.SignalAnswer, tc.candsFirst, tc.order)
				deliver(1, batch)
			}
			// Every accepted offer answered, every answer delivered.
			copies := len(tc.order([]simplepeer.Signal{{}}))
			for {
				offers := countAccepted(given[1].results(), simplepeer.SignalOffer)
				answers := len(sentAnswers())
				if p2.Destroyed() {
					t.Fatalf("non-initiator destroyed: %v", given[1].results())
				}
				if offers > 0 && answers == offers && countType(given[0].results(), simplepeer.SignalAnswer) == copies*answers {
					break
				}
				recv(t, changed, "answers")
			}
			checkSameICECredentials(t, given[0].results(), p2)
			connected(t, p1, p2)
			exchangeMessages(t, p1, p2)
			closeAll(t, p1, p2) // no signal is delivered after this
			checkDeliveries(t, "initiator", given[0].results(), simplepeer.SignalAnswer, true)
			checkDeliveries(t, "non-initiator", given[1].results(), simplepeer.SignalOffer, false)

			// Everything again, to the closed peers and to peers closed
			// before any signal.
			fresh := [2]*simplepeer.Peer{newPeer(t, testOptions(true)), newPeer(t, testOptions(false))}
			for _, p := range fresh {
				_ = p.Close()
			}
			for from := range 2 {
				for _, to := range []*simplepeer.Peer{peers[1-from], fresh[1-from]} {
					for _, s := range sent[from] {
						if err := to.Signal(s); simplepeer.Code(err) != simplepeer.ErrCodeDestroyed {
							t.Errorf("Signal(%s) to a closed peer = %v, want code %s", s.Type, err, simplepeer.ErrCodeDestroyed)
						}
					}
				}
			}
		})
	}
}

// checkBatch checks that a held batch starts with a description and holds
// candidates, which the order puts first when candsFirst.
func checkBatch(t testing.TB, who string, batch []simplepeer.Signal, desc simplepeer.SignalType, candsFirst bool, order func([]simplepeer.Signal) []simplepeer.Signal) {
	t.Helper()
	types := signalTypes(batch)
	if len(batch) < 2 || batch[0].Type != desc {
		t.Fatalf("%s signalled %v, want a %s and candidates", who, types, desc)
	}
	descs := 0
	for _, s := range batch {
		if s.Type == desc {
			descs++
		}
	}
	// A repeated offer is answered again, maybe after the candidates: only
	// a batch with one description is sure to be reordered behind them.
	if candsFirst && descs == 1 {
		if o := order(batch); o[0].Type != simplepeer.SignalCandidate {
			t.Fatalf("%s: order %v does not put candidates first", who, signalTypes(o))
		}
	}
}

func countType(res []signalResult, typ simplepeer.SignalType) int {
	n := 0
	for _, r := range res {
		if r.s.Type == typ {
			n++
		}
	}
	return n
}

var rtpCandidateLine = regexp.MustCompile(`(?m)^a=candidate:\S+ 1 `)

var iceUfragLine = regexp.MustCompile(`(?m)^a=ice-ufrag:(\S+)\r?$`)

func iceUfragOf(sdp string) string {
	if m := iceUfragLine.FindStringSubmatch(sdp); m != nil {
		return m[1]
	}
	return ""
}

// checkSameICECredentials checks that the answer the initiator accepted
// (from given, what it was given) carries the ICE credentials the
// non-initiator p uses now: an offer delivered again must not restart ICE
// behind the initiator's back, since the initiator refuses the second
// answer and would keep checking against the first one's credentials.
func checkSameICECredentials(t testing.TB, given []signalResult, p *simplepeer.Peer) {
	t.Helper()
	var accepted string
	for _, r := range given {
		if r.s.Type == simplepeer.SignalAnswer && r.err == nil {
			accepted = iceUfragOf(r.s.SDP)
		}
	}
	now := iceUfragOf(p.PeerConnection().LocalDescription().SDP)
	if accepted != now {
		t.Fatalf("the initiator accepted an answer with ice-ufrag %s, but the non-initiator now uses %s: "+
			"the repeated offer restarted ICE on the non-initiator and the pair cannot connect", accepted, now)
	}
}

func countAccepted(res []signalResult, typ simplepeer.SignalType) int {
	n := 0
	for _, r := range res {
		if r.s.Type == typ && r.err == nil {
			n++
		}
	}
	return n
}

// TestRepeatedOfferKeepsICESession checks the narrowest case of a repeated
// signal: the initiator's offer delivered twice in a row to a fresh
// non-initiator (a relay that retries). The offer is the same session
// description (RFC 3264 §8: same o= version, nothing changed), so the
// non-initiator must neither be destroyed nor change its ICE credentials:
// the initiator accepts only the first answer and refuses the second, so
// an answer with new credentials would leave the pair unable to connect.
func TestRepeatedOfferKeepsICESession(t *testing.T) {
	const attempts = 20
	for _, trickle := range []bool{true, false} {
		t.Run(fmt.Sprintf("trickle=%v", trickle), func(t *testing.T) {
			destroyed, restarted := 0, 0
			for range attempts {
				d, r := repeatOffer(t, trickle)
				destroyed += d
				restarted += r
			}
			if destroyed > 0 || restarted > 0 {
				t.Errorf("offer delivered twice, %d attempts: %d destroyed the non-initiator, "+
					"%d restarted its ICE after it had signalled its first answer", attempts, destroyed, restarted)
			}
		})
	}
}

// repeatOffer delivers a fresh initiator's offer twice to a fresh
// non-initiator and reports whether that destroyed it or changed its ICE
// username fragment after its first answer.
func repeatOffer(t *testing.T, trickle bool) (destroyed, restarted int) {
	o1, o2 := testOptions(true), testOptions(false)
	o1.DisableTrickle, o2.DisableTrickle = !trickle, !trickle
	p1 := newPeer(t, o1)
	p2 := newPeer(t, o2)
	defer closeAll(t, p1, p2)
	offers := make(chan simplepeer.Signal, 1)
	answers := make(chan simplepeer.Signal, 4)
	p1.OnSignal(func(s simplepeer.Signal) {
		if s.Type == simplepeer.SignalOffer {
			offers <- s
		}
	})
	p2.OnSignal(func(s simplepeer.Signal) {
		if s.Type == simplepeer.SignalAnswer {
			answers <- s
		}
	})
	offer := recv(t, offers, "offer")
	errs := [2]error{p2.Signal(offer), p2.Signal(offer)}
	if p2.Destroyed() {
		t.Logf("Signal(offer) twice = %v: the non-initiator was destroyed", errs)
		return 1, 0
	}
	first := iceUfragOf(recv(t, answers, "answer").SDP)
	if now := iceUfragOf(p2.PeerConnection().LocalDescription().SDP); now != first {
		return 0, 1
	}
	return 0, 0
}

// TestGatheringCompleteAfterCandidates checks the event order of ICE
// gathering: every candidate a peer signals was gathered before gathering
// completed, so an OnICEStateChange reporting gathering complete must come
// after every candidate signal (events are delivered in the order they
// happened). An application that waits for it to send its candidates in
// one batch relies on that. A slow SDPTransform (it waits for Pion to
// finish gathering) holds the library's goroutine right after the offer is
// set, so the order is tested deterministically; the same window opens on a
// loaded machine.
func TestGatheringCompleteAfterCandidates(t *testing.T) {
	pcs := make(chan *webrtc.PeerConnection, 1)
	o := testOptions(true)
	o.SDPTransform = func(sdp string) string {
		select {
		case pc := <-pcs:
			select {
			case <-webrtc.GatheringCompletePromise(pc):
			case <-time.After(testTimeout):
			}
		case <-time.After(testTimeout):
		}
		return sdp
	}
	p := newPeer(t, o)
	pcs <- p.PeerConnection()
	var mu sync.Mutex
	var events []string
	changed := make(chan struct{}, 1)
	add := func(ev string) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
		poke(changed)
	}
	p.OnSignal(func(s simplepeer.Signal) { add(string(s.Type)) })
	p.OnICEStateChange(func(_ webrtc.ICEConnectionState, g webrtc.ICEGatheringState) { add("gathering " + g.String()) })
	for {
		mu.Lock()
		evs := append([]string(nil), events...)
		mu.Unlock()
		want := -1
		if ld := p.PeerConnection().LocalDescription(); ld != nil && p.PeerConnection().ICEGatheringState() == webrtc.ICEGatheringStateComplete {
			want = len(rtpCandidateLine.FindAllString(ld.SDP, -1))
		}
		if n := countString(evs, "candidate"); want >= 0 && n >= want && eventIndex(evs, "gathering complete") >= 0 {
			if i := eventIndex(evs, "gathering complete"); i < lastIndex(evs, "candidate") {
				t.Errorf("events %v: gathering complete reported before a candidate gathered before it", evs)
			}
			return
		}
		recv(t, changed, "candidates and gathering complete")
	}
}

func countString(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

func lastIndex(s []string, v string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == v {
			return i
		}
	}
	return -1
}

// measureHeap runs f and returns how much the live heap grew across it
// (HeapAlloc after a GC, before and after) and how much f allocated in all
// (TotalAlloc, counted before the second GC). Other goroutines' work counts
// too; the tests' bounds leave room for that.
func measureHeap(f func()) (growth int64, allocated uint64) {
	var before, during, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&during)
	runtime.GC()
	runtime.ReadMemStats(&after)
	return int64(after.HeapAlloc) - int64(before.HeapAlloc), during.TotalAlloc - before.TotalAlloc
}

// hugeSDP returns an SDP of n bytes: a valid session header padded with
// attribute lines.
func hugeSDP(n int) string {
	const head = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
	line := "a=x-pad:" + strings.Repeat("p", 90) + "\r\n"
	var b strings.Builder
	b.Grow(n)
	b.WriteString(head)
	for b.Len()+len(line) <= n {
		b.WriteString(line)
	}
	b.WriteString(strings.Repeat("v", n-b.Len()))
	return b.String()
}

// loopbackCandidate returns the i-th of many distinct host candidates on
// loopback addresses (127.0.0.0/8), so that checks Pion sends to the ones
// it is given stay on this machine.
func loopbackCandidate(i int) simplepeer.Signal {
	const ports = 64000
	return candidateSignal(fmt.Sprintf("candidate:%d 1 udp 2130706431 127.0.%d.%d %d typ host",
		i, i/ports/250, 1+i/ports%250, 1024+i%ports))
}

// floodCandidates signals n distinct candidates to p and returns how many
// it accepted; every refusal must be ERR_SIGNALING with
// ErrTooManyCandidates.
func floodCandidates(t *testing.T, p *simplepeer.Peer, n int) (accepted int) {
	t.Helper()
	refusedOther := 0
	for i := range n {
		err := p.Signal(loopbackCandidate(i))
		switch {
		case err == nil:
			accepted++
		case simplepeer.Code(err) == simplepeer.ErrCodeSignaling && errors.Is(err, simplepeer.ErrTooManyCandidates):
		default:
			if refusedOther++; refusedOther <= 3 {
				t.Errorf("Signal(candidate %d) = %v, want nil or ERR_SIGNALING with ErrTooManyCandidates", i, err)
			}
		}
	}
	return accepted
}

// tolerantWire is wire, except that a candidate refused as one too many is
// not an error: the test filled that peer's quota on purpose.
func tolerantWire(t testing.TB, a, b *simplepeer.Peer) (refused *atomic.Int32) {
	refused = new(atomic.Int32)
	carry := func(to *simplepeer.Peer) func(simplepeer.Signal) {
		return func(s simplepeer.Signal) {
			err := to.Signal(s)
			switch {
			case err == nil || to.Destroyed():
			case errors.Is(err, simplepeer.ErrTooManyCandidates):
				refused.Add(1)
			default:
				t.Errorf("Signal(%s): %v", s.Type, err)
			}
		}
	}
	a.OnSignal(carry(b))
	b.OnSignal(carry(a))
	return refused
}

// TestOversizeSignalRefused checks that hostile signalling is refused in
// bounded memory and leaves the peer usable: a 10 MB SDP (an offer to a
// non-initiator, an answer to an initiator, before and after connect) is
// refused with ERR_SIGNALING without being copied or kept; ParseSignal
// refuses 10 MB of JSON without decoding it; and of 100,000 distinct
// candidates, before or after the remote description, the first 1,000 of
// the ICE session are accepted and the rest refused with
// ErrTooManyCandidates, holding little memory, after which the peer still
// connects to its real partner and exchanges data.
func TestOversizeSignalRefused(t *testing.T) {
	const huge = 10 << 20
	// Bounds: the SDP is never copied (10 MB) nor kept; what a refusal
	// allocates (an error) and what idle peers allocate meanwhile is tiny.
	const maxGrowth, maxAllocated = 1 << 20, 2 << 20

	t.Run("SDP", func(t *testing.T) {
		p1 := newPeer(t, testOptions(true))
		p2 := newPeer(t, testOptions(false))
		failOnDestroy(t, p1, "initiator")
		failOnDestroy(t, p2, "non-initiator")
		sdp := hugeSDP(huge)
		refuse := func(who string, p *simplepeer.Peer, typ simplepeer.SignalType) {
			t.Helper()
			var err error
			growth, allocated := measureHeap(func() { err = p.Signal(simplepeer.Signal{Type: typ, SDP: sdp}) })
			t.Logf("%s: 10 MB %s refused: heap growth %d bytes, allocated %d bytes", who, typ, growth, allocated)
			if simplepeer.Code(err) != simplepeer.ErrCodeSignaling || !errors.Is(err, simplepeer.ErrSignalTooLarge) {
				t.Errorf("%s: Signal(10 MB %s) = %v, want ERR_SIGNALING with ErrSignalTooLarge", who, typ, err)
			}
			if p.Destroyed() {
				t.Errorf("%s: destroyed by a 10 MB %s", who, typ)
			}
			if growth > maxGrowth || allocated > maxAllocated {
				t.Errorf("%s: a refused 10 MB %s grew the heap by %d bytes and allocated %d (limits %d, %d)",
					who, typ, growth, allocated, maxGrowth, maxAllocated)
			}
		}
		refuse("non-initiator", p2, simplepeer.SignalOffer)
		refuse("initiator", p1, simplepeer.SignalAnswer)
		wire(t, p1, p2)
		connected(t, p1, p2)
		refuse("connected non-initiator", p2, simplepeer.SignalOffer)
		refuse("connected initiator", p1, simplepeer.SignalAnswer)
		exchangeMessages(t, p1, p2)
		runtime.KeepAlive(sdp)
	})

	t.Run("ParseSignal", func(t *testing.T) {
		inputs := map[string][]byte{
			"10 MB offer": []byte(`{"type":"offer","sdp":"` + strings.ReplaceAll(hugeSDP(huge), "\r\n", `\r\n`)[:huge] + `"}`),
			"10 MB array": []byte("[" + strings.Repeat("1,", huge/2) + "1]"),
			"10 MB nest":  []byte(strings.Repeat("[", huge)),
			"2 MB nest":   []byte(strings.Repeat(`{"a":`, (2<<20)/5)), // under the size limit
		}
		for name, data := range inputs {
			var err error
			growth, allocated := measureHeap(func() { _, err = simplepeer.ParseSignal(data) })
			t.Logf("%s (%d bytes): heap growth %d bytes, allocated %d bytes", name, len(data), growth, allocated)
			if simplepeer.Code(err) != simplepeer.ErrCodeSignaling {
				t.Errorf("ParseSignal(%s) = %v, want code %s", name, err, simplepeer.ErrCodeSignaling)
			}
			if len(data) > huge/2 && (growth > maxGrowth || allocated > maxAllocated) {
				t.Errorf("ParseSignal(%s) grew the heap by %d bytes and allocated %d: it decoded the input (limits %d, %d)",
					name, growth, allocated, maxGrowth, maxAllocated)
			}
		}
	})

	n := 100_000
	if testing.Short() {
		n = 5_000
	}
	const quota = 1000 // per ICE session
	// Growth bound for the accepted candidates a peer holds: ~200 bytes
	// each.
	const maxFloodGrowth = 2 << 20

	t.Run("candidates before the remote description", func(t *testing.T) {
		p1 := newPeer(t, testOptions(true))
		p2 := newPeer(t, testOptions(false))
		failOnDestroy(t, p1, "initiator")
		failOnDestroy(t, p2, "non-initiator")
		var accepted int
		growth, allocated := measureHeap(func() { accepted = floodCandidates(t, p2, n) })
		t.Logf("%d candidates before the offer: %d accepted (queued), heap growth %d bytes, allocated %d bytes", n, accepted, growth, allocated)
		if accepted != quota {
			t.Errorf("%d of %d candidates accepted before the offer, want %d", accepted, n, quota)
		}
		if growth > maxFloodGrowth {
			t.Errorf("heap grew by %d bytes holding the queued candidates (limit %d)", growth, maxFloodGrowth)
		}
		// The queued ones count for the offer's ICE session, so the
		// partner's real candidates are refused; ICE still connects from
		// the partner's checks (peer-reflexive candidates).
		refused := tolerantWire(t, p1, p2)
		connected(t, p1, p2)
		exchangeMessages(t, p1, p2)
		t.Logf("the partner's real candidates refused: %d", refused.Load())
	})

	t.Run("candidates after the remote description", func(t *testing.T) {
		p1 := newPeer(t, testOptions(true))
		p2 := newPeer(t, testOptions(false))
		failOnDestroy(t, p1, "initiator")
		failOnDestroy(t, p2, "non-initiator")
		var real atomic.Int32 // candidates p1 accepted from p2
		changed := make(chan struct{}, 1)
		p1.OnSignal(func(s simplepeer.Signal) { forward(t, p2, s) })
		p2.OnSignal(func(s simplepeer.Signal) {
			forward(t, p1, s)
			if s.Type == simplepeer.SignalCandidate {
				real.Add(1)
			}
			poke(changed)
		})
		p2.OnICEStateChange(func(webrtc.ICEConnectionState, webrtc.ICEGatheringState) { poke(changed) })
		connected(t, p1, p2)
		// Wait until every candidate p2 gathered has reached p1: connect
		// may come before the last one is signalled.
		for {
			ld := p2.PeerConnection().LocalDescription()
			if p2.PeerConnection().ICEGatheringState() == webrtc.ICEGatheringStateComplete &&
				int(real.Load()) >= len(rtpCandidateLine.FindAllString(ld.SDP, -1)) {
				break
			}
			recv(t, changed, "the non-initiator's candidates")
		}
		var accepted int
		growth, allocated := measureHeap(func() { accepted = floodCandidates(t, p1, n) })
		t.Logf("%d candidates after the answer (%d real ones before): %d accepted, heap growth %d bytes, allocated %d bytes",
			n, real.Load(), accepted, growth, allocated)
		if want := quota - int(real.Load()); accepted != want {
			t.Errorf("%d of %d candidates accepted after %d real ones, want %d", accepted, n, real.Load(), want)
		}
		if growth > maxFloodGrowth {
			t.Errorf("heap grew by %d bytes after the candidates were added (limit %d)", growth, maxFloodGrowth)
		}
		exchangeMessages(t, p1, p2)
		if !p1.Connected() || !p2.Connected() {
			t.Errorf("after the flood: Connected %v, %v", p1.Connected(), p2.Connected())
		}
	})
}
