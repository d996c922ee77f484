package interop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const firefoxPath = "/usr/bin/firefox-esr"

// firefoxPrefs is the profile's user.js: fake camera and microphone
// granted without a prompt, plain host addresses (no mDNS names) and
// loopback candidates, and nothing that reaches for the network on its own
// (telemetry, updates, remote settings, Safe Browsing, captive-portal and
// connectivity checks), as the suite stays on this machine.
var firefoxPrefs = map[string]string{
	"media.navigator.streams.fake":                      "true",
	"media.navigator.permission.disabled":               "true",
	"media.autoplay.default":                            "0",
	"media.peerconnection.ice.loopback":                 "true",
	"media.peerconnection.ice.obfuscate_host_addresses": "false",
	"media.peerconnection.ice.default_address_only":     "false",
	"toolkit.telemetry.enabled":                         "false",
	"toolkit.telemetry.unified":                         "false",
	"datareporting.policy.dataSubmissionEnabled":        "false",
	"datareporting.healthreport.uploadEnabled":          "false",
	"app.update.enabled":                                "false",
	"app.update.auto":                                   "false",
	"extensions.update.enabled":                         "false",
	"extensions.getAddons.cache.enabled":                "false",
	"services.settings.server":                          `"http://127.0.0.1:9/"`,
	"browser.safebrowsing.malware.enabled":              "false",
	"browser.safebrowsing.phishing.enabled":             "false",
	"browser.safebrowsing.downloads.enabled":            "false",
	"browser.shell.checkDefaultBrowser":                 "false",
	"browser.startup.homepage_override.mstone":          `"ignore"`,
	"browser.aboutwelcome.enabled":                      "false",
	"network.captive-portal-service.enabled":            "false",
	"network.connectivity-service.enabled":              "false",
	"network.dns.disablePrefetch":                       "true",
	"network.prefetch-next":                             "false",
}

// startFirefox serves the interop page and opens it in headless Firefox
// (Debian's firefox-esr) with a fresh profile of firefoxPrefs. Its output
// goes to out/firefox.log.
func startFirefox(t *testing.T) *jsHost {
	t.Helper()
	if _, err := os.Stat(firefoxPath); err != nil {
		t.Fatalf("%s is missing: run interop/run.sh (apt-get install firefox-esr): %v", firefoxPath, err)
	}
	h, url := servePage(t, browserPackage{log: "firefox", bundle: simplePeerBundle})
	profile, err := os.MkdirTemp(outDir, "firefox-profile-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(profile) }) // after Firefox is stopped
	var prefs strings.Builder
	for k, v := range firefoxPrefs {
		prefs.WriteString("user_pref(\"" + k + "\", " + v + ");\n")
	}
	if err := os.WriteFile(filepath.Join(profile, "user.js"), []byte(prefs.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return launchPage(t, h, "firefox", firefoxPath, []string{"--headless", "--no-remote", "--profile", profile, url})
}
