package interop

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/webrtc/v3"
)

// restartBulkSize is what testICERestart writes while it restarts ICE, and
// restartAfter how much of it must have arrived before the restart.
const (
	restartBulkSize = 2 << 20
	restartAfter    = 256 << 10
)

// jsICEInfo is what the driver's "iceInfo" op reports.
type jsICEInfo struct {
	LocalUfrag         string `json:"localUfrag"`
	RemoteUfrag        string `json:"remoteUfrag"`
	ICEConnectionState string `json:"iceConnectionState"`
	SignalingState     string `json:"signalingState"`
}

func jsICE(t *testing.T, pr *pair) jsICEInfo {
	t.Helper()
	raw, err := pr.js.cmd("iceInfo", nil)
	if err != nil {
		t.Fatalf("JS iceInfo: %v", err)
	}
	var info jsICEInfo
	if err := json.Unmarshal(raw, &info); err != nil {
		t.Fatal(err)
	}
	return info
}

// iceUfrag returns the first a=ice-ufrag of an SDP (every section of a
// bundled session has the same).
func iceUfrag(sdp string) string {
	for _, l := range strings.Split(sdp, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "a=ice-ufrag:"); ok {
			return v
		}
	}
	return ""
}

// goUfrags returns the ufrags of the Go peer's current local and remote
// descriptions.
func goUfrags(pr *pair) (local, remote string) {
	pc := pr.g.p.PeerConnection()
	if d := pc.LocalDescription(); d != nil {
		local = iceUfrag(d.SDP)
	}
	if d := pc.RemoteDescription(); d != nil {
		remote = iceUfrag(d.SDP)
	}
	return local, remote
}

