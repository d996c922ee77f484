package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gosimplepeer/simplepeer/internal/leakcheck"
)

// TestMain runs main itself when re-executed by TestSignalShutsDown, and
// otherwise the tests, failing on leftover goroutines.
func TestMain(m *testing.M) {
	if os.Getenv("SIGNALSERVER_RUN_MAIN") == "1" {
		os.Args = append([]string{os.Args[0]}, strings.Fields(os.Getenv("SIGNALSERVER_ARGS"))...)
		main()
		return
	}
	leakcheck.Main(m)
}

func TestRunRelaysAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	addrs := make(chan net.Addr, 1)
	ran := make(chan error, 1)
	go func() { ran <- run(runCtx, "127.0.0.1:0", nil, func(a net.Addr) { addrs <- a }) }()
	addr := (<-addrs).String()

	c, _, err := websocket.Dial(ctx, "ws://"+addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for _, f := range []string{`{"type":"subscribe","topics":["room"]}`, `{"type":"publish","topic":"room","data":1}`} {
		if err := c.Write(ctx, websocket.MessageText, []byte(f)); err != nil {
			t.Fatal(err)
		}
	}
	if _, data, err := c.Read(ctx); err != nil || string(data) != `{"type":"publish","topic":"room","data":1,"clients":1}` {
		t.Fatalf("got %s, %v", data, err)
	}
	// The relayed frame can arrive before the server has counted it; the
	// pong comes after: the server handles a client's frames in order.
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	if _, data, err := c.Read(ctx); err != nil || string(data) != `{"type":"pong"}` {
		t.Fatalf("got %s, %v; want the pong", data, err)
	}

	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "signalserver_messages_relayed_total 1\n") {
		t.Fatalf("metrics:\n%s", body)
	}

	closed := make(chan error, 1)
	go func() {
		_, _, err := c.Read(ctx)
		closed <- err
	}()
	stop()
	if err := <-closed; websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("client closed with %v, want 1001", err)
	}
	if err := <-ran; err != nil {
		t.Fatalf("run: %v", err)
	}
}

// startMain runs the command (this test binary re-executed as main) with
// args and returns it with the address it listens on and the rest of its
// stderr. The process is killed when ctx ends.
func startMain(ctx context.Context, t *testing.T, args string) (*exec.Cmd, string, io.Reader) {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(os.Environ(), "SIGNALSERVER_RUN_MAIN=1", "SIGNALSERVER_ARGS="+args)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewReader(stderr)
	for {
		line, err := lines.ReadString('\n')
		if m := regexp.MustCompile(`ws://(\S+)`).FindStringSubmatch(line); m != nil {
			return cmd, m[1], lines
		}
		if err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("no listening line: %v", err)
		}
	}
}

// TestSignalShutsDown runs the command (this test binary re-executed as
// main) and stops it with SIGINT and with SIGTERM: a connected client gets
// 1001 and the process exits 0.
func TestSignalShutsDown(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cmd, addr, stderr := startMain(ctx, t, "-addr 127.0.0.1:0")
			c, _, err := websocket.Dial(ctx, "ws://"+addr, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"ping"}`)); err != nil {
				t.Fatal(err)
			}
			if _, _, err := c.Read(ctx); err != nil { // the pong: the client is registered
				t.Fatal(err)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
				t.Fatalf("client closed with %v, want 1001", err)
			}
			rest, _ := io.ReadAll(stderr)
			if err := cmd.Wait(); err != nil {
				t.Fatalf("exit: %v\n%s", err, rest)
			}
			if !strings.Contains(string(rest), "shut down") {
				t.Fatalf("no shutdown line in %q", rest)
			}
		})
	}
}
