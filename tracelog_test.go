package simplepeer_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pion/logging"
)

// SIMPLEPEER_TEST_LOG records the library's and Pion's log of every test
// peer in a ring of recent lines; a failed test writes the ring to a file and
// logs its path. It is the way to diagnose a rare failure without slowing
// every run: unset, tests log nothing. Its value is a list of scope=level
// (e.g. "sctp=trace,ice=debug"); a bare level applies to every other scope.
// Pion v3's own debug lines in the "pc" scope race with its state (they
// format whole structs), so use them only when needed.
var testLog = newTraceRing(os.Getenv("SIMPLEPEER_TEST_LOG"), 200000)

type traceRing struct {
	level  logging.LogLevel
	scopes map[string]logging.LogLevel
	mu     sync.Mutex
	lines  []string
	next   int
	full   bool
}

func newTraceRing(spec string, size int) *traceRing {
	if spec == "" {
		return nil
	}
	levels := map[string]logging.LogLevel{"error": logging.LogLevelError, "warn": logging.LogLevelWarn,
		"info": logging.LogLevelInfo, "debug": logging.LogLevelDebug, "trace": logging.LogLevelTrace}
	r := &traceRing{level: logging.LogLevelWarn, scopes: map[string]logging.LogLevel{}, lines: make([]string, size)}
	for _, item := range strings.Split(strings.ToLower(spec), ",") {
		scope, level, scoped := strings.Cut(item, "=")
		if !scoped {
			r.level = levels[scope]
			continue
		}
		r.scopes[scope] = levels[level]
	}
	return r
}

// Write keeps p (one log line, as log.Logger writes them) in the ring.
func (r *traceRing) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.lines[r.next] = string(p)
	r.next++
	if r.next == len(r.lines) {
		r.next, r.full = 0, true
	}
	r.mu.Unlock()
	return len(p), nil
}

// factory returns a LoggerFactory writing into the ring, or nil when
// logging is off.
func (r *traceRing) factory(name string) logging.LoggerFactory {
	if r == nil {
		return nil
	}
	lf := logging.NewDefaultLoggerFactory()
	lf.Writer = prefixWriter{name + " ", r}
	lf.DefaultLogLevel = r.level
	for scope, level := range r.scopes {
		lf.ScopeLevels[scope] = level
	}
	return lf
}

// dumpOnFailure writes the ring to a file when t has failed.
func (r *traceRing) dumpOnFailure(t testing.TB) {
	if r == nil || !t.Failed() {
		return
	}
	r.mu.Lock()
	var b bytes.Buffer
	if r.full {
		for _, l := range r.lines[r.next:] {
			b.WriteString(l)
		}
	}
	for _, l := range r.lines[:r.next] {
		b.WriteString(l)
	}
	r.mu.Unlock()
	name := filepath.Join(os.TempDir(), fmt.Sprintf("simplepeer-%s.log", strings.ReplaceAll(t.Name(), "/", "_")))
	if err := os.WriteFile(name, b.Bytes(), 0o644); err != nil {
		t.Logf("writing the trace log: %v", err)
		return
	}
	t.Logf("trace log: %s", name)
}

type prefixWriter struct {
	prefix string
	r      *traceRing
}

func (w prefixWriter) Write(p []byte) (int, error) {
	_, _ = w.r.Write(append([]byte(w.prefix), p...))
	return len(p), nil
}
