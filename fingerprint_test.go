package simplepeer_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v3"
)

// The a=fingerprint line of a signalled SDP is what binds the DTLS
// handshake to the peer the application is talking to (RFC 8842, RFC 8827
// section 6.5): whoever relays the signalling but swaps the fingerprint
// must not get a connection. Each case below has a relay between two
// in-process peers edit the fingerprint of the answer (which the initiator
// verifies) or of the offer (which the non-initiator verifies).
//
// What the library does today, for the side that verifies:
//   - hash changed, or replaced by another certificate's, or an algorithm
//     Pion does not know: ICE connects, the DTLS handshake completes, Pion's
//     check of the remote certificate fails, the connection state becomes
//     failed: error ERR_CONNECTION_FAILURE (ErrConnectionFailed; the reason
//     is only in Pion's "pc" warning), then close, 10-30 ms after New
//     (seconds at worst under -race on a loaded machine);
//   - no fingerprint line: SetRemoteDescription refuses the SDP: error
//     ERR_SET_REMOTE_DESCRIPTION (webrtc.ErrSessionDescriptionNoFingerprint),
//     then close, and Signal returns the same error.
//
// The other side checked a genuine certificate. Usually its handshake
// completes and it learns nothing of the failure: the verifier's DTLS
// close_notify is not reported by Pion v3, so it waits for ICE to time out
// (ERR_ICE_CONNECTION_FAILURE after Pion's default 5 s + 25 s; this test
// shortens the timeouts to 0.5 s + 1.5 s). Rarely (about 1 case in 100)
// the verifier's close cuts its handshake short, and it fails at once with
// ERR_CONNECTION_FAILURE.
// When the offer has no fingerprint, the initiator never gets an answer and
// waits for one forever, like a browser does; the test ends it.
//
// On no side does connect fire, and no data crosses: Send before connect
// fails, and what Write buffered before connect is never delivered.
func TestFingerprintTampering(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	attacker, err := webrtc.GenerateCertificate(key)
	if err != nil {
		t.Fatal(err)
	}
	attackerFP := sha256Fingerprint(t, attacker)

	const (
		mismatch = "remote certificate does not match any fingerprint" // Pion's errNoMatchingCertificateFingerprint
		badHash  = "invalid hash algorithm"                            // pion/dtls fingerprint.HashFromString
	)
	type tamper struct {
		name string
		edit func(t testing.TB, sdp string) string
		code simplepeer.ErrorCode
		is   error  // the cause, for errors.Is
		warn string // what Pion logs as the reason, for DTLS failures
	}
	tampers := []tamper{
		{"one hash byte changed", flipFingerprintByte,
			simplepeer.ErrCodeConnectionFailure, simplepeer.ErrConnectionFailed, mismatch},
		{"another certificate's fingerprint", func(t testing.TB, sdp string) string {
			return editFingerprint(t, sdp, func(string, string) (string, string) { return "sha-256", attackerFP })
		}, simplepeer.ErrCodeConnectionFailure, simplepeer.ErrConnectionFailed, mismatch},
		{"unknown algorithm", func(t testing.TB, sdp string) string {
			return editFingerprint(t, sdp, func(_, v string) (string, string) { return "shake256", v })
		}, simplepeer.ErrCodeConnectionFailure, simplepeer.ErrConnectionFailed, badHash},
		{"no fingerprint line", dropFingerprint,
			simplepeer.ErrCodeSetRemoteDescription, webrtc.ErrSessionDescriptionNoFingerprint, ""},
	}
	for _, in := range []webrtc.SDPType{webrtc.SDPTypeAnswer, webrtc.SDPTypeOffer} {
		for _, tc := range tampers {
			t.Run(in.String()+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				// The answer comes from the non-initiator (1) and is verified
				// by the initiator (0); the offer the other way round.
				verifier := 0
				if in == webrtc.SDPTypeOffer {
					verifier = 1
				}
				// Without an answer the initiator's ICE never starts.
				otherWaitsForever := in == webrtc.SDPTypeOffer && tc.code == simplepeer.ErrCodeSetRemoteDescription
				runFingerprintCase(t, in, verifier, otherWaitsForever, func(sdp string) string { return tc.edit(t, sdp) },
					tc.code, tc.is, tc.warn)
			})
		}
	}
}

