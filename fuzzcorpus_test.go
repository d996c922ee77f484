package simplepeer_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/webrtc/v3"
)

// TestWriteFuzzCorpus rewrites the generated part of the seed corpus in
// testdata/fuzz/ (files named pion-*, node-*, chromium-*, edge-*; others,
// such as minimized findings, are left alone). It runs only when asked:
//
//	SIMPLEPEER_FUZZ_CORPUS=write \
//	SIMPLEPEER_FUZZ_INTEROP_TRACE=$PWD/interop/out/trace.log \
//	go test -run TestWriteFuzzCorpus .
//
// Pion's signals come from in-process pairs made here; simple-peer's (Node
// and Chromium) from the interop suite's trace.log, which records every
// signal carried (interop/run.sh writes it). Without the trace the node-*
// and chromium-* files stay as they are.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("SIMPLEPEER_FUZZ_CORPUS") != "write" {
		t.Skip("set SIMPLEPEER_FUZZ_CORPUS=write to rewrite testdata/fuzz")
	}
	sources := []string{"pion", "edge"}
	caps := capturePionSignals(t)
	if path := os.Getenv("SIMPLEPEER_FUZZ_INTEROP_TRACE"); path != "" {
		caps = append(caps, readInteropTrace(t, path)...)
		sources = append(sources, "node", "chromium")
	}
	cw := &corpusWriter{files: map[string]map[string][]byte{}}
	cw.fromCaptures(selectCaptures(caps))
	cw.edgeCases(t, caps)
	cw.write(t, sources)
}

// capturedSignal is one real signal and where it came from.
type capturedSignal struct {
	source    string // pion, node or chromium
	scenario  string // short name of the pair's setup
	initiator bool   // the sender is the initiator
	raw       []byte // the JSON as it was carried
	sig       simplepeer.Signal
}

// capturePionSignals runs in-process pairs (trickle on and off, with and
// without tracks, renegotiations asked for by either side) and returns
// every signal they exchanged.
func capturePionSignals(t *testing.T) []capturedSignal {
	var out []capturedSignal
	run := func(scenario string, o1, o2 *simplepeer.Options, after func(p1, p2 *simplepeer.Peer, waitNegotiated func())) {
		t.Run(scenario, func(t *testing.T) {
			p1, p2 := newPeer(t, o1), newPeer(t, o2)
			var mu sync.Mutex
			var negotiated atomic.Int64
			p1.OnNegotiated(func() { negotiated.Add(1) })
			record := func(from *simplepeer.Peer, to *simplepeer.Peer) func(simplepeer.Signal) {
				return func(s simplepeer.Signal) {
					raw, err := json.Marshal(s)
					if err != nil {
						t.Errorf("Marshal: %v", err)
						return
					}
					mu.Lock()
					out = append(out, capturedSignal{"pion", scenario, from.Initiator(), raw, s})
					mu.Unlock()
					forward(t, to, s)
				}
			}
			p1.OnSignal(record(p1, p2))
			p2.OnSignal(record(p2, p1))
			connected(t, p1, p2)
			want := int64(1)
			waitNegotiated := func() {
				t.Helper()
				deadline := time.Now().Add(testTimeout)
				for negotiated.Load() < want {
					if time.Now().After(deadline) {
						t.Fatalf("no negotiated event %d", want)
					}
					time.Sleep(5 * time.Millisecond)
				}
				want++
			}
			waitNegotiated()
			if after != nil {
				after(p1, p2, waitNegotiated)
			}
			closeAll(t, p1, p2)
		})
	}
	trickleOff := func(o *simplepeer.Options) *simplepeer.Options { o.DisableTrickle = true; return o }
	withTracks := func(o *simplepeer.Options) *simplepeer.Options {
		o.Tracks = []webrtc.TrackLocal{newTestTrack(t, 0), newTestTrack(t, 1)}
		return o
	}
	run("trickle", testOptions(true), testOptions(false), func(p1, p2 *simplepeer.Peer, waitNegotiated func()) {
		if err := p2.Negotiate(); err != nil { // renegotiate
			t.Fatal(err)
		}
		waitNegotiated()
		// transceiverRequest with an init direction
		if err := p2.AddTransceiver(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
		waitNegotiated()
		if err := p1.AddTransceiver(webrtc.RTPCodecTypeVideo); err != nil { // renegotiation offer
			t.Fatal(err)
		}
		waitNegotiated()
	})
	run("no-trickle", trickleOff(testOptions(true)), trickleOff(testOptions(false)), nil)
	run("media", withTracks(testOptions(true)), testOptions(false), func(p1, p2 *simplepeer.Peer, waitNegotiated func()) {
		// The non-initiator starts sending video: renegotiate, then an
		// answer with a track.
		if err := p2.AddTrack(newTestTrack(t, 3)); err != nil {
			t.Fatal(err)
		}
		waitNegotiated()
	})
	run("no-trickle-media", withTracks(trickleOff(testOptions(true))), trickleOff(testOptions(false)), nil)
	return out
}

var traceLine = regexp.MustCompile(`^((node|chromium)-\d+) (go-(?:non-)?initiator)/(\S+) \+[\d.]+ms js→go (\{.*\})$`)

// readInteropTrace returns the signals simple-peer sent in the interop
// suite's trace, of the first pair of each cell (the one that also
// renegotiates and, in Chromium, adds media).
func readInteropTrace(t *testing.T, path string) []capturedSignal {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	firstPair := map[string]string{} // cell -> JS peer id
	var out []capturedSignal
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		m := traceLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		id, host, role, trickle, raw := m[1], m[2], m[3], m[4], m[5]
		cell := host + "/" + role + "/" + trickle
		if first, ok := firstPair[cell]; !ok {
			firstPair[cell] = id
		} else if first != id {
			continue
		}
		s, err := simplepeer.ParseSignal([]byte(raw))
		if err != nil {
			t.Fatalf("trace signal %s: %v", raw, err)
		}
		// JS is the initiator when Go is not.
		out = append(out, capturedSignal{host, strings.TrimPrefix(role, "go-") + "-" + trickle, role == "go-non-initiator", []byte(raw), s})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no js→go signals", path)
	}
	return out
}

