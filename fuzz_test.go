package simplepeer_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/ice/v2"
	"github.com/pion/logging"
	"github.com/pion/transport/v2/vnet"
	"github.com/pion/webrtc/v3"
)

// Fuzz targets for everything a remote peer controls: the JSON of a signal
// (FuzzParseSignal) and the signal itself, given to a fresh peer
// (FuzzSignalFresh) and to a peer of a connected pair (FuzzSignalConnected).
// The seed corpus under testdata/fuzz/ holds real signals from Pion,
// simple-peer in Node and headless Chromium, plus hand-made edge cases; see
// testdata/fuzz/README.md for how it was made and how to run the fuzzers.
//
// The Signal targets run on Pion's virtual network (vnet): whatever
// addresses a fuzzed SDP or candidate names, no packet leaves the process.

// Findings: bugs the fuzzers found, now fixed, keep their minimized inputs
// as finding-* seeds (see testdata/fuzz/README.md).

// fuzzTimeout bounds every wait of one exec (a Signal call, an event, a
// Close). Nothing legitimate comes near it: reaching it is a hang. The
// fuzzing engine kills a worker whose exec runs 10 s (without saying
// why), so the waits of one exec stay well below that.
const fuzzTimeout = 4 * time.Second

// pingTimeout bounds a ping between the peers of a connected pair.
const pingTimeout = 2 * time.Second

// FuzzParseSignal: ParseSignal never panics; its errors are *Error with
// code ERR_SIGNALING; what it accepts survives json.Marshal and a second
// ParseSignal unchanged, and marshals to the same bytes again.
func FuzzParseSignal(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		sig, err := simplepeer.ParseSignal(data)
		if err != nil {
			var e *simplepeer.Error
			if !errors.As(err, &e) {
				t.Fatalf("ParseSignal error %v is a %T, want *simplepeer.Error", err, err)
			}
			if c := simplepeer.Code(err); c != simplepeer.ErrCodeSignaling {
				t.Fatalf("ParseSignal error %v has code %q, want %s", err, c, simplepeer.ErrCodeSignaling)
			}
			return
		}
		out, err := json.Marshal(sig)
		if err != nil {
			t.Fatalf("json.Marshal(%#v) of a parsed signal: %v", sig, err)
		}
		again, err := simplepeer.ParseSignal(out)
		if err != nil {
			t.Fatalf("ParseSignal(json.Marshal(ParseSignal(in))) failed: %v\nin:  %q\nout: %s", err, data, out)
		}
		if !reflect.DeepEqual(sig, again) {
			t.Fatalf("round trip changed the signal\nin:     %q\nout:    %s\nparsed: %s\nagain:  %s", data, out, dumpSignal(sig), dumpSignal(again))
		}
		if out2, _ := json.Marshal(again); !bytes.Equal(out, out2) {
			t.Fatalf("marshalling is not stable:\n%s\n%s", out, out2)
		}
	})
}

// dumpSignal prints every field of s, pointers followed.
func dumpSignal(s simplepeer.Signal) string {
	var b strings.Builder
	fmt.Fprintf(&b, "{Type:%q SDP:%q Renegotiate:%v", s.Type, s.SDP, s.Renegotiate)
	if c := s.Candidate; c != nil {
		fmt.Fprintf(&b, " Candidate:{Candidate:%q SDPMid:%s SDPMLineIndex:%s UsernameFragment:%s}",
			c.Candidate, ptrString(c.SDPMid), ptrString(c.SDPMLineIndex), ptrString(c.UsernameFragment))
	}
	if r := s.TransceiverRequest; r != nil {
		fmt.Fprintf(&b, " TransceiverRequest:{Kind:%q Init:%+v}", r.Kind, r.Init)
	}
	b.WriteString("}")
	return b.String()
}

func ptrString[T any](p *T) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprintf("%#v", *p)
}

