package simplepeer_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/webrtc/v3"
)

// Candidate lines as browsers write them (RFC 5245 grammar plus Chrome's
// extensions), with documentation addresses.
const (
	chromeHostCandidate  = "candidate:3405578418 1 udp 2122260223 192.0.2.23 58755 typ host generation 0 ufrag Xu1e network-id 1 network-cost 10"
	chromeSrflxCandidate = "candidate:842163049 1 udp 1677729535 203.0.113.5 61234 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag Xu1e network-id 1 network-cost 10"
	chromeMDNSCandidate  = "candidate:1840965416 1 udp 2113937151 7d2a0b4c-5f3e-4b8a-9c1d-2e6f7a8b9c0d.local 51472 typ host generation 0 ufrag Xu1e network-cost 999"
)

func valuePtr[T any](v T) *T { return &v }

// signalJSONCases are signals in the exact JSON simple-peer emits: its
// signal events passed through JSON.stringify.
var signalJSONCases = []struct {
	name string
	sig  simplepeer.Signal
	json string
}{
	{
		name: "offer",
		sig:  simplepeer.Signal{Type: simplepeer.SignalOffer, SDP: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"},
		json: `{"type":"offer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"}`,
	},
	{
		name: "answer",
		sig:  simplepeer.Signal{Type: simplepeer.SignalAnswer, SDP: "v=0\r\na=group:BUNDLE 0\r\n"},
		json: `{"type":"answer","sdp":"v=0\r\na=group:BUNDLE 0\r\n"}`,
	},
	{
		name: "candidate",
		sig: simplepeer.Signal{Type: simplepeer.SignalCandidate, Candidate: &webrtc.ICECandidateInit{
			Candidate: chromeHostCandidate, SDPMLineIndex: valuePtr[uint16](0), SDPMid: valuePtr("0"),
		}},
		json: `{"type":"candidate","candidate":{"candidate":"` + chromeHostCandidate + `","sdpMLineIndex":0,"sdpMid":"0"}}`,
	},
	{
		name: "candidate srflx second m-line",
		sig: simplepeer.Signal{Type: simplepeer.SignalCandidate, Candidate: &webrtc.ICECandidateInit{
			Candidate: chromeSrflxCandidate, SDPMLineIndex: valuePtr[uint16](1), SDPMid: valuePtr("1"),
		}},
		json: `{"type":"candidate","candidate":{"candidate":"` + chromeSrflxCandidate + `","sdpMLineIndex":1,"sdpMid":"1"}}`,
	},
	{
		name: "candidate mDNS",
		sig: simplepeer.Signal{Type: simplepeer.SignalCandidate, Candidate: &webrtc.ICECandidateInit{
			Candidate: chromeMDNSCandidate, SDPMLineIndex: valuePtr[uint16](0), SDPMid: valuePtr("0"),
		}},
		json: `{"type":"candidate","candidate":{"candidate":"` + chromeMDNSCandidate + `","sdpMLineIndex":0,"sdpMid":"0"}}`,
	},
	{
		// JSON.stringify writes null for a candidate without sdpMid or
		// sdpMLineIndex.
		name: "candidate null sdpMid and sdpMLineIndex",
		sig: simplepeer.Signal{Type: simplepeer.SignalCandidate, Candidate: &webrtc.ICECandidateInit{
			Candidate: chromeHostCandidate,
		}},
		json: `{"type":"candidate","candidate":{"candidate":"` + chromeHostCandidate + `","sdpMLineIndex":null,"sdpMid":null}}`,
	},
	{
		name: "candidate null sdpMid",
		sig: simplepeer.Signal{Type: simplepeer.SignalCandidate, Candidate: &webrtc.ICECandidateInit{
			Candidate: chromeHostCandidate, SDPMLineIndex: valuePtr[uint16](0),
		}},
		json: `{"type":"candidate","candidate":{"candidate":"` + chromeHostCandidate + `","sdpMLineIndex":0,"sdpMid":null}}`,
	},
	{
		name: "renegotiate",
		sig:  simplepeer.Signal{Type: simplepeer.SignalRenegotiate, Renegotiate: true},
		json: `{"type":"renegotiate","renegotiate":true}`,
	},
	{
		name: "transceiverRequest with init",
		sig: simplepeer.Signal{Type: simplepeer.SignalTransceiverRequest, TransceiverRequest: &simplepeer.TransceiverRequest{
			Kind: "audio", Init: &simplepeer.TransceiverInit{Direction: "recvonly"},
		}},
		json: `{"type":"transceiverRequest","transceiverRequest":{"kind":"audio","init":{"direction":"recvonly"}}}`,
	},
	{
		// simple-peer's addTransceiver(kind) leaves init undefined, which
		// JSON.stringify drops.
		name: "transceiverRequest without init",
		sig: simplepeer.Signal{Type: simplepeer.SignalTransceiverRequest, TransceiverRequest: &simplepeer.TransceiverRequest{
			Kind: "video",
		}},
		json: `{"type":"transceiverRequest","transceiverRequest":{"kind":"video"}}`,
	},
}

// TestSignalMarshalJSON checks that every Signal shape marshals byte for byte
// as simple-peer's signal event data does after JSON.stringify.
func TestSignalMarshalJSON(t *testing.T) {
	for _, tc := range signalJSONCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := json.Marshal(tc.sig)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if string(got) != tc.json {
				t.Errorf("Marshal:\n got %s\nwant %s", got, tc.json)
			}
			got, err = json.Marshal(&tc.sig)
			if err != nil {
				t.Fatalf("Marshal pointer: %v", err)
			}
			if string(got) != tc.json {
				t.Errorf("Marshal pointer:\n got %s\nwant %s", got, tc.json)
			}
		})
	}
}

