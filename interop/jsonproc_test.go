package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// jsonProc is a Node program of the suite's (js/*.mjs) driven by JSON
// lines: commands on its stdin, events of type E on its stdout. runNode
// runs it; its stderr goes to out/<kind>-<name>.log.
type jsonProc[E any] struct {
	kind, name string // "yjs peer" "a": for messages and the log's name
	stdin      io.Writer
	events     chan E
	stop       chan struct{} // closed at cleanup: the reader stops delivering
	fault      func(msg string) E
	timeout    time.Duration // the test's deadline, for messages
	logName    string

	mu      sync.Mutex
	gone    chan struct{}
	goneErr error
}

// startJSONProc runs script as kind name. fault makes the event that
// reports a line that does not decode.
func startJSONProc[E any](t *testing.T, script, kind, logPrefix, name string, env []string, timeout time.Duration, fault func(string) E) *jsonProc[E] {
	t.Helper()
	p := &jsonProc[E]{kind: kind, name: name, events: make(chan E, 256), stop: make(chan struct{}),
		gone: make(chan struct{}), fault: fault, timeout: timeout, logName: logPrefix + "-" + name + ".log"}
	p.stdin = runNode(t, filepath.Join("js", script), p.logName, env, p.dispatch, p.ended)
	t.Cleanup(func() { close(p.stop) }) // runs before runNode's cleanup
	return p
}

func (p *jsonProc[E]) dispatch(line []byte) {
	var ev E
	if err := json.Unmarshal(line, &ev); err != nil {
		ev = p.fault(fmt.Sprintf("undecodable line %q: %v", truncate(string(line), 200), err))
	}
	select {
	case p.events <- ev:
	case <-p.stop:
	}
}

func (p *jsonProc[E]) ended(err error) {
	if err == nil {
		err = io.EOF
	}
	p.mu.Lock()
	p.goneErr = err
	p.mu.Unlock()
	close(p.gone)
}

func (p *jsonProc[E]) err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.goneErr
}

func (p *jsonProc[E]) log() string { return filepath.Join(outDir, p.logName) }

func (p *jsonProc[E]) send(t *testing.T, cmd map[string]any) {
	t.Helper()
	b, err := json.Marshal(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		t.Fatalf("%s %s: send %v: %v (see %s)", p.kind, p.name, cmd["cmd"], err, p.log())
	}
}

// next returns p's next event; the process's end or ctx's deadline fails
// the test.
func (p *jsonProc[E]) next(ctx context.Context, t *testing.T, what string) E {
	t.Helper()
	select {
	case ev := <-p.events:
		return ev
	case <-p.gone:
		t.Fatalf("%s %s exited while waiting for %s: %v (see %s)", p.kind, p.name, what, p.err(), p.log())
	case <-ctx.Done():
		t.Fatalf("%s %s: no %s within %v (see %s)", p.kind, p.name, what, p.timeout, p.log())
	}
	var zero E
	return zero
}