// fuzzSignal builds the signal a Signal target delivers. typ picks the
// shape: offer and answer carry sdp; candidate carries candidate, mid (""
// means no sdpMid) and mline (< 0 means no sdpMLineIndex, larger than 65535
// is clamped); renegotiate is {renegotiate: true}; transceiverRequest takes
// its kind from candidate and its init direction from mid ("": no init).
// Any other typ, "" included, carries sdp and, when candidate is not empty,
// the candidate: unknown types and simple-peer's type-less messages.
func fuzzSignal(typ, sdp, candidate, mid string, mline int) simplepeer.Signal {
	s := simplepeer.Signal{Type: simplepeer.SignalType(typ)}
	cand := func() *webrtc.ICECandidateInit {
		c := &webrtc.ICECandidateInit{Candidate: candidate}
		if mid != "" {
			c.SDPMid = &mid
		}
		if mline >= 0 {
			v := uint16(min(mline, 65535))
			c.SDPMLineIndex = &v
		}
		return c
	}
	switch s.Type {
	case simplepeer.SignalOffer, simplepeer.SignalAnswer:
		s.SDP = sdp
	case simplepeer.SignalCandidate:
		s.Candidate = cand()
	case simplepeer.SignalRenegotiate:
		s.Renegotiate = true
	case simplepeer.SignalTransceiverRequest:
		s.TransceiverRequest = &simplepeer.TransceiverRequest{Kind: candidate}
		if mid != "" {
			s.TransceiverRequest.Init = &simplepeer.TransceiverInit{Direction: mid}
		}
	default:
		s.SDP = sdp
		if candidate != "" {
			s.Candidate = cand()
		}
	}
	return s
}

// FuzzSignalFresh gives one signal to a new peer (initiator: after its
// offer), then closes it. A candidate accepted by a non-initiator is then
// applied by a real offer, since candidates wait for the description. Invariants: Signal returns in time; an error is an
// *Error with a code; ERR_SIGNALING leaves the peer as it was (not
// destroyed, same signaling state and remote description); any other code
// comes with the peer destroyed and the same error delivered to OnError;
// nil means the peer was not destroyed; every error event has a code; Close
// returns and close is delivered.
func FuzzSignalFresh(f *testing.F) {
	fn := newFuzzNet(f, 1)
	offer := fn.sampleOffer(f)
	f.Fuzz(func(t *testing.T, typ, sdp, candidate, mid string, mline int, initiator bool) {
		defer testLog.dumpOnFailure(t)
		s := fuzzSignal(typ, sdp, candidate, mid, mline)
		p, err := simplepeer.New(fn.options(0, initiator))
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		w := watchFuzzPeer("fresh", p)
		p.OnSignal(func(s simplepeer.Signal) {
			select {
			case w.signals <- s:
			default:
			}
		})
		defer w.closeWithin(t)
		if initiator {
			w.waitOffer(t)
		}
		before := stateOf(p)
		err = signalWithin(t, p, s)
		t.Logf("Signal(%s) to the %s = %v", s.Type, roleName(initiator), err)
		checkSignal(t, w, s, err, before, false)
		if err != nil || initiator || s.Candidate == nil || s.Type == simplepeer.SignalOffer {
			return
		}
		// The candidate was queued for the remote description: a real
		// offer applies it.
		before = stateOf(p)
		err = signalWithin(t, p, offer)
		t.Logf("Signal(offer) after the candidate = %v", err)
		checkSignal(t, w, offer, err, before, false)
	})
}

// sampleOffer returns the first offer of an initiator on host 0, a valid
// offer that any peer can answer.
func (fn *fuzzNet) sampleOffer(f *testing.F) simplepeer.Signal {
	f.Helper()
	p, err := simplepeer.New(fn.options(0, true))
	if err != nil {
		f.Fatalf("New: %v", err)
	}
	w := watchFuzzPeer("offerer", p)
	p.OnSignal(func(s simplepeer.Signal) {
		select {
		case w.signals <- s:
		default:
		}
	})
	offer := w.waitOffer(f)
	w.closeWithin(f)
	return offer
}

