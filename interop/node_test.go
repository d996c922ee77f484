package interop

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A nodeRuntime is one simple-peer on one WebRTC implementation in Node,
// run by js/node-peer.js (INTEROP_PEER, INTEROP_WRTC).
type nodeRuntime struct {
	peer string // npm package: simple-peer or @thaunknown/simple-peer
	wrtc string // @roamhq/wrtc, node-datachannel/polyfill or webrtc-polyfill
	log  string // its stderr, in out/
}

// startNode returns a host start function: it runs js/node-peer.js with rt
// and talks to it over its stdin and stdout, one JSON object a line. Its
// stderr goes to out/<rt.log>. The process ends when the test does.
func startNode(rt nodeRuntime) func(*testing.T) *jsHost {
	return func(t *testing.T) *jsHost {
		t.Helper()
		var stdin io.Writer
		h := newJSHost(strings.TrimSuffix(rt.log, ".log"), func(b []byte) error {
			_, err := stdin.Write(append(b, '\n'))
			return err
		})
		env := []string{"INTEROP_PEER=" + rt.peer, "INTEROP_WRTC=" + rt.wrtc}
		if os.Getenv("INTEROP_DEBUG") != "" {
			env = append(env, "DEBUG=simple-peer")
		}
		stdin = runNode(t, filepath.Join("js", "node-peer.js"), rt.log, env, h.dispatch, h.hostGone)

		select {
		case ev := <-h.ready:
			t.Logf("node host ready: %s", ev.Versions)
		case <-h.gone:
			t.Fatalf("node exited before it was ready: %v (see %s)", h.goneErr, filepath.Join(outDir, rt.log))
		case <-time.After(20 * time.Second):
			t.Fatalf("node not ready within 20 s (see %s)", filepath.Join(outDir, rt.log))
		}
		return h
	}
}

// runNode runs script with Node, extra environment variables env added, in
// a process group of its own. Its stderr goes to out/logName. A single
// goroutine calls onLine with each line of its stdout (the slice is reused
// after onLine returns), then onEnd with the error that ended the reading
// (nil at end of file). Lines for its stdin go to the returned writer.
// When the test ends, stdin is closed (the scripts exit then), the
// process group is killed if it has not gone within 5 s, and the reader
// is waited for.
func runNode(t *testing.T, script, logName string, env []string, onLine func([]byte), onEnd func(error)) io.Writer {
	t.Helper()
	if _, err := os.Stat(filepath.Join("node_modules", "@roamhq", "wrtc", "package.json")); err != nil {
		t.Fatalf("interop/node_modules is missing: run interop/run.sh (or npm ci in interop/): %v", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed: %v", err)
	}
	logf, err := os.Create(filepath.Join(outDir, logName))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, script)
	cmd.Stderr = logf
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		t.Fatalf("start node %s: %v", script, err)
	}

	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			onLine(sc.Bytes())
		}
		onEnd(sc.Err())
	}()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	t.Cleanup(func() {
		_ = stdin.Close()
		select {
		case <-waited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-waited
		}
		<-readerDone
		_ = logf.Close()
	})
	return stdin
}
