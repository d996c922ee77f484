package simplepeer

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/pion/ice/v2"
	"github.com/pion/webrtc/v3"
)

// SignalType is the "type" field of a signal message.
type SignalType string

// The signal message types simple-peer exchanges.
const (
	SignalOffer              SignalType = "offer"
	SignalAnswer             SignalType = "answer"
	SignalCandidate          SignalType = "candidate"
	SignalRenegotiate        SignalType = "renegotiate"
	SignalTransceiverRequest SignalType = "transceiverRequest"
)

// Signal is one signalling message: what OnSignal hands you to carry to the
// remote peer, and what you pass to the remote's (*Peer).Signal. Its JSON is
// exactly simple-peer's, so a Signal can be exchanged with a JavaScript
// simple-peer unchanged:
//
//	{"type":"offer","sdp":"v=0..."}
//	{"type":"answer","sdp":"v=0..."}
//	{"type":"candidate","candidate":{"candidate":"candidate:...","sdpMLineIndex":0,"sdpMid":"0"}}
//	{"type":"renegotiate","renegotiate":true}
//	{"type":"renegotiate","renegotiate":true,"iceRestart":true}   (our addition, see RestartICE)
//	{"type":"transceiverRequest","transceiverRequest":{"kind":"audio","init":{"direction":"recvonly"}}}
type Signal struct {
	Type        SignalType               `json:"type"`
	SDP         string                   `json:"sdp,omitempty"`
	Candidate   *webrtc.ICECandidateInit `json:"candidate,omitempty"`
	Renegotiate bool                     `json:"renegotiate,omitempty"`
	// ICERestart, on a renegotiate request from a Go non-initiator, asks a
	// Go initiator to restart ICE in its next offer (RestartICE).
	// simple-peer ignores the field and renegotiates without a restart.
	ICERestart         bool                `json:"iceRestart,omitempty"`
	TransceiverRequest *TransceiverRequest `json:"transceiverRequest,omitempty"`
}

// TransceiverRequest asks the initiator to add a transceiver; a non-initiator
// sends it from AddTransceiver, since only the initiator makes offers.
type TransceiverRequest struct {
	Kind string           `json:"kind"` // "audio" or "video"
	Init *TransceiverInit `json:"init,omitempty"`
}

// TransceiverInit is the JSON form of RTCRtpTransceiverInit carried in a
// TransceiverRequest. Fields a Go peer cannot use (such as streams) are
// ignored when parsing.
type TransceiverInit struct {
	Direction string `json:"direction,omitempty"`
}

// wireCandidate orders the candidate fields as simple-peer does and, like
// JSON.stringify, writes null for a missing sdpMid or sdpMLineIndex. A
// usernameFragment (which simple-peer never sends, but a browser's
// candidate.toJSON() has) is kept when there is one.
type wireCandidate struct {
	Candidate        string  `json:"candidate"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex"`
	SDPMid           *string `json:"sdpMid"`
	UsernameFragment *string `json:"usernameFragment,omitempty"`
}