// FuzzSignalConnected gives one signal to the initiator (initiator true) or
// the non-initiator of a connected pair, which is kept across execs and
// replaced when an input destroys or breaks it. The invariants are
// FuzzSignalFresh's, plus: after ERR_SIGNALING, and after an accepted
// candidate, renegotiate or transceiverRequest, both peers still exchange
// data; an accepted renegotiate or transceiverRequest to the initiator ends
// in a negotiated event. An answer to the initiator is given while it has a
// fresh offer of its own pending (never carried to the non-initiator).
//
// So that fuzzed descriptions and candidates can belong to the live
// session, these placeholders are replaced by the other peer's values:
// {ice-ufrag}, {ice-pwd} and {fingerprint} in sdp (from its local
// description), {addr} and {port} in candidate (its selected local address).
func FuzzSignalConnected(f *testing.F) {
	fn := newFuzzNet(f, 2)
	var pr *fuzzPair
	f.Cleanup(func() {
		if pr != nil {
			pr.close(f, true)
		}
	})
	f.Fuzz(func(t *testing.T, typ, sdp, candidate, mid string, mline int, initiator bool) {
		if pr == nil {
			pr = newFuzzPair(t, fn)
		}
		defer func() {
			testLog.dumpOnFailure(t)
			if (t.Failed() || t.Skipped()) && pr != nil {
				pr.discard() // the next input gets a new pair
				pr = nil
			}
		}()
		pr.checkFaults(t)
		idx := 1
		if initiator {
			idx = 0
		}
		target, other := pr.peers[idx], pr.peers[1-idx]
		s := fuzzSignal(typ, substitute(sdp, sdpValues(other.p)), substitute(candidate, addrValues(other.p)), mid, mline)
		if initiator && s.Type == simplepeer.SignalAnswer {
			pr.holdOffer(t)
		}
		negotiated := pr.peers[0].negotiated.Load()
		before := stateOf(target.p)
		err := signalWithin(t, target.p, s)
		t.Logf("Signal(%s) to the connected %s = %v", s.Type, target.name, err)
		checkSignal(t, target, s, err, before, true)
		if pr.peers[0].p.Destroyed() || pr.peers[1].p.Destroyed() {
			pr.close(t, false)
			pr = nil
			return
		}
		if pr.held != nil {
			pr.releaseOffer(t)
		}
		renegotiating := initiator && err == nil &&
			(s.Type == simplepeer.SignalRenegotiate || s.Type == simplepeer.SignalTransceiverRequest)
		if renegotiating && !pr.waitNegotiated(t, negotiated) {
			t.Fatalf("after Signal(%s) = nil, the renegotiation destroyed the pair: %v / %v",
				s.Type, pr.peers[0].waitEnd(t), pr.peers[1].waitEnd(t))
		}
		if !pr.ping() {
			if err != nil || s.Type == simplepeer.SignalCandidate || renegotiating {
				t.Fatalf("after Signal(%s) = %v, the pair no longer exchanges data", s.Type, err)
			}
			// An accepted description with other ICE credentials or DTLS
			// fingerprint ends the session: legitimate, and the peers would
			// fail on their own after ICE's timeouts.
			t.Logf("the pair stopped exchanging data after an accepted %s: replacing it", s.Type)
			pr.close(t, false)
			pr = nil
			return
		}
		if err == nil && (s.Type == simplepeer.SignalOffer || s.Type == simplepeer.SignalAnswer) {
			// Where an accepted description leads shows at the next
			// negotiation: Pion accepts descriptions it cannot build on.
			// A destroy with a code is fine; a hang is not.
			n := pr.peers[0].negotiated.Load()
			if err := pr.peers[0].p.Negotiate(); err != nil {
				t.Fatalf("Negotiate after an accepted %s: %v", s.Type, err)
			}
			if !pr.waitNegotiated(t, n) || !pr.ping() {
				t.Logf("the pair did not survive the renegotiation after an accepted %s: %s / %s",
					s.Type, pr.peers[0].fate(t), pr.peers[1].fate(t))
				pr.close(t, false)
				pr = nil
				return
			}
		}
		pr.checkFaults(t)
		pr.execs++
		if pr.execs >= 200 || len(pr.peers[0].p.PeerConnection().GetTransceivers()) > 8 {
			pr.close(t, true) // keep descriptions small and execs fast
			pr = nil
		}
	})
}

