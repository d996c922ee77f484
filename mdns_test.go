package simplepeer_test

import (
	"strings"
	"testing"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v3"
)

// Remote candidates with an mDNS (.local) address are handed to Pion, as
// simple-peer hands them to the browser, and a failure to add one never
// destroys the peer. The tests keep mDNS off (its multicast queries would
// leave the machine), so Pion's ICE agent reports each .local candidate it
// receives in its log, which shows it got there; the peers still connect on
// their real candidates.
func TestMDNSCandidatesGoToPion(t *testing.T) {
	logs := newLogRecorder(logging.LogLevelWarn)
	o2 := testOptions(false)
	o2.SettingEngine.LoggerFactory = logs.factory("resp")
	p1, p2 := newPeerPair(t, nil, o2)
	mid, idx := "0", uint16(0)
	mdns := []string{
		// What a browser that hides its addresses signals.
		"candidate:1 1 udp 2113937151 4f2a4c3e-1b7a-4d6b-8c3e-5a9f0e7d2c11.local 54321 typ host generation 0",
		// An mDNS candidate Pion cannot parse: adding it fails.
		"candidate:2 1 udp 2113937151 0b7e6a1c-9d2f-4e3a-8b5c-1f0a2d3e4c55.local notaport typ host",
	}
	var sentMDNS bool
	p1.OnSignal(func(s simplepeer.Signal) {
		forward(t, p2, s)
		if s.Type == simplepeer.SignalOffer && !sentMDNS {
			sentMDNS = true
			for _, c := range mdns {
				init := webrtc.ICECandidateInit{Candidate: c, SDPMid: &mid, SDPMLineIndex: &idx}
				if err := p2.Signal(simplepeer.Signal{Type: simplepeer.SignalCandidate, Candidate: &init}); err != nil {
					t.Errorf("Signal(%q): %v", c, err)
				}
			}
		}
	})
	connected(t, p1, p2)
	var reached bool
	for _, l := range logs.snapshot() {
		if l.scope == "ice" && strings.Contains(l.text, "4f2a4c3e-1b7a-4d6b-8c3e-5a9f0e7d2c11.local") {
			reached = true
		}
	}
	if !reached {
		t.Errorf("the .local candidate never reached Pion's ICE agent; its log:\n%v", logs.snapshot())
	}
	if p2.Destroyed() {
		t.Error("an mDNS candidate destroyed the peer")
	}
}