// TestSignalUnmarshalJSON checks that what simple-peer emits parses, with
// json.Unmarshal and with ParseSignal, into the expected Signal and marshals
// back to the same bytes.
func TestSignalUnmarshalJSON(t *testing.T) {
	for _, tc := range signalJSONCases {
		t.Run(tc.name, func(t *testing.T) {
			var s simplepeer.Signal
			if err := json.Unmarshal([]byte(tc.json), &s); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if !reflect.DeepEqual(s, tc.sig) {
				t.Errorf("Unmarshal: got %+v, want %+v", s, tc.sig)
			}
			p, err := simplepeer.ParseSignal([]byte(tc.json))
			if err != nil {
				t.Fatalf("ParseSignal: %v", err)
			}
			if !reflect.DeepEqual(p, tc.sig) {
				t.Errorf("ParseSignal: got %+v, want %+v", p, tc.sig)
			}
			again, err := json.Marshal(p)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if string(again) != tc.json {
				t.Errorf("round trip:\n got %s\nwant %s", again, tc.json)
			}
		})
	}
}

// TestSignalMarshalNoHTMLEscape checks that MarshalJSON writes '<', '>' and
// '&' as JSON.stringify does, unescaped.
func TestSignalMarshalNoHTMLEscape(t *testing.T) {
	s := simplepeer.Signal{Type: simplepeer.SignalOffer, SDP: "a=msid:<a&b> x\r\n"}
	got, err := s.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"type":"offer","sdp":"a=msid:<a&b> x\r\n"}`; string(got) != want {
		t.Errorf("MarshalJSON:\n got %s\nwant %s", got, want)
	}
	// json.Marshal re-escapes a Marshaler's output; the result must still
	// decode to the same signal.
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	back, err := simplepeer.ParseSignal(b)
	if err != nil || back != s {
		t.Errorf("ParseSignal(%s) = %+v, %v; want %+v", b, back, err, s)
	}
}

// TestSignalParse checks ParseSignal's extra inputs: messages without "type"
// that simple-peer still accepts by their fields, and garbage, which is an
// ERR_SIGNALING error.
func TestSignalParse(t *testing.T) {
	good := []struct {
		name string
		in   string
		want simplepeer.Signal
	}{
		{
			name: "extra fields ignored",
			in:   `{"type":"offer","sdp":"v=0\r\n","extra":1}`,
			want: simplepeer.Signal{Type: simplepeer.SignalOffer, SDP: "v=0\r\n"},
		},
		{
			name: "candidate with usernameFragment",
			in:   `{"type":"candidate","candidate":{"candidate":"` + chromeHostCandidate + `","sdpMLineIndex":0,"sdpMid":"0","usernameFragment":"Xu1e"}}`,
			want: simplepeer.Signal{Type: simplepeer.SignalCandidate, Candidate: &webrtc.ICECandidateInit{
				Candidate: chromeHostCandidate, SDPMLineIndex: valuePtr[uint16](0), SDPMid: valuePtr("0"), UsernameFragment: valuePtr("Xu1e"),
			}},
		},
		{
			name: "candidate without type",
			in:   `{"candidate":{"candidate":"` + chromeHostCandidate + `","sdpMLineIndex":0,"sdpMid":"0"}}`,
			want: simplepeer.Signal{Candidate: &webrtc.ICECandidateInit{
				Candidate: chromeHostCandidate, SDPMLineIndex: valuePtr[uint16](0), SDPMid: valuePtr("0"),
			}},
		},
		{
			name: "renegotiate without type",
			in:   `{"renegotiate":true}`,
			want: simplepeer.Signal{Renegotiate: true},
		},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			s, err := simplepeer.ParseSignal([]byte(tc.in))
			if err != nil {
				t.Fatalf("ParseSignal: %v", err)
			}
			if !reflect.DeepEqual(s, tc.want) {
				t.Errorf("got %+v, want %+v", s, tc.want)
			}
		})
	}

	bad := []struct{ name, in string }{
		{"empty", ``},
		{"not json", `offer`},
		{"array", `[1,2]`},
		{"empty object", `{}`},
		{"null", `null`},
		{"unknown type", `{"type":"bogus"}`},
		{"offer without sdp", `{"type":"offer"}`},
		{"answer with empty sdp", `{"type":"answer","sdp":""}`},
		{"candidate without candidate", `{"type":"candidate"}`},
		{"renegotiate false", `{"type":"renegotiate","renegotiate":false}`},
		{"transceiverRequest bad kind", `{"type":"transceiverRequest","transceiverRequest":{"kind":"data"}}`},
		{"transceiverRequest missing", `{"type":"transceiverRequest"}`},
		{"wrong field type", `{"type":"offer","sdp":42}`},
	}
	for _, tc := range bad {
		t.Run("bad/"+tc.name, func(t *testing.T) {
			_, err := simplepeer.ParseSignal([]byte(tc.in))
			if err == nil {
				t.Fatal("ParseSignal succeeded")
			}
			var e *simplepeer.Error
			if !errors.As(err, &e) || e.Code != simplepeer.ErrCodeSignaling {
				t.Errorf("error %v (%T), want *Error with code %s", err, err, simplepeer.ErrCodeSignaling)
			}
			if !errors.Is(err, simplepeer.ErrInvalidSignal) {
				t.Errorf("error %v does not wrap ErrInvalidSignal", err)
			}
		})
	}
}

// signalRecorder carries signals between two peers through JSON, as an
// application would, and keeps what each side sent.
type signalRecorder struct {
	t  testing.TB
	mu sync.Mutex
	// sent[0] holds what the first peer signalled, sent[1] the second's.
	sent [2][]simplepeer.Signal
	json [2][][]byte
}

// wireJSON connects a and b like wire, but every signal is marshalled,
// parsed back with ParseSignal and recorded on the way.
func wireJSON(t testing.TB, a, b *simplepeer.Peer) *signalRecorder {
	r := &signalRecorder{t: t}
	a.OnSignal(func(s simplepeer.Signal) { r.carry(0, b, s) })
	b.OnSignal(func(s simplepeer.Signal) { r.carry(1, a, s) })
	return r
}

func (r *signalRecorder) carry(from int, to *simplepeer.Peer, s simplepeer.Signal) {
	data, err := json.Marshal(s)
	if err != nil {
		r.t.Errorf("Marshal(%+v): %v", s, err)
		return
	}
	parsed, err := simplepeer.ParseSignal(data)
	if err != nil {
		r.t.Errorf("ParseSignal(%s): %v", data, err)
		return
	}
	r.mu.Lock()
	r.sent[from] = append(r.sent[from], parsed)
	r.json[from] = append(r.json[from], data)
	r.mu.Unlock()
	forward(r.t, to, parsed)
}

// signals returns a copy of what side from has signalled so far.
func (r *signalRecorder) signals(from int) []simplepeer.Signal {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]simplepeer.Signal(nil), r.sent[from]...)
}

func (r *signalRecorder) jsonOf(from int) [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.json[from]...)
}

// sdps returns the SDPs side from signalled, in order.
func (r *signalRecorder) sdps(from int) []simplepeer.Signal {
	var out []simplepeer.Signal
	for _, s := range r.signals(from) {
		if s.Type == simplepeer.SignalOffer || s.Type == simplepeer.SignalAnswer {
			out = append(out, s)
		}
	}
	return out
}

func (r *signalRecorder) count(from int, typ simplepeer.SignalType) int {
	n := 0
	for _, s := range r.signals(from) {
		if s.Type == typ {
			n++
		}
	}
	return n
}

// exchangeMessages sends one message each way and waits for it.
func exchangeMessages(t testing.TB, p1, p2 *simplepeer.Peer) {
	t.Helper()
	got1 := make(chan string, 1)
	got2 := make(chan string, 1)
	p1.OnData(func(b []byte) { got1 <- string(b) })
	p2.OnData(func(b []byte) { got2 <- string(b) })
	if err := p1.SendString("ping"); err != nil {
		t.Fatalf("SendString: %v", err)
	}
	if s := recv(t, got2, "message 1→2"); s != "ping" {
		t.Fatalf("got %q, want ping", s)
	}
	if err := p2.Send([]byte("pong")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if s := recv(t, got1, "message 2→1"); s != "pong" {
		t.Fatalf("got %q, want pong", s)
	}
}

func jsonKeys(t testing.TB, data []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("Unmarshal(%s): %v", data, err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestSignalJSONConnect checks that real offers, answers and candidates from
// Go peers have exactly simple-peer's JSON fields, survive a JSON round trip
// unchanged, and connect the pair when carried as JSON.
func TestSignalJSONConnect(t *testing.T) {
	p1 := newPeer(t, testOptions(true))
	p2 := newPeer(t, testOptions(false))
	r := wireJSON(t, p1, p2)
	connected(t, p1, p2)
	exchangeMessages(t, p1, p2)

	for side := range 2 {
		var sawSDP, sawCandidate bool
		for _, data := range r.jsonOf(side) {
			s, err := simplepeer.ParseSignal(data)
			if err != nil {
				t.Fatalf("ParseSignal(%s): %v", data, err)
			}
			again, err := json.Marshal(s)
			if err != nil || !bytes.Equal(again, data) {
				t.Errorf("round trip changed the signal:\n got %s (%v)\nwant %s", again, err, data)
			}
			keys := strings.Join(jsonKeys(t, data), ",")
			switch s.Type {
			case simplepeer.SignalOffer, simplepeer.SignalAnswer:
				sawSDP = true
				if keys != "sdp,type" {
					t.Errorf("%s has keys %s, want sdp,type", s.Type, keys)
				}
				if !strings.HasPrefix(s.SDP, "v=0\r\n") {
					t.Errorf("%s SDP does not start with v=0: %.40q", s.Type, s.SDP)
				}
			case simplepeer.SignalCandidate:
				sawCandidate = true
				if keys != "candidate,type" {
					t.Errorf("candidate has keys %s, want candidate,type", keys)
				}
				var outer struct{ Candidate json.RawMessage }
				_ = json.Unmarshal(data, &outer)
				if inner := strings.Join(jsonKeys(t, outer.Candidate), ","); inner != "candidate,sdpMLineIndex,sdpMid" {
					t.Errorf("candidate object has keys %s, want candidate,sdpMLineIndex,sdpMid", inner)
				}
				if !strings.HasPrefix(s.Candidate.Candidate, "candidate:") {
					t.Errorf("candidate line %q does not start with candidate:", s.Candidate.Candidate)
				}
			default:
				t.Errorf("unexpected signal %s", data)
			}
		}
		if !sawSDP || !sawCandidate {
			t.Errorf("side %d signalled sdp: %v, candidate: %v; want both", side, sawSDP, sawCandidate)
		}
	}
	if got := r.sdps(0); len(got) != 1 || got[0].Type != simplepeer.SignalOffer {
		t.Errorf("initiator signalled %v, want one offer", got)
	}
	if got := r.sdps(1); len(got) != 1 || got[0].Type != simplepeer.SignalAnswer {
		t.Errorf("non-initiator signalled %v, want one answer", got)
	}
}

// TestSignalDisableTrickle checks simple-peer's trickle: false: each side signals
// one SDP holding its candidates, no candidate signals, and the SDP carries
// no a=ice-options:trickle.
func TestSignalDisableTrickle(t *testing.T) {
	o1, o2 := testOptions(true), testOptions(false)
	o1.DisableTrickle, o2.DisableTrickle = true, true
	p1 := newPeer(t, o1)
	p2 := newPeer(t, o2)
	r := wireJSON(t, p1, p2)
	connected(t, p1, p2)
	exchangeMessages(t, p1, p2)

	for side, want := range []simplepeer.SignalType{simplepeer.SignalOffer, simplepeer.SignalAnswer} {
		if n := r.count(side, simplepeer.SignalCandidate); n != 0 {
			t.Errorf("side %d sent %d candidate signals with trickle disabled", side, n)
		}
		sdps := r.sdps(side)
		if len(sdps) != 1 || sdps[0].Type != want {
			t.Fatalf("side %d signalled %d SDPs, want one %s", side, len(sdps), want)
		}
		sdp := sdps[0].SDP
		if strings.Contains(sdp, "a=ice-options:trickle") {
			t.Errorf("%s has a=ice-options:trickle with trickle disabled", want)
		}
		if !strings.Contains(sdp, "\na=candidate:") {
			t.Errorf("%s has no a=candidate lines with trickle disabled:\n%s", want, sdp)
		}
		if !strings.Contains(sdp, "a=max-message-size:65536\r\n") {
			t.Errorf("%s lacks a=max-message-size:65536", want)
		}
	}
}

// TestSignalAllowHalfTrickle checks that with trickle disabled and
// allowHalfTrickle set, the signalled SDP is Pion's local description
// untouched apart from a=max-message-size: no ice-options line is removed.
// (Pion v3 writes no a=ice-options:trickle itself, so there is none to keep
// or strip; this guards that nothing else is filtered.)
func TestSignalAllowHalfTrickle(t *testing.T) {
	o1, o2 := testOptions(true), testOptions(false)
	o1.DisableTrickle, o1.AllowHalfTrickle = true, true
	p1 := newPeer(t, o1)
	p2 := newPeer(t, o2)
	r := wireJSON(t, p1, p2)
	connected(t, p1, p2)

	sdps := r.sdps(0)
	if len(sdps) != 1 {
		t.Fatalf("initiator signalled %d SDPs, want 1", len(sdps))
	}
	if n := r.count(0, simplepeer.SignalCandidate); n != 0 {
		t.Errorf("initiator sent %d candidate signals with trickle disabled", n)
	}
	sdp := sdps[0].SDP
	if !strings.Contains(sdp, "\na=candidate:") {
		t.Errorf("offer has no a=candidate lines:\n%s", sdp)
	}
	local := p1.PeerConnection().CurrentLocalDescription()
	if local == nil {
		t.Fatal("no current local description")
	}
	for _, l := range strings.Split(local.SDP, "\r\n") {
		if strings.HasPrefix(l, "a=ice-options:") && !strings.Contains(sdp, l+"\r\n") {
			t.Errorf("signalled offer lost %q", l)
		}
	}
}

// TestSignalMaxMessageSize checks that every SDP a peer signals for a
// connection with a data channel (offer, answer, renegotiation, with and
// without trickle) advertises a=max-message-size:65536, which is what the
// peer reads (RFC 8841).
func TestSignalMaxMessageSize(t *testing.T) {
	for _, trickle := range []bool{true, false} {
		name := "trickle"
		if !trickle {
			name = "no-trickle"
		}
		t.Run(name, func(t *testing.T) {
			o1, o2 := testOptions(true), testOptions(false)
			o1.DisableTrickle, o2.DisableTrickle = !trickle, !trickle
			p1 := newPeer(t, o1)
			p2 := newPeer(t, o2)
			r := wireJSON(t, p1, p2)
			connected(t, p1, p2)

			// A renegotiation started by each side: two more offers and
			// answers.
			negotiated := make(chan struct{}, 4)
			p1.OnNegotiated(func() { negotiated <- struct{}{} })
			// The first negotiation completed before connect; its event was
			// held until now.
			recv(t, negotiated, "held negotiated of the first negotiation")
			if err := p1.Negotiate(); err != nil {
				t.Fatalf("Negotiate initiator: %v", err)
			}
			recv(t, negotiated, "negotiated after initiator's Negotiate")
			if err := p2.Negotiate(); err != nil {
				t.Fatalf("Negotiate non-initiator: %v", err)
			}
			recv(t, negotiated, "negotiated after non-initiator's Negotiate")
			exchangeMessages(t, p1, p2)

			for side := range 2 {
				sdps := r.sdps(side)
				if len(sdps) != 3 {
					t.Errorf("side %d signalled %d SDPs, want 3", side, len(sdps))
				}
				for i, s := range sdps {
					if n := strings.Count(s.SDP, "a=max-message-size:"); n != 1 {
						t.Errorf("side %d %s #%d has %d a=max-message-size lines, want 1", side, s.Type, i, n)
					}
					if !strings.Contains(s.SDP, "\r\na=max-message-size:65536\r\n") {
						t.Errorf("side %d %s #%d lacks a=max-message-size:65536:\n%s", side, s.Type, i, s.SDP)
					}
				}
			}
			if n := r.count(1, simplepeer.SignalRenegotiate); n != 1 {
				t.Errorf("non-initiator sent %d renegotiate signals, want 1", n)
			}
		})
	}
}

// TestSignalSDPTransform checks simple-peer's sdpTransform: it is applied to every
// SDP a peer signals, and the edited SDP still connects.
func TestSignalSDPTransform(t *testing.T) {
	const marker = "a=x-simplepeer-test:1\r\n"
	var calls [2]int
	var mu sync.Mutex
	transform := func(side int) func(string) string {
		return func(sdp string) string {
			mu.Lock()
			calls[side]++
			mu.Unlock()
			if strings.Contains(sdp, marker) {
				t.Errorf("SDPTransform got an already transformed SDP")
			}
			return sdp + marker
		}
	}
	o1, o2 := testOptions(true), testOptions(false)
	o1.SDPTransform, o2.SDPTransform = transform(0), transform(1)
	p1 := newPeer(t, o1)
	p2 := newPeer(t, o2)
	r := wireJSON(t, p1, p2)
	connected(t, p1, p2)
	exchangeMessages(t, p1, p2)

	for side := range 2 {
		sdps := r.sdps(side)
		if len(sdps) != 1 {
			t.Fatalf("side %d signalled %d SDPs, want 1", side, len(sdps))
		}
		if !strings.HasSuffix(sdps[0].SDP, marker) {
			t.Errorf("side %d: signalled %s was not transformed", side, sdps[0].Type)
		}
		if !strings.Contains(sdps[0].SDP, "a=max-message-size:65536") {
			t.Errorf("side %d: transformed %s lost a=max-message-size", side, sdps[0].Type)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != [2]int{1, 1} {
		t.Errorf("SDPTransform calls = %v, want one per side", calls)
	}
}

// TestSignalChannelName checks simple-peer's channelName option and its default,
// 20 random bytes as 40 hex characters, as seen by both sides.
func TestSignalChannelName(t *testing.T) {
	random := regexp.MustCompile(`^[0-9a-f]{40}$`)
	t.Run("given", func(t *testing.T) {
		o1 := testOptions(true)
		o1.ChannelName = "simple-peer test channel ✓"
		p1, p2 := newPeerPair(t, o1, nil)
		if got := p1.ChannelName(); got != o1.ChannelName {
			t.Errorf("initiator ChannelName before connect = %q, want %q", got, o1.ChannelName)
		}
		connected(t, p1, p2)
		for i, p := range []*simplepeer.Peer{p1, p2} {
			if got := p.ChannelName(); got != o1.ChannelName {
				t.Errorf("peer %d ChannelName = %q, want %q", i+1, got, o1.ChannelName)
			}
		}
	})
	t.Run("default", func(t *testing.T) {
		p1, p2 := connectedPair(t)
		name := p1.ChannelName()
		if !random.MatchString(name) {
			t.Errorf("default ChannelName = %q, want 40 lowercase hex characters", name)
		}
		if got := p2.ChannelName(); got != name {
			t.Errorf("non-initiator ChannelName = %q, want the initiator's %q", got, name)
		}
		q1, _ := connectedPair(t)
		if q1.ChannelName() == name {
			t.Errorf("two peers chose the same random ChannelName %q", name)
		}
	})
}