func roleName(initiator bool) string {
	if initiator {
		return "initiator"
	}
	return "non-initiator"
}

// signalWithin calls p.Signal(s), failing the exec when it does not return
// within fuzzTimeout.
func signalWithin(t *testing.T, p *simplepeer.Peer, s simplepeer.Signal) error {
	t.Helper()
	res := make(chan error, 1)
	go func() { res <- p.Signal(s) }()
	timer := time.NewTimer(fuzzTimeout)
	defer timer.Stop()
	select {
	case err := <-res:
		return err
	case <-timer.C:
		t.Fatalf("Signal(%s) did not return within %v: %s\n%s", s.Type, fuzzTimeout, dumpSignal(s), allStacks())
		return nil
	}
}

// checkSignal checks the outcome of one Signal call. async allows a nil
// return with the peer destroyed by a transport failure (connected peers).
func checkSignal(t *testing.T, w *fuzzPeer, s simplepeer.Signal, err error, before peerState, async bool) {
	t.Helper()
	if err == nil {
		if !w.p.Destroyed() {
			return
		}
		got := w.waitEnd(t)
		c := simplepeer.Code(got)
		if async && (c == simplepeer.ErrCodeICEConnectionFailure || c == simplepeer.ErrCodeConnectionFailure) {
			t.Logf("peer destroyed by a transport failure during Signal(%s): %v", s.Type, got)
			return
		}
		t.Fatalf("Signal(%s) returned nil, but the peer was destroyed (error event: %v); input %s", s.Type, got, dumpSignal(s))
	}
	var e *simplepeer.Error
	if !errors.As(err, &e) {
		t.Fatalf("Signal(%s) error %v is a %T, want *simplepeer.Error; input %s", s.Type, err, err, dumpSignal(s))
	}
	if e.Code == "" {
		t.Fatalf("Signal(%s) error %v has no code; input %s", s.Type, err, dumpSignal(s))
	}
	switch e.Code {
	case simplepeer.ErrCodeSignaling:
		if w.p.Destroyed() {
			t.Fatalf("Signal(%s) returned %v, but the peer was destroyed (error event: %v); input %s", s.Type, err, w.waitEnd(t), dumpSignal(s))
		}
		if after := stateOf(w.p); after != before {
			t.Fatalf("Signal(%s) returned %v, but the peer changed:\nbefore: %+v\nafter:  %+v\ninput %s", s.Type, err, before, after, dumpSignal(s))
		}
	case simplepeer.ErrCodeDestroyed:
		t.Fatalf("Signal(%s) on a live peer returned %v; input %s", s.Type, err, dumpSignal(s))
	default:
		if !w.p.Destroyed() {
			t.Fatalf("Signal(%s) returned %v, but the peer is not destroyed; input %s", s.Type, err, dumpSignal(s))
		}
		if got := w.waitEnd(t); simplepeer.Code(got) != e.Code {
			t.Fatalf("Signal(%s) returned %v, but the error event was %v; input %s", s.Type, err, got, dumpSignal(s))
		}
	}
}

// peerState is what a rejected signal must leave as it was.
type peerState struct {
	signaling webrtc.SignalingState
	remote    string
}

func stateOf(p *simplepeer.Peer) peerState {
	pc := p.PeerConnection()
	st := peerState{signaling: pc.SignalingState()}
	if rd := pc.RemoteDescription(); rd != nil {
		st.remote = rd.Type.String() + "\n" + rd.SDP
	}
	return st
}

// fuzzPeer watches one peer's events. Its handlers record violations
// instead of failing a test: the exec that owns them may be over.
type fuzzPeer struct {
	name       string
	p          *simplepeer.Peer
	signals    chan simplepeer.Signal // OnSignal, for fresh peers
	closed     chan struct{}
	negotiated atomic.Int64
	connected  chan struct{}
	data       chan []byte

	mu     sync.Mutex
	errs   []error
	faults []string
}

