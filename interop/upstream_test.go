package interop

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An upstreamRepro is a standalone Node script in js/repro/ (no Go peer)
// that reproduces one of the JS packages' own issues listed in
// upstream/README.md, with the pinned versions, next to a control where
// the same steps behave as the spec has them.
type upstreamRepro struct {
	id, script string
	// flaky: the issue shows only now and then, so the script's count is
	// reported but not required (and it runs only with INTEROP_REPROS=all,
	// as it takes over a minute).
	flaky bool
	// fix: the script also checks the fix suggested upstream (fixOK).
	fix bool
	env []string
}

var upstreamRepros = []upstreamRepro{
	{id: "thaunknown-no-close", script: "thaunknown-no-close.mjs", fix: true},
	{id: "ndc-no-end-of-candidates", script: "ndc-no-end-of-candidates.cjs"},
	{id: "ndc-ice-closed-on-remote-close", script: "ndc-ice-closed-on-remote-close.cjs", env: []string{"REPRO_ROUNDS=5"}},
	{id: "ndc-readonly-sdp", script: "ndc-readonly-sdp.cjs"},
	{id: "ndc-no-ice-transport", script: "ndc-no-ice-transport.mjs", flaky: true},
}

// reproFindings is what every script reports in its REPRO line.
type reproFindings struct {
	ID         string          `json:"id"`
	Error      string          `json:"error"`
	Reproduced *bool           `json:"reproduced"`
	ControlOK  *bool           `json:"controlOK"`
	FixOK      *bool           `json:"fixOK"`
	Versions   json.RawMessage `json:"versions"`
}

// TestUpstreamRepros runs the reproductions of the JS packages' issues
// (upstream/README.md) and checks that each still shows with the pinned
// versions while its control does not: when one stops reproducing (after a
// version bump, say), the known issue it documents is stale and the test
// says so. The findings go to out/repro-<id>.json.
func TestUpstreamRepros(t *testing.T) {
	all := os.Getenv("INTEROP_REPROS") == "all"
	for _, r := range upstreamRepros {
		t.Run(r.id, func(t *testing.T) {
			if r.flaky && !all {
				t.Skipf("shows only now and then and takes over a minute: set INTEROP_REPROS=all to run it")
			}
			t.Parallel()
			line := runRepro(t, r.script, r.env)
			_ = os.WriteFile(filepath.Join(outDir, "repro-"+r.id+".json"), line, 0o644)
			var f reproFindings
			if err := json.Unmarshal(line, &f); err != nil {
				t.Fatalf("%s: bad REPRO line %q: %v", r.script, line, err)
			}
			if f.ID != r.id || f.Error != "" || f.Reproduced == nil {
				t.Fatalf("%s: id %q, error %q, reproduced %v (see out/repro-%s.json)", r.script, f.ID, f.Error, f.Reproduced, r.id)
			}
			t.Logf("%s with %s: reproduced %v (out/repro-%s.json)", r.id, f.Versions, *f.Reproduced, r.id)
			if f.ControlOK != nil && !*f.ControlOK {
				t.Errorf("%s: the control misbehaved too: the reproduction no longer isolates the issue", r.id)
			}
			if r.fix && (f.FixOK == nil || !*f.FixOK) {
				t.Errorf("%s: the fix suggested in upstream/README.md does not work", r.id)
			}
			if !*f.Reproduced && !r.flaky {
				t.Errorf("%s no longer reproduces with these versions: the known issue is stale; update upstream/README.md, README.md and interopHosts", r.id)
			}
		})
	}
}

// runRepro runs js/repro/script and returns the JSON of its REPRO line.
func runRepro(t *testing.T, script string, env []string) []byte {
	t.Helper()
	var found []byte
	done := make(chan struct{})
	runNode(t, filepath.Join("js", "repro", script), "repro-"+strings.TrimSuffix(script, filepath.Ext(script))+".log", env,
		func(b []byte) {
			if rest, ok := bytes.CutPrefix(b, []byte("REPRO ")); ok && found == nil {
				found = append([]byte(nil), rest...)
			}
		},
		func(error) { close(done) })
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		t.Fatalf("%s did not finish within 10 minutes", script)
	}
	if found == nil {
		t.Fatalf("%s printed no REPRO line (see out/repro-*.log)", script)
	}
	return found
}
