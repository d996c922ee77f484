package simplepeer_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v3"
	"github.com/pion/webrtc/v3/pkg/media"
)

// TestNoSecretsInLog runs a whole session with every log line of both
// peers recorded, the library's and Pion's, at trace level in every scope:
// connect (with trickle and without), data both ways, a renegotiation that
// adds a video track with media flowing, then close. No line may contain a
// secret of either peer: its ICE password (a=ice-pwd, which authenticates
// the connectivity checks: whoever has it can answer them, RFC 8445 section
// 7.2.2) or its DTLS private key, in any encoding a log line is likely to
// hold it (the private scalar in hex, decimal and base64, its bytes printed
// with %v, the SEC 1 and PKCS #8 DER in hex and base64, the PEM). Each
// leaking line is reported with its peer, scope and level.
//
// It failed before the library redacted its log (logging.go), because
// pion/ice v2.3.38 logs, at debug level in scope
// "ice", `Started agent: isControlling? %t, remoteUfrag: %q, remotePwd: %q`
// (agent.go, startConnectivityChecks), so each peer's log holds the other
// peer's ICE password. Neither private key appears anywhere.
//
// Pion's NACK and RTCP-report interceptors log through Options.LoggerFactory
// (the library registers them with its loggers); only Pion v3's TWCC sender
// keeps its own logger. They handle RTP and RTCP only.
func TestNoSecretsInLog(t *testing.T) {
	for _, trickle := range []bool{true, false} {
		name := map[bool]string{true: "trickle", false: "no-trickle"}[trickle]
		t.Run(name, func(t *testing.T) { secretLogSession(t, trickle) })
	}
}

// sessionPeer is one side of secretLogSession.
type sessionPeer struct {
	name string
	key  *ecdsa.PrivateKey
	cert *webrtc.Certificate
	p    *simplepeer.Peer

	mu   sync.Mutex
	sdps []string // every SDP it signalled
}

func (s *sessionPeer) signalled() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.sdps...)
}

func secretLogSession(t *testing.T, trickle bool) {
	logs := newLogRecorder(logging.LogLevelTrace)
	var sides [2]*sessionPeer
	for i := range sides {
		s := &sessionPeer{name: []string{"init", "resp"}[i]}
		var err error
		if s.key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			t.Fatal(err)
		}
		if s.cert, err = webrtc.GenerateCertificate(s.key); err != nil {
			t.Fatal(err)
		}
		o := testOptions(i == 0)
		o.Config = &webrtc.Configuration{Certificates: []webrtc.Certificate{*s.cert}}
		o.DisableTrickle = !trickle
		o.LoggerFactory = logs.factory(s.name)
		o.SettingEngine.LoggerFactory = o.LoggerFactory
		s.p = newPeer(t, o)
		sides[i] = s
	}
	p1, p2 := sides[0].p, sides[1].p
	for i, s := range sides {
		to := sides[1-i].p
		s.p.OnSignal(func(sig simplepeer.Signal) {
			if sig.SDP != "" {
				s.mu.Lock()
				s.sdps = append(s.sdps, sig.SDP)
				s.mu.Unlock()
			}
			forward(t, to, sig)
		})
	}
	connected(t, p1, p2)

	// Data both ways.
	got := [2]chan string{make(chan string, 1), make(chan string, 1)}
	p1.OnData(func(b []byte) { got[0] <- string(b) })
	p2.OnData(func(b []byte) { got[1] <- string(b) })
	if err := p1.SendString("to resp"); err != nil {
		t.Fatal(err)
	}
	if err := p2.Send([]byte("to init")); err != nil {
		t.Fatal(err)
	}
	if s := recv(t, got[1], "resp's data"); s != "to resp" {
		t.Fatalf("resp got %q", s)
	}
	if s := recv(t, got[0], "init's data"); s != "to init" {
		t.Fatalf("init got %q", s)
	}

	// A renegotiation that adds a video track, with samples flowing until
	// the remote has the track.
	negotiated := [2]chan struct{}{make(chan struct{}, 4), make(chan struct{}, 4)}
	p1.OnNegotiated(func() { negotiated[0] <- struct{}{} })
	p2.OnNegotiated(func() { negotiated[1] <- struct{}{} })
	// The first negotiation's events were held until now.
	recv(t, negotiated[0], "init's first negotiated")
	recv(t, negotiated[1], "resp's first negotiated")
	video, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "stream")
	if err != nil {
		t.Fatal(err)
	}
	tracks := make(chan *webrtc.TrackRemote, 1)
	readerDone := make(chan struct{})
	p2.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		tracks <- tr
		go func() { // ends when the connection closes
			defer close(readerDone)
			buf := make([]byte, 1500)
			for {
				if _, _, err := tr.Read(buf); err != nil {
					return
				}
			}
		}()
	})
	stop, writerDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(writerDone)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		frame := []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x02, 0x00, 0x02, 0x00} // a VP8 key frame header
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				_ = video.WriteSample(media.Sample{Data: frame, Duration: 20 * time.Millisecond})
			}
		}
	}()
	if err := p1.AddTrack(video); err != nil {
		t.Fatalf("AddTrack: %v", err)
	}
	recv(t, negotiated[0], "init's negotiated after AddTrack")
	recv(t, negotiated[1], "resp's negotiated after AddTrack")
	if tr := recv(t, tracks, "resp's video track"); tr.Kind() != webrtc.RTPCodecTypeVideo {
		t.Errorf("resp got a %s track, want video", tr.Kind())
	}
	close(stop)
	<-writerDone

	// Close.
	closed := make(chan struct{})
	p2.OnClose(func() { close(closed) })
	if err := p1.Close(); err != nil {
		t.Fatal(err)
	}
	recv(t, closed, "resp's close")
	_ = p2.Close()
	recv(t, readerDone, "the RTP reader to end")

	lines := logs.snapshot()
	checkLogCoverage(t, lines)

	var secrets []secret
	for _, s := range sides {
		sdps := s.signalled()
		if len(sdps) < 2 {
			t.Fatalf("%s signalled %d SDPs, want 2 (first negotiation and AddTrack)", s.name, len(sdps))
		}
		fp := sha256Fingerprint(t, s.cert)
		for _, sdp := range sdps {
			if !strings.Contains(sdp, "a=fingerprint:sha-256 "+fp+"\r\n") {
				t.Errorf("%s signalled an SDP without the fingerprint of the certificate it was given", s.name)
			}
		}
		secrets = append(secrets, icePasswords(t, s.name, sdps)...)
		secrets = append(secrets, keyEncodings(t, s.name, s.key)...)
	}
	leaks := map[string][]logLine{}
	for _, l := range lines {
		for _, sec := range secrets {
			if strings.Contains(l.text, sec.value) {
				leaks[sec.name] = append(leaks[sec.name], l)
			}
		}
	}
	names := make([]string, 0, len(leaks))
	for n := range leaks {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, l := range leaks[n] {
			t.Errorf("log leaks %s: %s", n, l)
		}
	}
}