// watchFuzzPeer sets every handler of p but OnSignal, which the caller
// sets (the first handler set gets the held offer).
func watchFuzzPeer(name string, p *simplepeer.Peer) *fuzzPeer {
	w := &fuzzPeer{
		name:      name,
		p:         p,
		signals:   make(chan simplepeer.Signal, 64),
		closed:    make(chan struct{}),
		connected: make(chan struct{}),
		data:      make(chan []byte, 16),
	}
	p.OnError(func(err error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.errs = append(w.errs, err)
		var e *simplepeer.Error
		if !errors.Is(err, errFuzzDiscard) && (!errors.As(err, &e) || e.Code == "") {
			w.faults = append(w.faults, fmt.Sprintf("%s: error event without a code: %v (%T)", name, err, err))
		}
	})
	p.OnClose(func() { close(w.closed) })
	p.OnNegotiated(func() { w.negotiated.Add(1) })
	p.OnConnect(func() { close(w.connected) })
	p.OnData(func(b []byte) {
		select {
		case w.data <- b:
		default:
		}
	})
	return w
}

func (w *fuzzPeer) fault(format string, args ...any) {
	w.mu.Lock()
	w.faults = append(w.faults, w.name+": "+fmt.Sprintf(format, args...))
	w.mu.Unlock()
}

func (w *fuzzPeer) takeFaults() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	f := w.faults
	w.faults = nil
	return f
}

// waitEnd waits for close and returns the error event before it (nil for
// a plain close).
func (w *fuzzPeer) waitEnd(t testing.TB) error {
	t.Helper()
	waitFor(t, w.closed, w.name+": close event")
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.errs) == 0 {
		return nil
	}
	return w.errs[0]
}

// fate describes, for logs, whether the peer is alive or how it ended.
func (w *fuzzPeer) fate(t testing.TB) string {
	if !w.p.Destroyed() {
		return w.name + " alive"
	}
	return fmt.Sprintf("%s destroyed (%v)", w.name, w.waitEnd(t))
}

// waitOffer waits for an initiator's first offer.
func (w *fuzzPeer) waitOffer(t testing.TB) simplepeer.Signal {
	t.Helper()
	timer := time.NewTimer(fuzzTimeout)
	defer timer.Stop()
	for {
		select {
		case s := <-w.signals:
			if s.Type == simplepeer.SignalOffer {
				return s
			}
		case <-w.closed:
			t.Fatalf("%s closed before its offer: %v", w.name, w.waitEnd(t))
		case <-timer.C:
			t.Fatalf("%s: no offer within %v", w.name, fuzzTimeout)
		}
	}
}

// closeWithin closes the peer and checks that Close returns, close is
// delivered and nothing went wrong in the handlers.
func (w *fuzzPeer) closeWithin(t testing.TB) {
	t.Helper()
	w.end(t, func() { _ = w.p.Close() })
}

func (w *fuzzPeer) end(t testing.TB, how func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		how()
		close(done)
	}()
	waitFor(t, done, w.name+": Close/Destroy to return")
	waitFor(t, w.closed, w.name+": close event")
	if f := w.takeFaults(); len(f) > 0 {
		t.Fatalf("%s", strings.Join(f, "\n"))
	}
}

func waitFor(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	timer := time.NewTimer(fuzzTimeout)
	defer timer.Stop()
	select {
	case <-ch:
	case <-timer.C:
		t.Fatalf("timed out after %v waiting for %s\n%s", fuzzTimeout, what, allStacks())
	}
}

func allStacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// errFuzzDiscard destroys a pair that no longer works, without Close's
// flush (which would wait for acknowledgements that never come).
var errFuzzDiscard = errors.New("fuzz: pair discarded")

// fuzzPair is a connected initiator (peers[0]) and non-initiator
// (peers[1]), wired to each other.
type fuzzPair struct {
	peers [2]*fuzzPeer
	hold  atomic.Bool            // keep the initiator's next offer instead of carrying it
	heldc chan simplepeer.Signal // the kept offer
	held  *simplepeer.Signal
	seq   int
	execs int
}