// testICERestart: RestartICE on the Go peer in the middle of a 2 MiB Write
// to simple-peer.
//
// With Go as the initiator it sends an offer with new ICE credentials,
// simple-peer answers it with new ones of its own, the Go peer's ICE goes
// through checking to connected again, and the transfer completes intact,
// without a close or an error on either side.
//
// With Go as the non-initiator it can only ask: it sends a renegotiate
// signal with "iceRestart": true, which simple-peer 9.11.1 does not know. It
// renegotiates without a restart (it never calls createOffer with
// iceRestart, nor pc.restartIce()), so the credentials stay; the test checks
// that the renegotiation happens and the connection stays up, and logs the
// ufrags.
//
// Either way a message then goes each way.
func testICERestart(t *testing.T, pr *pair, c *cellResult) {
	goLocal0, goRemote0 := goUfrags(pr)
	js0 := jsICE(t, pr)
	if goLocal0 == "" || goRemote0 == "" || goLocal0 != js0.RemoteUfrag || goRemote0 != js0.LocalUfrag {
		t.Fatalf("ufrags before the restart: Go local %q remote %q, JS local %q remote %q", goLocal0, goRemote0, js0.LocalUfrag, js0.RemoteUfrag)
	}
	sigBase, iceBase, jsICEBase := pr.g.signals.len(), pr.g.ice.len(), pr.js.ice.len()
	goNeg, jsNeg := pr.g.negotiated.get(), pr.js.negotiated.get()

	data := pattern("binary", restartBulkSize, 79)
	writeErr := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := pr.g.p.Write(data)
		writeErr <- err
	}()
	var restartAt, lastChunk time.Time
	var gap time.Duration // the longest wait for a chunk after the restart
	got, chunks := 0, 0
	for got < len(data) {
		if restartAt.IsZero() && got >= restartAfter {
			restartAt = time.Now()
			if err := pr.g.p.RestartICE(); err != nil {
				t.Fatalf("RestartICE: %v", err)
			}
			lastChunk = restartAt
		}
		ev, ok := recvJS(pr, messageTimeout)
		if !ok {
			t.Fatalf("JS received %d of %d bytes (restart at %d), then nothing for %v (Go buffered %d, Go ICE %v, JS ICE %v); Go errors %v, JS errors %v; %s",
				got, len(data), restartAfter, messageTimeout, pr.g.p.BufferedAmount(), states(pr.g.ice.since(iceBase)), states(pr.js.ice.since(jsICEBase)), pr.g.errs(), pr.js.errs(), pathReport(pr))
		}
		if ev.Type != "binary" || ev.Len <= 0 || got+ev.Len > len(data) || ev.Hash != fnv1a(data[got:got+ev.Len]) {
			t.Fatalf("chunk %d (%s, %d bytes at offset %d) does not match what Go wrote", chunks, ev.Type, ev.Len, got)
		}
		if !restartAt.IsZero() {
			gap = max(gap, ev.at.Sub(lastChunk))
			lastChunk = ev.at
		}
		got += ev.Len
		chunks++
	}
	select {
	case err := <-writeErr:
		if err != nil {
			t.Errorf("Write: %v", err)
		}
	case <-time.After(messageTimeout):
		t.Fatalf("Write did not return after everything arrived")
	}
	t.Logf("transfer: %d bytes in %d messages in %v, RestartICE after %d bytes; longest wait for a chunk after it: %v",
		got, chunks, time.Since(start), restartAfter, gap)

	// The renegotiation has finished on both sides (it may have finished
	// before the transfer did).
	if !waitNegotiated(t, pr, "ice-restart", goNeg, jsNeg) {
		t.FailNow()
	}
	sent := pr.g.signals.since(sigBase)
	var kinds []string
	for _, s := range sent {
		kinds = append(kinds, string(s.v.Type))
	}
	goLocal1, goRemote1 := goUfrags(pr)
	js1 := jsICE(t, pr)
	t.Logf("Go signalled after RestartICE: %v; ufrags Go local %s→%s, remote (JS) %s→%s; JS sees local %s→%s, remote %s→%s; Go ICE %v; JS ICE %v",
		kinds, goLocal0, goLocal1, goRemote0, goRemote1, js0.LocalUfrag, js1.LocalUfrag, js0.RemoteUfrag, js1.RemoteUfrag,
		states(pr.g.ice.since(iceBase)), states(pr.js.ice.since(jsICEBase)))
	t.Logf("after RestartICE: %s", pathReport(pr))
	if goLocal1 != js1.RemoteUfrag || goRemote1 != js1.LocalUfrag {
		t.Errorf("after the restart the sides disagree: Go local %q remote %q, JS local %q remote %q", goLocal1, goRemote1, js1.LocalUfrag, js1.RemoteUfrag)
	}

	if pr.goInit {
		if d, ok := checkGoRestart(t, pr, sent, goLocal0, goRemote0, goLocal1, goRemote1, restartAt, iceBase); ok {
			c.addRestart(fmt.Sprintf("RestartICE → Go ICE connected again %s; longest wait for data after RestartICE %s", ms(d), ms(gap)))
		}
	} else {
		checkJSIgnoresRestart(t, pr, sent, goLocal0, goLocal1)
		c.addRestart(fmt.Sprintf("renegotiated without a restart (ufrag kept: %v); longest wait for data after RestartICE %s", goLocal0 == goLocal1, ms(gap)))
	}

	t.Run("data-after", func(t *testing.T) {
		msgs := []message{{"text", 9, 42}, {"binary", 9, 43}}
		goSends(t, pr, msgs)
		jsSends(t, pr, msgs)
	})
	select {
	case <-pr.g.closed:
		t.Errorf("the Go peer closed during the ICE restart")
	default:
	}
	select {
	case <-pr.js.closed:
		t.Errorf("the JS peer closed during the ICE restart")
	default:
	}
	if !pr.g.p.Connected() {
		t.Errorf("Go peer: Connected() is false after the ICE restart")
	}
}

