package interop

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// startNode runs js/node-peer.js (simple-peer@9.11.1 on @roamhq/wrtc) and
// talks to it over its stdin and stdout, one JSON object a line. Its stderr
// goes to out/node.log. The process ends when the test does.
func startNode(t *testing.T) *jsHost {
	t.Helper()
	if _, err := os.Stat(filepath.Join("node_modules", "@roamhq", "wrtc", "package.json")); err != nil {
		t.Fatalf("interop/node_modules is missing: run interop/run.sh (or npm ci in interop/): %v", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed: %v", err)
	}
	logf, err := os.Create(filepath.Join(outDir, "node.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join("js", "node-peer.js"))
	cmd.Stderr = logf
	cmd.Env = os.Environ()
	if os.Getenv("INTEROP_DEBUG") != "" {
		cmd.Env = append(cmd.Env, "DEBUG=simple-peer")
	}
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
		t.Fatalf("start node: %v", err)
	}

	h := newJSHost("node", func(b []byte) error {
		_, err := stdin.Write(append(b, '\n'))
		return err
	})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			h.dispatch(sc.Bytes())
		}
		h.hostGone(sc.Err())
	}()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	t.Cleanup(func() {
		_ = stdin.Close() // node-peer.js exits when its stdin closes
		select {
		case <-waited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-waited
		}
		<-readerDone
		_ = logf.Close()
	})

	select {
	case ev := <-h.ready:
		t.Logf("node host ready: %s", ev.Versions)
	case <-h.gone:
		t.Fatalf("node exited before it was ready: %v (see %s)", h.goneErr, filepath.Join(outDir, "node.log"))
	case <-time.After(20 * time.Second):
		t.Fatalf("node not ready within 20 s (see %s)", filepath.Join(outDir, "node.log"))
	}
	return h
}