func newFuzzPair(t testing.TB, fn *fuzzNet) *fuzzPair {
	t.Helper()
	pr := &fuzzPair{heldc: make(chan simplepeer.Signal, 1)}
	for i, name := range []string{"initiator", "non-initiator"} {
		p, err := simplepeer.New(fn.options(i, i == 0))
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		pr.peers[i] = watchFuzzPeer(name, p)
	}
	pr.peers[0].p.OnSignal(func(s simplepeer.Signal) {
		if s.Type == simplepeer.SignalOffer && pr.hold.CompareAndSwap(true, false) {
			pr.heldc <- s
			return
		}
		pr.carry(1, s)
	})
	pr.peers[1].p.OnSignal(func(s simplepeer.Signal) { pr.carry(0, s) })
	for _, w := range pr.peers {
		select {
		case <-w.connected:
		case <-w.closed:
			t.Fatalf("%s closed before connecting: %v", w.name, w.waitEnd(t))
		case <-time.After(fuzzTimeout):
			t.Fatalf("%s: not connected within %v", w.name, fuzzTimeout)
		}
	}
	return pr
}

// carry gives a signal of one peer to the other. Refusals are expected
// (the non-initiator's answer to a fuzzed offer reaches an initiator that
// made none); errors without a code are not.
func (pr *fuzzPair) carry(to int, s simplepeer.Signal) {
	w := pr.peers[to]
	if err := w.p.Signal(s); err != nil {
		var e *simplepeer.Error
		if !errors.As(err, &e) || e.Code == "" {
			w.fault("Signal(%s) from the other peer returned %v (%T) without a code", s.Type, err, err)
		}
	}
}

func (pr *fuzzPair) checkFaults(t testing.TB) {
	t.Helper()
	var all []string
	for _, w := range pr.peers {
		all = append(all, w.takeFaults()...)
	}
	if len(all) > 0 {
		t.Fatalf("%s", strings.Join(all, "\n"))
	}
}

// holdOffer makes the initiator renegotiate and keeps its offer from the
// non-initiator, so that the fuzzed answer meets a pending offer.
func (pr *fuzzPair) holdOffer(t testing.TB) {
	t.Helper()
	pr.hold.Store(true)
	if err := pr.peers[0].p.Negotiate(); err != nil {
		t.Fatalf("Negotiate: %v", err)
	}
	select {
	case s := <-pr.heldc:
		pr.held = &s
	case <-pr.peers[0].closed:
		t.Fatalf("initiator destroyed by Negotiate: %v", pr.peers[0].waitEnd(t))
	case <-time.After(fuzzTimeout):
		t.Fatalf("initiator: no offer within %v of Negotiate", fuzzTimeout)
	}
}

// releaseOffer carries the held offer when the fuzzed answer left the
// initiator waiting for one, so that the next negotiation is not queued
// forever behind it.
func (pr *fuzzPair) releaseOffer(t testing.TB) {
	t.Helper()
	s := *pr.held
	pr.held = nil
	if pr.peers[0].p.PeerConnection().SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		return
	}
	n := pr.peers[0].negotiated.Load()
	pr.carry(1, s)
	if !pr.waitNegotiated(t, n) {
		t.Fatalf("the held offer, carried after a rejected answer, destroyed the pair: %v / %v",
			pr.peers[0].waitEnd(t), pr.peers[1].waitEnd(t))
	}
}

// waitNegotiated waits until the initiator has had more than n negotiated
// events, and reports false if a peer was destroyed first.
func (pr *fuzzPair) waitNegotiated(t testing.TB, n int64) bool {
	t.Helper()
	deadline := time.Now().Add(fuzzTimeout)
	for pr.peers[0].negotiated.Load() <= n {
		if pr.peers[0].p.Destroyed() || pr.peers[1].p.Destroyed() {
			return false
		}
		if time.Now().After(deadline) {
			t.Fatalf("initiator: renegotiation did not complete within %v (signaling %s/%s)\n%s", fuzzTimeout,
				pr.peers[0].p.PeerConnection().SignalingState(), pr.peers[1].p.PeerConnection().SignalingState(), allStacks())
		}
		time.Sleep(time.Millisecond) // the negotiated handler only counts: poll it
	}
	return true
}