// checkLogCoverage makes sure the log was really recorded at trace level
// in the library and Pion alike, so that finding no secret means
// something, and logs how many lines each scope and level gave.
func checkLogCoverage(t *testing.T, lines []logLine) {
	t.Helper()
	counts := map[string]int{}
	levels := map[logging.LogLevel]int{}
	for _, l := range lines {
		counts[l.scope+"/"+strings.ToUpper(l.level.String())]++
		levels[l.level]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%d", k, counts[k])
	}
	t.Logf("%d log lines:%s", len(lines), b.String())
	for _, scope := range []string{"simplepeer", "pc", "ice", "dtls", "sctp"} {
		found := false
		for k := range counts {
			found = found || strings.HasPrefix(k, scope+"/")
		}
		if !found {
			t.Errorf("no line from scope %q: the recorder is not seeing the whole log", scope)
		}
	}
	if levels[logging.LogLevelTrace] == 0 || levels[logging.LogLevelDebug] == 0 {
		t.Errorf("no trace or no debug lines: the recorder is not seeing the whole log")
	}
}

// secret is a value that must appear in no log line.
type secret struct{ name, value string }

var icePwdLine = regexp.MustCompile(`(?m)^a=ice-pwd:(\S+)\r?$`)

// icePasswords returns the distinct a=ice-pwd values in sdps.
func icePasswords(t *testing.T, who string, sdps []string) []secret {
	t.Helper()
	seen := map[string]bool{}
	var out []secret
	for _, sdp := range sdps {
		for _, m := range icePwdLine.FindAllStringSubmatch(sdp, -1) {
			if pwd := m[1]; !seen[pwd] {
				seen[pwd] = true
				out = append(out, secret{who + "'s ICE password (a=ice-pwd:" + pwd + ")", pwd})
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s signalled no a=ice-pwd", who)
	}
	return out
}

// keyEncodings returns key's private parts in the encodings a log line
// could hold them.
func keyEncodings(t *testing.T, who string, key *ecdsa.PrivateKey) []secret {
	t.Helper()
	d := key.D.FillBytes(make([]byte, (key.Curve.Params().BitSize+7)/8))
	sec1, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}))
	pemBody := strings.Split(pemText, "\n")[1] // its first 48 DER bytes, as PEM wraps them
	name := func(enc string) string { return who + "'s DTLS private key (" + enc + ")" }
	return []secret{
		{name("D, hex"), hex.EncodeToString(d)},
		{name("D, HEX"), strings.ToUpper(hex.EncodeToString(d))},
		{name("D, %x of the big.Int"), key.D.Text(16)},
		{name("D, decimal"), key.D.String()},
		{name("D, base64"), base64.StdEncoding.EncodeToString(d)},
		{name("D, base64url"), base64.RawURLEncoding.EncodeToString(d)},
		{name("D, %v of its bytes"), strings.Trim(fmt.Sprint(d), "[]")},
		{name("SEC 1 DER, hex"), hex.EncodeToString(sec1)},
		{name("SEC 1 DER, base64"), base64.StdEncoding.EncodeToString(sec1)},
		{name("SEC 1 PEM"), pemText},
		{name("SEC 1 PEM, first line"), pemBody},
		{name("PKCS #8 DER, hex"), hex.EncodeToString(pkcs8)},
		{name("PKCS #8 DER, base64"), base64.StdEncoding.EncodeToString(pkcs8)},
	}
}