// The relay of TestFingerprintTampering, rewriting each fingerprint as it
// was, leaves a connection that works: the failures there come from what
// is changed, not from the rewriting.
func TestFingerprintRelayControl(t *testing.T) {
	for _, in := range []webrtc.SDPType{webrtc.SDPTypeAnswer, webrtc.SDPTypeOffer} {
		t.Run(in.String(), func(t *testing.T) {
			p1, p2 := newPeer(t, testOptions(true)), newPeer(t, testOptions(false))
			for _, pair := range [][2]*simplepeer.Peer{{p1, p2}, {p2, p1}} {
				to := pair[1]
				pair[0].OnSignal(func(s simplepeer.Signal) {
					if s.Type == simplepeer.SignalType(in.String()) {
						s.SDP = editFingerprint(t, s.SDP, func(alg, v string) (string, string) { return alg, v })
					}
					forward(t, to, s)
				})
			}
			connected(t, p1, p2)
			got := make(chan string, 1)
			p2.OnData(func(b []byte) { got <- string(b) })
			if err := p1.SendString("verified"); err != nil {
				t.Fatal(err)
			}
			if s := recv(t, got, "data"); s != "verified" {
				t.Fatalf("got %q", s)
			}
		})
	}
}

func runFingerprintCase(t *testing.T, in webrtc.SDPType, verifier int, otherWaitsForever bool,
	edit func(string) string, code simplepeer.ErrorCode, is error, warn string) {
	start := time.Now()
	logs := newLogRecorder(logging.LogLevelWarn)
	var peers [2]*simplepeer.Peer
	var events [2]<-chan peerEvent
	for i := range peers {
		o := testOptions(i == 0)
		o.LoggerFactory = logs.factory([]string{"init", "resp"}[i])
		o.SettingEngine.LoggerFactory = o.LoggerFactory
		if i != verifier {
			// It learns of the failure from ICE only.
			o.SettingEngine.SetICETimeouts(500*time.Millisecond, 1500*time.Millisecond, 100*time.Millisecond)
		}
		peers[i] = newPeer(t, o)
		events[i] = watchEvents(peers[i], start)
		if err := peers[i].SendString("before connect"); !errors.Is(err, simplepeer.ErrNotConnected) ||
			simplepeer.Code(err) != simplepeer.ErrCodeDataChannel {
			t.Errorf("peer %d: Send before connect = %v, want ERR_DATA_CHANNEL (ErrNotConnected)", i+1, err)
		}
		if _, err := peers[i].Write([]byte("written before connect")); err != nil {
			t.Errorf("peer %d: Write before connect = %v, want it buffered", i+1, err)
		}
	}
	tampered := make(chan struct{}, 1)
	for i, p := range peers {
		to := peers[1-i]
		p.OnSignal(func(s simplepeer.Signal) {
			if s.Type == simplepeer.SignalType(in.String()) && i != verifier {
				s.SDP = edit(s.SDP)
				select {
				case tampered <- struct{}{}:
				default:
				}
			}
			forward(t, to, s)
		})
	}
	recv(t, tampered, "the "+in.String()+" to tamper with")

	v, other := peers[verifier], peers[1-verifier]
	got := waitClosed(t, events[verifier], "verifier")
	if len(got) != 2 || got[0].kind != "error" {
		t.Fatalf("verifier's events %v, want error then close", got)
	}
	err := got[0].err
	if c := simplepeer.Code(err); c != code || !errors.Is(err, is) {
		t.Errorf("verifier's error %q (code %q), want code %s wrapping %q", err, c, code, is)
	}
	t.Logf("verifier (peer %d): %v after %v", verifier+1, err, got[0].at.Round(time.Millisecond))
	if warn != "" && !logged(logs, verifier, warn) {
		t.Errorf("verifier's Pion log does not give the reason %q:\n%s", warn, joinLines(logs.snapshot()))
	}
	if err := v.SendString("after failure"); simplepeer.Code(err) != simplepeer.ErrCodeDestroyed {
		t.Errorf("verifier: Send after failure = %v, want ERR_DESTROYED", err)
	}
	if err := other.SendString("after the remote failed"); err == nil {
		t.Errorf("other side: Send succeeded without a connection")
	}

	if otherWaitsForever {
		other.Destroy(errTestOver)
	}
	got = waitClosed(t, events[1-verifier], "other side")
	switch {
	case otherWaitsForever:
		if len(got) != 2 || got[0].err != errTestOver {
			t.Errorf("other side's events %v, want only the test's error, then close", got)
		}
	case len(got) != 2 || got[0].kind != "error" ||
		(simplepeer.Code(got[0].err) != simplepeer.ErrCodeICEConnectionFailure &&
			simplepeer.Code(got[0].err) != simplepeer.ErrCodeConnectionFailure):
		t.Errorf("other side's events %v, want error %s (or %s), then close",
			got, simplepeer.ErrCodeICEConnectionFailure, simplepeer.ErrCodeConnectionFailure)
	default:
		t.Logf("other side (peer %d): %v after %v", 2-verifier, got[0].err, got[0].at.Round(time.Millisecond))
	}
}