// checkGoRestart: the Go initiator sent one offer, with a new ufrag;
// simple-peer's answer brought a new one too; Go's ICE went through
// checking and is connected again. It returns how long after RestartICE
// that was.
func checkGoRestart(t *testing.T, pr *pair, sent []stamped[simplepeer.Signal], local0, remote0, local1, remote1 string, restartAt time.Time, iceBase int) (time.Duration, bool) {
	t.Helper()
	var offers []stamped[simplepeer.Signal]
	for _, s := range sent {
		if s.v.Type == simplepeer.SignalOffer {
			offers = append(offers, s)
		}
	}
	if len(offers) != 1 {
		t.Errorf("Go signalled %d offers after RestartICE, want 1", len(offers))
	}
	if len(offers) == 0 {
		return 0, false
	}
	if u := iceUfrag(offers[0].v.SDP); u == "" || u == local0 {
		t.Errorf("the restart offer has a=ice-ufrag %q; before it was %q", u, local0)
	}
	if local1 == local0 {
		t.Errorf("Go's local ufrag is still %q after the restart", local0)
	}
	if remote1 == remote0 {
		t.Errorf("simple-peer's answer kept its ufrag %q", remote0)
	}
	// ICE went checking → connected (or completed) after the restart.
	var checkingAt, connectedAt time.Time
	deadline := time.NewTimer(negotiateWait)
	defer deadline.Stop()
	ok := pr.g.ice.waitFor(iceBase, func(items []stamped[webrtc.ICEConnectionState]) bool {
		checkingAt, connectedAt = time.Time{}, time.Time{}
		for _, it := range items {
			switch it.v {
			case webrtc.ICEConnectionStateChecking:
				checkingAt, connectedAt = it.at, time.Time{}
			case webrtc.ICEConnectionStateConnected, webrtc.ICEConnectionStateCompleted:
				if !checkingAt.IsZero() && connectedAt.IsZero() {
					connectedAt = it.at
				}
			}
		}
		return !connectedAt.IsZero()
	}, deadline.C)
	if !ok {
		t.Errorf("Go ICE did not go checking → connected within %v of the transfer's end: %v", negotiateWait, states(pr.g.ice.since(iceBase)))
		return 0, false
	}
	if st := pr.g.p.PeerConnection().ICEConnectionState(); st != webrtc.ICEConnectionStateConnected && st != webrtc.ICEConnectionStateCompleted {
		t.Errorf("Go ICE is %s after the restart", st)
	}
	answer := "no answer seen"
	for _, s := range pr.jsSignals.since(0) {
		if s.at.After(offers[0].at) && strings.Contains(string(s.v), `"answer"`) {
			answer = fmt.Sprintf("answer received at +%v", s.at.Sub(restartAt))
			break
		}
	}
	d := connectedAt.Sub(restartAt)
	t.Logf("ICE restart: checking at +%v, offer signalled at +%v, %s, connected again at +%v (RestartICE → ICE connected)",
		checkingAt.Sub(restartAt), offers[0].at.Sub(restartAt), answer, d)
	return d, true
}

// checkJSIgnoresRestart: the Go non-initiator sent exactly the renegotiate
// signal with iceRestart; simple-peer renegotiated (checked by the caller)
// and, as documented, kept the ICE credentials.
func checkJSIgnoresRestart(t *testing.T, pr *pair, sent []stamped[simplepeer.Signal], local0, local1 string) {
	t.Helper()
	n := 0
	for _, s := range sent {
		switch {
		case s.v.Type == simplepeer.SignalRenegotiate && s.v.Renegotiate && s.v.ICERestart:
			n++
			b, _ := json.Marshal(s.v)
			if want := `{"type":"renegotiate","renegotiate":true,"iceRestart":true}`; string(b) != want {
				t.Errorf("restart request on the wire: %s, want %s", b, want)
			}
		case s.v.Type == simplepeer.SignalOffer:
			t.Errorf("the Go non-initiator signalled an offer")
		}
	}
	if n != 1 {
		t.Errorf("Go signalled %d renegotiate requests with iceRestart, want 1", n)
	}
	if local1 != local0 {
		t.Logf("the ICE ufrag changed (%s → %s): simple-peer restarted ICE after all", local0, local1)
	} else {
		t.Logf("ICE ufrag unchanged (%s), as documented: simple-peer 9.11.1 ignores iceRestart and only renegotiates, so a JS initiator cannot be asked to restart ICE", local0)
	}
}

// states formats a timeline's values with their times since the first.
func states[T any](items []stamped[T]) string {
	var b strings.Builder
	var t0 time.Time
	for i, it := range items {
		if i == 0 {
			t0 = it.at
		} else {
			b.WriteString(" → ")
		}
		fmt.Fprintf(&b, "%v(+%.1fms)", it.v, float64(it.at.Sub(t0).Microseconds())/1000)
	}
	if b.Len() == 0 {
		return "(no change)"
	}
	return b.String()
}

// pathReport describes both sides' view of the path, for a failure: the Go
// peer's Summary (selected pair, round trips, SCTP's congestion window,
// retransmissions and timeouts) and the JS peer's selected candidate pair
// from its getStats.
func pathReport(pr *pair) string {
	s := pr.g.p.Summary()
	goPair := "none"
	if s.Pair != nil {
		goPair = s.Pair.String()
	}
	js := "unknown"
	if raw, err := pr.js.cmd("pair", nil); err == nil {
		js = string(raw)
	} else {
		js = "error: " + err.Error()
	}
	return fmt.Sprintf("Go path: pair %s, ICE RTT %v, SCTP RTT %v, cwnd %d, %d retransmissions, %d timeouts; JS selected pair: %s",
		goPair, s.RTT, s.SCTPRTT, s.CongestionWindow, s.Retransmissions, s.Timeouts, js)
}
