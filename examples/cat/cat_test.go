package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// proc is one running cat, its pipes and what it printed.
type proc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	signal chan string     // the base64 line it printed on stderr
	first  chan []byte     // the first `want` bytes it wrote to stdout
	rest   chan []byte     // the rest of its stdout, at exit
	exited chan struct{}   // closed after stdout and stderr end and cmd.Wait returns
	err    error           // cmd.Wait's result, read after exited
	stderr strings.Builder // read after exited
}

// startCat starts bin with args; want is how many bytes of stdout go to
// first, the rest going to rest.
func startCat(ctx context.Context, t *testing.T, bin string, want int, args ...string) *proc {
	t.Helper()
	p := &proc{
		cmd:    exec.CommandContext(ctx, bin, args...),
		signal: make(chan string, 1),
		first:  make(chan []byte, 1),
		rest:   make(chan []byte, 1),
		exited: make(chan struct{}),
	}
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	outDone := make(chan struct{})
	go func() {
		first := make([]byte, want)
		n, _ := io.ReadFull(stdout, first)
		p.first <- first[:n]
		rest, _ := io.ReadAll(stdout)
		p.rest <- rest
		close(outDone)
	}()
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if isSignalLine(line) {
				select {
				case p.signal <- line:
				default:
				}
			}
			p.stderr.WriteString(line + "\n")
		}
		<-outDone
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	return p
}

// isSignalLine reports whether line is a signal printed by encodeSignal.
func isSignalLine(line string) bool {
	_, err := decodeSignal(line)
	return err == nil
}

// await returns the next value from ch, or fails the test when ctx ends.
func await[T any](ctx context.Context, t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-ctx.Done():
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// TestTwoProcesses runs two cats, carries each one's signal line into the
// other's stdin, sends 1 MiB one way and a line the other, and checks that
// both exit with status 0 once stdin is closed.
func TestTwoProcesses(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "cat")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	data := make([]byte, 1<<20)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(data)
	reply := "hello from the answerer\n"
	a := startCat(ctx, t, bin, len(reply), "-offer", "-timeout", "10s")
	b := startCat(ctx, t, bin, 1<<20, "-timeout", "10s")
	defer func() {
		if t.Failed() {
			cancel() // kills both, so that their stderr can be read
			<-a.exited
			<-b.exited
			t.Logf("offerer's stderr:\n%s\nanswerer's stderr:\n%s", a.stderr.String(), b.stderr.String())
		}
	}()

	offer := await(ctx, t, a.signal, "the offer line")
	if _, err := io.WriteString(b.stdin, offer+"\n"); err != nil {
		t.Fatal(err)
	}
	answer := await(ctx, t, b.signal, "the answer line")
	if _, err := io.WriteString(a.stdin, answer+"\n"); err != nil {
		t.Fatal(err)
	}

	// A's stdin stays open until A has printed B's line, as closing it
	// closes the connection.
	if _, err := io.WriteString(b.stdin, reply); err != nil {
		t.Fatal(err)
	}
	wrote := make(chan error, 1)
	go func() {
		_, err := a.stdin.Write(data)
		wrote <- err
	}()
	if got := await(ctx, t, a.first, "the reply on the offerer's stdout"); string(got) != reply {
		t.Fatalf("offerer's stdout = %q, want %q", got, reply)
	}
	if got := await(ctx, t, b.first, "1 MiB on the answerer's stdout"); !bytes.Equal(got, data) {
		t.Fatalf("answerer's stdout: %d bytes, not the %d sent", len(got), len(data))
	}
	if err := await(ctx, t, wrote, "the write to the offerer's stdin"); err != nil {
		t.Fatal(err)
	}

	// Closing A's stdin closes the connection: both exit.
	_ = a.stdin.Close()
	_ = b.stdin.Close()
	for _, p := range []*proc{a, b} {
		if rest := await(ctx, t, p.rest, "the end of stdout"); len(rest) > 0 {
			t.Errorf("%s: %d bytes more on stdout", p.cmd.Args, len(rest))
		}
		await(ctx, t, p.exited, "exit")
		if p.err != nil {
			t.Fatalf("%s: %v", p.cmd.Args, p.err)
		}
	}
}
