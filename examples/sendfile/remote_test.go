package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer/signalserver"
)

// proc is one running sendfile.
type proc struct {
	cmd    *exec.Cmd
	joined chan struct{} // closed once it has printed that it joined the room
	exited chan struct{} // closed once its stderr has ended and Wait returned
	err    error         // Wait's result, read after exited
	stdout bytes.Buffer  // read after exited
	stderr bytes.Buffer  // read after exited
}

// startSendfile runs bin with args until it exits or ctx ends. Its output
// is logged when the test fails.
func startSendfile(ctx context.Context, t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.CommandContext(ctx, bin, args...), joined: make(chan struct{}), exited: make(chan struct{})}
	p.cmd.Stdout = &p.stdout
	p.cmd.WaitDelay = 5 * time.Second
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		var once sync.Once
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.stderr.Write(append(sc.Bytes(), '\n'))
			if strings.Contains(sc.Text(), "joined room") {
				once.Do(func() { close(p.joined) })
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill() // a no-op once it has exited
		<-p.exited
		if t.Failed() {
			t.Logf("%q: %v\nstdout:\n%s\nstderr:\n%s", p.cmd.Args[1:], p.err, &p.stdout, &p.stderr)
		}
	})
	return p
}

// waitJoined waits until p has joined its room, failing if it exits first.
func (p *proc) waitJoined(t *testing.T) {
	t.Helper()
	select {
	case <-p.joined:
	case <-p.exited:
		t.Fatalf("%q exited before joining the room: %v", p.cmd.Args[1:], p.err)
	}
}

// wait waits for p to exit and returns its error (nil for status 0).
func (p *proc) wait() error {
	<-p.exited
	return p.err
}

// TestTwoProcesses builds sendfile and sends files between two processes
// through an in-process signalling server: the receiver first, the sender
// first, a file the receiver refuses, and a receiver that times out.
func TestTwoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and runs it")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "sendfile")
	build := []string{"build", "-o", bin}
	if raceEnabled {
		build = append(build, "-race") // a data race makes the command exit 66
	}
	if out, err := exec.CommandContext(ctx, goBin, append(build, ".")...).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	srv := signalserver.New(nil)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	t.Cleanup(func() { _ = srv.Close() }) // first: it closes the clients
	url := "ws" + strings.TrimPrefix(hs.URL, "http")

	// A 5 MB file of pseudo-random bytes.
	data := make([]byte, 5_000_000)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(data)
	src := filepath.Join(t.TempDir(), "five.bin")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct{ name, first string }{{"ReceiverFirst", "recv"}, {"SenderFirst", "send"}} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			recv := []string{"-signal", url, "-room", tc.name, "-recv", out, "-timeout", "90s"}
			send := []string{"-signal", url, "-room", tc.name, "-send", src, "-timeout", "90s"}
			firstArgs, secondArgs := recv, send
			if tc.first == "send" {
				firstArgs, secondArgs = send, recv
			}
			first := startSendfile(ctx, t, bin, firstArgs...)
			first.waitJoined(t)
			second := startSendfile(ctx, t, bin, secondArgs...)
			r, s := first, second
			if tc.first == "send" {
				r, s = second, first
			}
			if err := r.wait(); err != nil {
				t.Errorf("receiver: %v", err)
			}
			if err := s.wait(); err != nil {
				t.Errorf("sender: %v", err)
			}
			got, err := os.ReadFile(filepath.Join(out, "five.bin"))
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("received %d bytes (%v), want the %d sent", len(got), err, len(data))
			}
			if entries, _ := os.ReadDir(out); len(entries) != 1 {
				t.Errorf("%d entries in the receiver's directory, want five.bin only", len(entries))
			}
			if !strings.HasPrefix(r.stdout.String(), "received "+filepath.Join(out, "five.bin")+": 5000000 bytes in ") {
				t.Errorf("receiver printed %q", &r.stdout)
			}
			if !strings.HasPrefix(s.stdout.String(), "sent five.bin: 5000000 bytes in ") {
				t.Errorf("sender printed %q", &s.stdout)
			}
		})
	}

	// A name that exists in the receiver's directory is refused: both exit 1
	// and the file stays as it was.
	t.Run("Exists", func(t *testing.T) {
		out := t.TempDir()
		old := filepath.Join(out, "five.bin")
		if err := os.WriteFile(old, []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := startSendfile(ctx, t, bin, "-signal", url, "-room", "exists", "-recv", out, "-timeout", "90s")
		r.waitJoined(t)
		s := startSendfile(ctx, t, bin, "-signal", url, "-room", "exists", "-send", src, "-timeout", "90s")
		if err := r.wait(); exitCode(err) != 1 {
			t.Errorf("receiver: %v, want exit status 1", err)
		}
		if err := s.wait(); exitCode(err) != 1 || !strings.Contains(s.stderr.String(), "already exists") {
			t.Errorf("sender: %v, want exit status 1 and 'already exists'", err)
		}
		if got, _ := os.ReadFile(old); string(got) != "old" {
			t.Errorf("five.bin is %q, want it untouched", got)
		}
	})

	// A second sender in the room is ignored: one file arrives, from the
	// sender the receiver connected to first, and the other sender is not
	// served: it fails at once if it connected to the receiver too, and
	// otherwise waits for another receiver (here until it is interrupted).
	t.Run("SecondSender", func(t *testing.T) {
		out := t.TempDir()
		other := filepath.Join(t.TempDir(), "other.bin")
		if err := os.WriteFile(other, data[:1_000_000], 0o644); err != nil {
			t.Fatal(err)
		}
		r := startSendfile(ctx, t, bin, "-signal", url, "-room", "three", "-recv", out, "-timeout", "90s")
		r.waitJoined(t)
		s1 := startSendfile(ctx, t, bin, "-signal", url, "-room", "three", "-send", src, "-timeout", "90s")
		s2 := startSendfile(ctx, t, bin, "-signal", url, "-room", "three", "-send", other, "-timeout", "90s")
		if err := r.wait(); err != nil {
			t.Errorf("receiver: %v", err)
		}
		entries, _ := os.ReadDir(out)
		if len(entries) != 1 {
			t.Fatalf("%d entries in the receiver's directory, want 1", len(entries))
		}
		winner, loser := s1, s2
		if entries[0].Name() == "other.bin" {
			winner, loser = s2, s1
		}
		if err := winner.wait(); err != nil {
			t.Errorf("the sender of %s: %v", entries[0].Name(), err)
		}
		_ = loser.cmd.Process.Signal(os.Interrupt) // if still waiting
		if err := loser.wait(); exitCode(err) != 1 {
			t.Errorf("the other sender: %v, want exit status 1", err)
		}
	})

	// Alone in its room, a receiver gives up after -timeout.
	t.Run("Timeout", func(t *testing.T) {
		r := startSendfile(ctx, t, bin, "-signal", url, "-room", "alone", "-recv", t.TempDir(), "-timeout", "1s")
		if err := r.wait(); exitCode(err) != 1 || !strings.Contains(r.stderr.String(), "timed out after 1s") {
			t.Errorf("receiver: %v, want exit status 1 and 'timed out after 1s'", err)
		}
	})
}

// exitCode returns the exit status err (from Wait) stands for.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if e, ok := err.(*exec.ExitError); ok {
		return e.ExitCode()
	}
	return -1
}