// MarshalJSON writes the signal in simple-peer's field order, without
// escaping '<', '>' or '&', as JSON.stringify does. (json.Marshal escapes
// them again as \u003c...; the text still parses the same. For
// JSON.stringify's exact bytes, use a json.Encoder with SetEscapeHTML(false).)
func (s Signal) MarshalJSON() ([]byte, error) {
	type plain Signal // same fields, no MarshalJSON: avoids recursion
	v := struct {
		plain
		Candidate *wireCandidate `json:"candidate,omitempty"`
	}{plain: plain(s)}
	if c := s.Candidate; c != nil {
		v.Candidate = &wireCandidate{Candidate: c.Candidate, SDPMLineIndex: c.SDPMLineIndex, SDPMid: c.SDPMid,
			UsernameFragment: c.UsernameFragment}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Limits on what a peer accepts from the remote, so that hostile input is
// refused in bounded memory. Real SDPs are a few KiB (tens with many
// tracks), candidate lines a few hundred bytes, and a browser gathers tens
// of candidates.
const (
	maxSDPSize          = 1 << 20
	maxCandidateSize    = 4 << 10
	maxRemoteCandidates = 1000 // per remote ICE session (ice-ufrag)
	// maxSignalSize bounds ParseSignal's input: an SDP at its limit with
	// every byte escaped in JSON (\r\n takes 4 bytes), plus the envelope.
	maxSignalSize = 2*maxSDPSize + 4<<10
)

// ParseSignal decodes one JSON signal message, as sent by simple-peer or by
// OnSignal, and checks that it is usable. Errors have code ERR_SIGNALING;
// input over 2 MiB is refused before it is decoded.
func ParseSignal(data []byte) (Signal, error) {
	if len(data) > maxSignalSize {
		return Signal{}, newError(ErrCodeSignaling, "%w: %d bytes of JSON, the limit is %d", ErrSignalTooLarge, len(data), maxSignalSize)
	}
	var s Signal
	if err := json.Unmarshal(data, &s); err != nil {
		return Signal{}, newError(ErrCodeSignaling, "%w: %v", ErrInvalidSignal, err)
	}
	if _, err := s.normalize(); err != nil {
		return Signal{}, err
	}
	return s, nil
}

// normalize checks s and returns its type. Like simple-peer it accepts a
// message without "type" when its fields make the kind clear.
func (s Signal) normalize() (SignalType, error) {
	t := s.Type
	if t == "" {
		switch {
		case s.Candidate != nil:
			t = SignalCandidate
		case s.Renegotiate:
			t = SignalRenegotiate
		case s.TransceiverRequest != nil:
			t = SignalTransceiverRequest
		}
	}
	bad := func(why string) (SignalType, error) {
		return "", newError(ErrCodeSignaling, "%w: %s", ErrInvalidSignal, why)
	}
	switch t {
	case SignalOffer, SignalAnswer:
		if strings.TrimSpace(s.SDP) == "" {
			return bad(string(t) + " without sdp")
		}
		if len(s.SDP) > maxSDPSize {
			return "", newError(ErrCodeSignaling, "%w: sdp of %d bytes, the limit is %d", ErrSignalTooLarge, len(s.SDP), maxSDPSize)
		}
	case SignalCandidate:
		if s.Candidate == nil {
			return bad("candidate message without candidate")
		}
		if n := candidateSize(s.Candidate); n > maxCandidateSize {
			return "", newError(ErrCodeSignaling, "%w: candidate of %d bytes, the limit is %d", ErrSignalTooLarge, n, maxCandidateSize)
		}
	case SignalRenegotiate:
		if !s.Renegotiate {
			return bad("renegotiate message without renegotiate: true")
		}
	case SignalTransceiverRequest:
		r := s.TransceiverRequest
		if r == nil {
			return bad("transceiverRequest message without transceiverRequest")
		}
		if r.Kind != "audio" && r.Kind != "video" {
			return bad("transceiverRequest kind must be audio or video, got " + strconvQuote(r.Kind))
		}
		if r.Init != nil && r.Init.Direction != "" &&
			webrtc.NewRTPTransceiverDirection(r.Init.Direction) == webrtc.RTPTransceiverDirection(webrtc.Unknown) {
			return bad("transceiverRequest has unknown direction " + strconvQuote(r.Init.Direction))
		}
	case "":
		return bad("message has no type and no sdp, candidate, renegotiate or transceiverRequest")
	default:
		return bad("unknown type " + strconvQuote(string(t)))
	}
	return t, nil
}

// checkCandidate parses a remote candidate line before it is queued, so that
// garbage is reported to the caller of Signal instead of destroying the peer
// later. It reports end for the end-of-candidates marker, which needs no
// handling. An mDNS (.local) candidate that does not parse is left to Pion,
// as simple-peer leaves it to the browser: failing to add it is ignored.
func checkCandidate(c *webrtc.ICECandidateInit) (end bool, err error) {
	line := candidateLine(c.Candidate)
	if line == "" {
		return true, nil
	}
	if _, perr := ice.UnmarshalCandidate(line); perr != nil && !isMDNSCandidate(line) {
		return false, newError(ErrCodeSignaling, "%w: cannot parse candidate %s: %v", ErrInvalidSignal, strconvQuote(c.Candidate), perr)
	}
	return false, nil
}

// candidateLine returns the candidate attribute without "a=" and spaces.
func candidateLine(s string) string {
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "a="))
}

func candidateSize(c *webrtc.ICECandidateInit) int {
	n := len(c.Candidate)
	if c.SDPMid != nil {
		n += len(*c.SDPMid)
	}
	if c.UsernameFragment != nil {
		n += len(*c.UsernameFragment)
	}
	return n
}

// isMDNSCandidate reports whether the connection-address field (the fifth
// field of "candidate:foundation component transport priority address port
// typ ...") is an mDNS name.
func isMDNSCandidate(line string) bool {
	f := strings.Fields(line)
	return len(f) > 4 && strings.HasSuffix(f[4], ".local")
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