// ping sends one message each way and reports whether both arrived. It is
// also a barrier: each peer's earlier events (signals carried to the other
// peer) were delivered before the message it receives.
func (pr *fuzzPair) ping() bool {
	for i, from := range pr.peers {
		to := pr.peers[1-i]
		pr.seq++
		msg := []byte(fmt.Sprintf("ping %d", pr.seq))
		if err := from.p.Send(msg); err != nil {
			return false
		}
		timer := time.NewTimer(pingTimeout)
		for got := false; !got; {
			select {
			case b := <-to.data:
				got = bytes.Equal(b, msg)
			case <-timer.C:
				return false
			}
		}
		timer.Stop()
	}
	return true
}

// close ends both peers: Close when they work (it flushes), Destroy, on
// both at once, when they do not (a flush would wait for acknowledgements
// in vain).
func (pr *fuzzPair) close(t testing.TB, working bool) {
	t.Helper()
	if working && !pr.peers[0].p.Destroyed() && !pr.peers[1].p.Destroyed() {
		for _, w := range pr.peers {
			w.closeWithin(t)
		}
		return
	}
	var wg sync.WaitGroup
	for _, w := range pr.peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.p.Destroy(errFuzzDiscard)
		}()
	}
	for _, w := range pr.peers {
		w.end(t, wg.Wait)
	}
}

// discard destroys both peers after a failed exec, without checks.
func (pr *fuzzPair) discard() {
	var wg sync.WaitGroup
	for _, w := range pr.peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.p.Destroy(errFuzzDiscard)
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(fuzzTimeout):
	}
}

// substitute replaces the {name} placeholders in s.
func substitute(s string, values map[string]string) string {
	if !strings.Contains(s, "{") {
		return s
	}
	pairs := make([]string, 0, 2*len(values))
	for k, v := range values {
		pairs = append(pairs, "{"+k+"}", v)
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// sdpValues returns the ICE credentials and DTLS fingerprint of p's local
// description.
func sdpValues(p *simplepeer.Peer) map[string]string {
	values := map[string]string{}
	ld := p.PeerConnection().LocalDescription()
	if ld == nil {
		return values
	}
	for _, key := range []string{"ice-ufrag", "ice-pwd", "fingerprint"} {
		if _, v, ok := strings.Cut(ld.SDP, "\na="+key+":"); ok {
			v, _, _ = strings.Cut(v, "\n")
			values[key] = strings.TrimSuffix(v, "\r")
		}
	}
	return values
}

// addrValues returns the host and port of p's selected local candidate.
func addrValues(p *simplepeer.Peer) map[string]string {
	a := p.LocalAddr()
	if a == nil {
		return map[string]string{}
	}
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return map[string]string{}
	}
	return map[string]string{"addr": host, "port": port}
}

// fuzzNet is a Pion virtual network with a few hosts, for peers that must
// not send a packet to a real address whatever they are told.
type fuzzNet struct {
	nets []*vnet.Net
}

func newFuzzNet(f *testing.F, hosts int) *fuzzNet {
	f.Helper()
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelError
	router, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "10.77.0.0/24", LoggerFactory: lf})
	if err != nil {
		f.Fatal(err)
	}
	fn := &fuzzNet{}
	for i := 0; i < hosts; i++ {
		n, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{fmt.Sprintf("10.77.0.%d", i+1)}})
		if err != nil {
			f.Fatal(err)
		}
		if err := router.AddNet(n); err != nil {
			f.Fatal(err)
		}
		fn.nets = append(fn.nets, n)
	}
	if err := router.Start(); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = router.Stop() })
	return fn
}

// options are the library's defaults on host i of the virtual network,
// UDP over IPv4 only, no mDNS, no ICE servers.
func (fn *fuzzNet) options(i int, initiator bool) *simplepeer.Options {
	se := simplepeer.DefaultSettingEngine()
	se.SetNet(fn.nets[i])
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	lf := testLog.factory(fmt.Sprintf("fuzz%d", i))
	if lf != nil {
		se.LoggerFactory = lf
	}
	return &simplepeer.Options{
		Initiator:     initiator,
		Config:        &webrtc.Configuration{},
		SettingEngine: se,
		LoggerFactory: lf,
	}
}
