package simplepeer_test

import (
	"errors"
	"testing"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/webrtc/v3"
)

// New refuses a SettingEngine that turns off the check of the remote's DTLS
// certificate against the fingerprint in its SDP, whatever engine it starts
// from, and accepts the library's default and Pion's zero engine. Engines
// not restricted to loopback are tried on a non-initiator only: it gathers
// nothing until it gets an offer, so even a broken check (New accepting the
// engine) opens no socket off this machine.
func TestInsecureSettingsRefused(t *testing.T) {
	insecure := func(se *webrtc.SettingEngine) *webrtc.SettingEngine {
		se.DisableCertificateFingerprintVerification(true)
		return se
	}
	reenabled := insecure(loopbackSettings())
	reenabled.DisableCertificateFingerprintVerification(false)
	for _, tc := range []struct {
		name     string
		se       *webrtc.SettingEngine
		refused  bool
		loopback bool // safe for an initiator, which gathers at once
	}{
		{"default engine, verification off", insecure(simplepeer.DefaultSettingEngine()), true, false},
		{"zero engine, verification off", insecure(&webrtc.SettingEngine{}), true, false},
		{"loopback engine, verification off", insecure(loopbackSettings()), true, true},
		{"default engine", simplepeer.DefaultSettingEngine(), false, false},
		{"zero engine", &webrtc.SettingEngine{}, false, false},
		{"nil engine", nil, false, false},
		{"loopback engine", loopbackSettings(), false, true},
		{"verification off, then on again", reenabled, false, true},
	} {
		for _, initiator := range []bool{true, false} {
			if initiator && !tc.loopback {
				continue
			}
			name := tc.name + map[bool]string{true: "/initiator", false: "/non-initiator"}[initiator]
			t.Run(name, func(t *testing.T) {
				o := testOptions(initiator)
				o.SettingEngine = tc.se
				p, err := simplepeer.New(o)
				if !tc.refused {
					if err != nil {
						t.Fatalf("New: %v", err)
					}
					_ = p.Close()
					return
				}
				if err == nil {
					_ = p.Close()
					t.Fatal("New accepted an engine that skips fingerprint verification")
				}
				if p != nil {
					t.Errorf("New returned a peer with its error")
				}
				if c := simplepeer.Code(err); c != simplepeer.ErrCodePCConstructor {
					t.Errorf("code %q (%v), want %s", c, err, simplepeer.ErrCodePCConstructor)
				}
				if !errors.Is(err, simplepeer.ErrInsecureSettings) {
					t.Errorf("%v is not ErrInsecureSettings", err)
				}
			})
		}
	}
}
