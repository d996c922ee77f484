package simplepeer

import (
	"strings"
	"testing"

	"github.com/pion/logging"
)

func TestRedact(t *testing.T) {
	cases := map[string]string{
		`Started agent: isControlling? true, remoteUfrag: "abc", remotePwd: "s3cr3t+/x"`: `Started agent: isControlling? true, remoteUfrag: "abc", remotePwd: "[redacted]"`,
		"a=ice-ufrag:u\r\na=ice-pwd:p4ss\r\na=fingerprint:x":                             "a=ice-ufrag:u\r\na=ice-pwd:[redacted]\r\na=fingerprint:x",
		`{Username:u Credential:turnpass CredentialType:password}`:                       `{Username:u Credential:[redacted] CredentialType:password}`,
		`password=hunter2 and PWD = "x y"`:                                               `password=[redacted] and PWD = "[redacted] y"`,
		"nothing to see":                                                                 "nothing to see",
		"pwd":                                                                            "pwd",
		"pwd:":                                                                           "pwd:",
	}
	for in, want := range cases {
		if got := redact(in); got != want {
			t.Errorf("redact(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}

// With Pion's own factory, lines above a scope's level cost nothing; lines
// at it are still redacted and written.
func TestRedactingLoggerSkipsDroppedLevels(t *testing.T) {
	var out strings.Builder
	f := logging.NewDefaultLoggerFactory()
	f.Writer = &out
	f.DefaultLogLevel = logging.LogLevelWarn
	f.ScopeLevels = map[string]logging.LogLevel{"ice": logging.LogLevelDebug}
	sctp := redactingFactory{f}.NewLogger("sctp")
	var nop logging.LeveledLogger = nopLogger{}
	calls := func(l logging.LeveledLogger) func() {
		return func() { l.Tracef("chunk %d", 7); l.Debugf("tsn %d", 8) }
	}
	// The call sites box their arguments whatever the logger; beyond that,
	// a dropped line must cost what it costs with no logger at all.
	if n, base := testing.AllocsPerRun(100, calls(sctp)), testing.AllocsPerRun(100, calls(nop)); n != base {
		t.Errorf("a dropped trace and debug line cost %v allocations, %v with no logger", n, base)
	}
	sctp.Warnf("password=%s", "hunter2")
	redactingFactory{f}.NewLogger("ice").Debugf("ice-pwd:%s", "p4ss")
	if got := out.String(); !strings.Contains(got, "password=[redacted]") || !strings.Contains(got, "ice-pwd:[redacted]") || strings.Contains(got, "hunter2") {
		t.Errorf("kept lines: %q", got)
	}
}
