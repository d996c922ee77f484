package simplepeer

import "testing"

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
