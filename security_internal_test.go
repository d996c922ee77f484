package simplepeer

import (
	"errors"
	"testing"

	"github.com/pion/webrtc/v3"
)

// The check reads a field Pion does not export. If a Pion upgrade renames
// or retypes it, checkSettingEngine can no longer see the setting and lets
// every engine through: this test is what fails then, so the upgrade cannot
// silently disable the check. Fix fingerprintCheckField to match Pion's
// SettingEngine.DisableCertificateFingerprintVerification.
func TestFingerprintCheckFieldExists(t *testing.T) {
	se := &webrtc.SettingEngine{}
	if v, ok := boolField(se, fingerprintCheckField); !ok || v {
		t.Fatalf("webrtc.SettingEngine.%s: found %v, value %v; want a bool field, false by default "+
			"(did Pion rename the field behind DisableCertificateFingerprintVerification?)",
			fingerprintCheckField, ok, v)
	}
	se.DisableCertificateFingerprintVerification(true)
	if v, ok := boolField(se, fingerprintCheckField); !ok || !v {
		t.Fatalf("after DisableCertificateFingerprintVerification(true): found %v, value %v; want true",
			ok, v)
	}
	if err := checkSettingEngine(se); !errors.Is(err, ErrInsecureSettings) {
		t.Fatalf("checkSettingEngine = %v, want ErrInsecureSettings", err)
	}
	se.DisableCertificateFingerprintVerification(false)
	if err := checkSettingEngine(se); err != nil {
		t.Fatalf("checkSettingEngine after re-enabling = %v, want nil", err)
	}
}

// boolField never panics, whatever it is given: a renamed Pion field must
// make the check blind (and TestFingerprintCheckFieldExists fail), not
// crash New.
func TestBoolFieldNoPanic(t *testing.T) {
	var nilEngine *webrtc.SettingEngine
	type s struct {
		flag  bool
		count int
	}
	for _, tc := range []struct {
		name string
		ptr  any
		fld  string
		ok   bool
	}{
		{"renamed field", &webrtc.SettingEngine{}, "disableFingerprintCheckRenamed", false},
		{"field of another type", &webrtc.SettingEngine{}, "LoggerFactory", false},
		{"nil engine", nilEngine, fingerprintCheckField, false},
		{"nil", nil, fingerprintCheckField, false},
		{"not a pointer", webrtc.SettingEngine{}, fingerprintCheckField, false},
		{"pointer to a non-struct", new(int), "x", false},
		{"unexported int", &s{count: 1}, "count", false},
		{"unexported bool", &s{flag: true}, "flag", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := boolField(tc.ptr, tc.fld); ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
		})
	}
	if err := checkSettingEngine(nil); err != nil {
		t.Fatalf("checkSettingEngine(nil) = %v, want nil", err)
	}
}