// selectCaptures keeps one signal per source and kind: type, media
// sections and trickle on or off (descriptions), address family
// (candidates), direction given or not (transceiver requests).
func selectCaptures(caps []capturedSignal) []capturedSignal {
	seen := map[string]bool{}
	var out []capturedSignal
	for _, c := range caps {
		key := c.source + " " + string(c.sig.Type)
		switch c.sig.Type {
		case simplepeer.SignalOffer, simplepeer.SignalAnswer:
			key += fmt.Sprint(mediaKinds(c.sig.SDP), strings.Contains(c.scenario, "no-trickle"))
		case simplepeer.SignalCandidate:
			f := strings.Fields(c.sig.Candidate.Candidate)
			key += fmt.Sprint(len(f) > 4 && strings.Contains(f[4], ":")) // IPv6
		case simplepeer.SignalTransceiverRequest:
			key += c.sig.TransceiverRequest.Kind + fmt.Sprint(c.sig.TransceiverRequest.Init != nil)
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, c)
		}
	}
	return out
}

var mediaLine = regexp.MustCompile(`(?m)^m=(\w+)`)

func mediaKinds(sdp string) []string {
	var kinds []string
	for _, m := range mediaLine.FindAllStringSubmatch(sdp, -1) {
		kinds = append(kinds, m[1])
	}
	return kinds
}

// corpusWriter collects corpus files: target -> file name -> contents.
type corpusWriter struct {
	files map[string]map[string][]byte
}

func (cw *corpusWriter) add(target, name string, args ...any) {
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch v := a.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case string:
			fmt.Fprintf(&b, "string(%q)\n", v)
		case int:
			fmt.Fprintf(&b, "int(%d)\n", v)
		case bool:
			fmt.Fprintf(&b, "bool(%v)\n", v)
		default:
			panic(fmt.Sprintf("corpus argument of type %T", a))
		}
	}
	if cw.files[target] == nil {
		cw.files[target] = map[string][]byte{}
	}
	for _, have := range cw.files[target] {
		if bytes.Equal(have, b.Bytes()) {
			return // the same seed from another source
		}
	}
	sum := sha256.Sum256(b.Bytes())
	cw.files[target][fmt.Sprintf("%s-%x", name, sum[:4])] = b.Bytes()
}

// signalArgs are the Signal targets' arguments for s, sent to a peer of
// the given role.
func signalArgs(s simplepeer.Signal, toInitiator bool) []any {
	typ, sdp, cand, mid, mline := string(s.Type), s.SDP, "", "", -1
	if c := s.Candidate; c != nil {
		cand = c.Candidate
		if c.SDPMid != nil {
			mid = *c.SDPMid
		}
		if c.SDPMLineIndex != nil {
			mline = int(*c.SDPMLineIndex)
		}
	}
	if r := s.TransceiverRequest; r != nil {
		cand = r.Kind
		if r.Init != nil {
			mid = r.Init.Direction
		}
	}
	return []any{typ, sdp, cand, mid, mline, toInitiator}
}

var identityLine = regexp.MustCompile(`(?m)^a=(ice-ufrag|ice-pwd|fingerprint):[^\r\n]*`)

