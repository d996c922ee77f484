package simplepeer

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/pion/webrtc/v3"
)

// ErrInsecureSettings: verification of the remote's DTLS certificate
// fingerprint is disabled (SettingEngine.DisableCertificateFingerprintVerification),
// so anyone who can relay the signalling or the packets could stand in for
// the remote peer and read everything sent. New refuses such an engine with
// code ERR_PC_CONSTRUCTOR. The fingerprint in the signalled SDP is what binds
// the DTLS handshake to the peer the application meant (RFC 8842).
var ErrInsecureSettings = errors.New("verification of the remote's DTLS certificate fingerprint is disabled")

// fingerprintCheckField is the SettingEngine field that
// DisableCertificateFingerprintVerification sets in Pion v3. Pion offers no
// getter, so the field is read with reflect. A test fails when the field is
// missing, so a Pion upgrade that renames it cannot silently turn the check
// off.
const fingerprintCheckField = "disableCertificateFingerprintVerification"

// checkSettingEngine returns an error wrapping ErrInsecureSettings when se
// turns off the remote certificate's fingerprint verification. When se is
// nil, or the setting cannot be read (a Pion that renamed the field), it
// returns nil: the Pion version this module requires is tested to have it.
func checkSettingEngine(se *webrtc.SettingEngine) error {
	disabled, ok := boolField(se, fingerprintCheckField)
	if ok && disabled {
		return fmt.Errorf("%w: SettingEngine.DisableCertificateFingerprintVerification(true) would accept any certificate", ErrInsecureSettings)
	}
	return nil
}

// boolField reads the bool field name of the struct *ptr, exported or not.
// ok is false, and nothing panics, when ptr is nil or not a pointer to a
// struct, or when the struct has no bool field of that name.
func boolField(ptr any, name string) (value, ok bool) {
	v := reflect.ValueOf(ptr)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return false, false
	}
	f := v.Elem().FieldByName(name)
	if !f.IsValid() || f.Kind() != reflect.Bool {
		return false, false
	}
	// Reading an unexported field is allowed; only Interface and Set are not.
	return f.Bool(), true
}
