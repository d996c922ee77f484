package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
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
// first, the rest going to rest. At the end of the test it is killed if
// still running, and its stderr logged if the test failed.
func startCat(ctx context.Context, t *testing.T, bin string, want int, args ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
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
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		<-p.exited
		if t.Failed() {
			t.Logf("%s stderr:\n%s", p.cmd.Args, p.stderr.String())
		}
	})
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

// buildCat builds the example into a temporary directory.
func buildCat(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cat")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startPair starts an offerer a and an answerer b with extra arguments and
// carries each one's signal line into the other's stdin. aWant and bWant
// are as startCat's want.
func startPair(ctx context.Context, t *testing.T, bin string, aWant, bWant int, aArgs, bArgs []string) (a, b *proc) {
	t.Helper()
	a = startCat(ctx, t, bin, aWant, append([]string{"-offer", "-timeout", "10s"}, aArgs...)...)
	b = startCat(ctx, t, bin, bWant, append([]string{"-timeout", "10s"}, bArgs...)...)

	offer := await(ctx, t, a.signal, "the offer line")
	if _, err := io.WriteString(b.stdin, offer+"\n"); err != nil {
		t.Fatal(err)
	}
	answer := await(ctx, t, b.signal, "the answer line")
	if _, err := io.WriteString(a.stdin, answer+"\n"); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// checkExit waits for p to end with status 0 and nothing more on stdout.
func checkExit(ctx context.Context, t *testing.T, p *proc) {
	t.Helper()
	if rest := await(ctx, t, p.rest, "the end of stdout"); len(rest) > 0 {
		t.Errorf("%s: %d bytes more on stdout", p.cmd.Args, len(rest))
	}
	await(ctx, t, p.exited, "exit")
	if p.err != nil {
		t.Fatalf("%s: %v", p.cmd.Args, p.err)
	}
}

// TestTwoProcesses runs two cats, carries each one's signal line into the
// other's stdin, sends 1 MiB one way and a line the other, and checks that
// both exit with status 0 once stdin is closed.
func TestTwoProcesses(t *testing.T) {
	bin := buildCat(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	data := make([]byte, 1<<20)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(data)
	reply := "hello from the answerer\n"
	a, b := startPair(ctx, t, bin, len(reply), len(data), nil, nil)

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
	checkExit(ctx, t, a)
	checkExit(ctx, t, b)
}

// TestKeep is the one-way transfer: the receiver's stdin ends right after
// the signal line, and -keep makes it receive until the sender closes.
func TestKeep(t *testing.T) {
	bin := buildCat(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	data := make([]byte, 1<<20)
	_, _ = rand.NewChaCha8([32]byte{2}).Read(data)
	a, b := startPair(ctx, t, bin, 0, len(data), nil, []string{"-keep"})
	_ = b.stdin.Close()
	go func() {
		_, _ = a.stdin.Write(data) // an error shows as missing data
		_ = a.stdin.Close()
	}()
	if got := await(ctx, t, b.first, "1 MiB on the receiver's stdout"); !bytes.Equal(got, data) {
		t.Fatalf("receiver's stdout: %d bytes, not the %d sent", len(got), len(data))
	}
	checkExit(ctx, t, a)
	checkExit(ctx, t, b)
}

// TestBadSignal checks that a line that is not a signal ends cat with an
// error status instead of a hang.
func TestBadSignal(t *testing.T) {
	bin := buildCat(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, line := range []string{"not base64!", "bm90IGpzb24=" /* "not json" */, ""} {
		p := startCat(ctx, t, bin, 0)
		_, _ = io.WriteString(p.stdin, line+"\n")
		_ = p.stdin.Close()
		await(ctx, t, p.exited, "exit")
		var exit *exec.ExitError
		if !errors.As(p.err, &exit) || exit.ExitCode() != 1 {
			t.Errorf("line %q: %v, want exit status 1", line, p.err)
		}
	}
}