// withPlaceholders puts FuzzSignalConnected's placeholders in place of the
// ICE credentials and fingerprint, so that the description fits the live
// session.
func withPlaceholders(sdp string) string {
	return identityLine.ReplaceAllString(sdp, "a=$1:{$1}")
}

func (cw *corpusWriter) fromCaptures(caps []capturedSignal) {
	for _, c := range caps {
		name := c.source + "-" + c.scenario + "-" + string(c.sig.Type)
		cw.add("FuzzParseSignal", name, c.raw)
		cw.add("FuzzSignalFresh", name, signalArgs(c.sig, !c.initiator)...)
		connected := c.sig
		switch c.sig.Type {
		case simplepeer.SignalOffer, simplepeer.SignalAnswer:
			if strings.Contains(c.scenario, "no-trickle") {
				continue // trickled descriptions are enough here: execs are slow
			}
			connected.SDP = withPlaceholders(c.sig.SDP)
		case simplepeer.SignalCandidate:
			if c.source != "pion" {
				continue // one foreign candidate is plenty; see edgeCases
			}
		}
		cw.add("FuzzSignalConnected", name, signalArgs(connected, !c.initiator)...)
	}
}

// edgeCases adds hand-made seeds built from captured signals.
func (cw *corpusWriter) edgeCases(t *testing.T, caps []capturedSignal) {
	var offer, mediaOffer string
	for _, c := range caps {
		if c.source != "pion" || c.sig.Type != simplepeer.SignalOffer {
			continue
		}
		if offer == "" && len(mediaKinds(c.sig.SDP)) == 1 {
			offer = c.sig.SDP
		}
		if mediaOffer == "" && len(mediaKinds(c.sig.SDP)) == 3 {
			mediaOffer = c.sig.SDP
		}
	}
	if offer == "" || mediaOffer == "" {
		t.Fatal("no data-only or audio+video offer captured")
	}
	truncated := offer[:len(offer)*2/3]
	noFingerprint := regexp.MustCompile(`(?m)^a=fingerprint:[^\r\n]*\r?\n`).ReplaceAllString(offer, "")
	dupMLines := offer + offer[strings.Index(offer, "m=application"):]
	mdns := "candidate:1966762134 1 udp 2122260223 5c9e1b1e-8a8f-4b9d-9a52-3f6f0b0e7d11.local 54321 typ host generation 0 network-id 1"
	host := "candidate:3229573512 1 udp 2122194687 192.0.2.2 45223 typ host generation 0 ufrag udhX network-id 1"
	mid0 := valuePtr("0")
	cand := func(line string, mline *uint16) simplepeer.Signal {
		return simplepeer.Signal{Type: simplepeer.SignalCandidate, Candidate: &webrtc.ICECandidateInit{Candidate: line, SDPMid: mid0, SDPMLineIndex: mline}}
	}
	sdpSig := func(typ simplepeer.SignalType, sdp string) simplepeer.Signal {
		return simplepeer.Signal{Type: typ, SDP: sdp}
	}
	marshal := func(s simplepeer.Signal) []byte {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	// FuzzParseSignal: JSON shapes.
	for name, raw := range map[string]string{
		"empty-object":            `{}`,
		"null":                    `null`,
		"array":                   `[]`,
		"string":                  `"offer"`,
		"unknown-type":            `{"type":"bogus","sdp":"v=0"}`,
		"offer-without-sdp":       `{"type":"offer"}`,
		"blank-answer":            `{"type":"answer","sdp":" \r\n"}`,
		"renegotiate-false":       `{"type":"renegotiate","renegotiate":false}`,
		"typeless-renegotiate":    `{"renegotiate":true}`,
		"typeless-candidate":      `{"candidate":{"candidate":"` + host + `","sdpMLineIndex":0,"sdpMid":"0"}}`,
		"candidate-null-fields":   `{"type":"candidate","candidate":{"candidate":"` + host + `","sdpMLineIndex":null,"sdpMid":null}}`,
		"candidate-huge-mline":    `{"type":"candidate","candidate":{"candidate":"` + host + `","sdpMLineIndex":4294967296,"sdpMid":"0"}}`,
		"end-of-candidates":       `{"type":"candidate","candidate":{"candidate":"","sdpMLineIndex":0,"sdpMid":"0"}}`,
		"candidate-null":          `{"type":"candidate","candidate":null}`,
		"transceiver-bad-init":    `{"type":"transceiverRequest","transceiverRequest":{"kind":"video","init":{"direction":"sideways","streams":["x"]}}}`,
		"transceiver-kind-data":   `{"type":"transceiverRequest","transceiverRequest":{"kind":"data"}}`,
		"mdns-candidate":          string(marshal(cand(mdns, valuePtr[uint16](0)))),
		"candidate-mline-65535":   string(marshal(cand(host, valuePtr[uint16](65535)))),
		"truncated-offer":         string(marshal(sdpSig(simplepeer.SignalOffer, truncated))),
		"offer-no-fingerprint":    string(marshal(sdpSig(simplepeer.SignalOffer, noFingerprint))),
		"offer-duplicated-mlines": string(marshal(sdpSig(simplepeer.SignalOffer, dupMLines))),
	} {
		cw.add("FuzzParseSignal", "edge-"+name, []byte(raw))
	}

	// The Signal targets: args are typ, sdp, candidate, mid, mline, initiator.
	dupAudio := mediaOffer + mediaOffer[strings.Index(mediaOffer, "m=audio"):]
	for name, a := range map[string][]any{
		"empty-signal":             {"", "", "", "", -1, false},
		"unknown-type":             {"bogus", offer, "", "", -1, false},
		"mdns-candidate":           {"candidate", "", mdns, "0", 0, false},
		"mdns-candidate-initiator": {"candidate", "", mdns, "0", 0, true},
		"end-of-candidates":        {"candidate", "", "", "0", 0, false},
		"candidate-mline-65535":    {"candidate", "", host, "0", 65535, true},
		"candidate-huge-mline":     {"candidate", "", host, "", 1 << 40, false}, // clamped to 65535
		"truncated-offer":          {"offer", truncated, "", "", -1, false},
		"offer-no-fingerprint":     {"offer", noFingerprint, "", "", -1, false},
		"offer-duplicated-mline":   {"offer", dupMLines, "", "", -1, false},
		"offer-duplicated-media":   {"offer", dupAudio, "", "", -1, false},
		"offer-to-initiator":       {"offer", offer, "", "", -1, true},
		"answer-to-non-initiator":  {"answer", offer, "", "", -1, false},
		"transceiver-sendonly":     {"transceiverRequest", "", "audio", "sendonly", -1, true},
		"transceiver-to-responder": {"transceiverRequest", "", "video", "", -1, false},
		"renegotiate-to-responder": {"renegotiate", "", "", "", -1, false},
	} {
		cw.add("FuzzSignalFresh", "edge-"+name, a...)
	}
	renego := withPlaceholders(mediaOffer)
	for name, a := range map[string][]any{
		"unknown-type":           {"bogus", renego, "", "", -1, false},
		"mdns-candidate":         {"candidate", "", mdns, "0", 0, false},
		"end-of-candidates":      {"candidate", "", "", "0", 0, true},
		"candidate-mline-65535":  {"candidate", "", host, "0", 65535, true},
		"live-candidate-again":   {"candidate", "", "candidate:1 1 udp 2130706431 {addr} {port} typ host", "0", 0, true},
		"live-candidate-srflx":   {"candidate", "", "candidate:9 1 udp 1694498815 {addr} {port} typ srflx raddr 0.0.0.0 rport 0", "0", 0, false},
		"truncated-offer":        {"offer", renego[:len(renego)*2/3], "", "", -1, false},
		"offer-no-fingerprint":   {"offer", regexp.MustCompile(`(?m)^a=fingerprint:[^\r\n]*\r?\n`).ReplaceAllString(renego, ""), "", "", -1, false},
		"offer-duplicated-media": {"offer", renego + renego[strings.Index(renego, "m=audio"):], "", "", -1, false},
		"offer-to-initiator":     {"offer", withPlaceholders(offer), "", "", -1, true},
		"transceiver-sendrecv":   {"transceiverRequest", "", "video", "sendrecv", -1, true},
	} {
		cw.add("FuzzSignalConnected", "edge-"+name, a...)
	}
}

// write replaces the files of the given sources under testdata/fuzz.
func (cw *corpusWriter) write(t *testing.T, sources []string) {
	for target, files := range cw.files {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		old, _ := os.ReadDir(dir)
		for _, e := range old {
			for _, src := range sources {
				if strings.HasPrefix(e.Name(), src+"-") {
					_ = os.Remove(filepath.Join(dir, e.Name()))
				}
			}
		}
		names := make([]string, 0, len(files))
		for name := range files {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			keep := false
			for _, src := range sources {
				keep = keep || strings.HasPrefix(name, src+"-")
			}
			if !keep {
				continue
			}
			if len(files[name]) > 20<<10 {
				t.Errorf("%s/%s is %d bytes", target, name, len(files[name]))
			}
			if err := os.WriteFile(filepath.Join(dir, name), files[name], 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("%s: %d files", target, len(names))
	}
}