// errTestOver ends a peer that would otherwise wait forever.
var errTestOver = errors.New("test over")

// peerEvent is one event of a peer, with its time since the test started.
type peerEvent struct {
	kind string // "connect", "data", "error" or "close"
	err  error
	at   time.Duration
}

func (e peerEvent) String() string {
	if e.err != nil {
		return e.kind + "(" + e.err.Error() + ")"
	}
	return e.kind
}

// watchEvents records p's connect, data, error and close events.
func watchEvents(p *simplepeer.Peer, start time.Time) <-chan peerEvent {
	ch := make(chan peerEvent, 64)
	add := func(kind string, err error) { ch <- peerEvent{kind, err, time.Since(start)} }
	p.OnConnect(func() { add("connect", nil) })
	p.OnData(func([]byte) { add("data", nil) })
	p.OnError(func(err error) { add("error", err) })
	p.OnClose(func() { add("close", nil) })
	return ch
}

// waitClosed returns the events up to and including close. Nothing comes
// after close, so these are all the peer's events.
func waitClosed(t *testing.T, ch <-chan peerEvent, who string) []peerEvent {
	t.Helper()
	var got []peerEvent
	for {
		e := recv(t, ch, who+"'s close")
		got = append(got, e)
		if e.kind == "close" {
			return got
		}
	}
}

// logged reports whether peer i logged a line containing s.
func logged(r *logRecorder, i int, s string) bool {
	peer := []string{"init", "resp"}[i]
	for _, l := range r.snapshot() {
		if l.peer == peer && strings.Contains(l.text, s) {
			return true
		}
	}
	return false
}

func joinLines(lines []logLine) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func sha256Fingerprint(t testing.TB, c *webrtc.Certificate) string {
	t.Helper()
	fps, err := c.GetFingerprints()
	if err != nil {
		t.Fatal(err)
	}
	for _, fp := range fps {
		if fp.Algorithm == "sha-256" {
			return strings.ToUpper(fp.Value)
		}
	}
	t.Fatalf("no sha-256 fingerprint in %v", fps)
	return ""
}

// editFingerprint replaces the algorithm and value of every a=fingerprint
// line of sdp with what f makes of them. The SDP must have one.
func editFingerprint(t testing.TB, sdp string, f func(alg, value string) (string, string)) string {
	t.Helper()
	const key = "a=fingerprint:"
	lines := strings.SplitAfter(sdp, "\n")
	n := 0
	for i, l := range lines {
		rest, ok := strings.CutPrefix(l, key)
		if !ok {
			continue
		}
		body := strings.TrimRight(rest, "\r\n")
		alg, value, ok := strings.Cut(body, " ")
		if !ok {
			t.Fatalf("malformed %q", l)
		}
		alg, value = f(alg, value)
		lines[i] = key + alg + " " + value + rest[len(body):]
		n++
	}
	if n == 0 {
		t.Fatalf("no a=fingerprint line in\n%s", sdp)
	}
	return strings.Join(lines, "")
}

// flipFingerprintByte changes the first byte of the fingerprint's hash.
func flipFingerprintByte(t testing.TB, sdp string) string {
	return editFingerprint(t, sdp, func(alg, v string) (string, string) {
		first, rest, _ := strings.Cut(v, ":")
		if first == "00" {
			return alg, "FF:" + rest
		}
		return alg, "00:" + rest
	})
}

// dropFingerprint removes every a=fingerprint line.
func dropFingerprint(t testing.TB, sdp string) string {
	out := removeSDPLines(sdp, "a=fingerprint:")
	if out == sdp {
		t.Fatalf("no a=fingerprint line in\n%s", sdp)
	}
	return out
}

func removeSDPLines(sdp, prefix string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(sdp, "\n") {
		if !strings.HasPrefix(l, prefix) {
			b.WriteString(l)
		}
	}
	return b.String()
}
