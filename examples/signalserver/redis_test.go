package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gosimplepeer/simplepeer/internal/redistest"
)

// Two processes started with -redis share a room: a publish on one reaches
// the subscriber on the other. When one is killed (SIGKILL, no goodbye)
// the other goes on serving its clients.
func TestRedisInstances(t *testing.T) {
	rs := redistest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmdA, addrA, stderrA := startMain(ctx, t, "-addr 127.0.0.1:0 -redis "+rs.Addr)
	cmdB, addrB, stderrB := startMain(ctx, t, "-addr 127.0.0.1:0 -redis redis://"+rs.Addr+"/0")

	client := func(addr string) *websocket.Conn {
		c, _, err := websocket.Dial(ctx, "ws://"+addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.CloseNow() })
		return c
	}
	write := func(c *websocket.Conn, frames ...string) {
		for _, f := range frames {
			if err := c.Write(ctx, websocket.MessageText, []byte(f)); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := func(c *websocket.Conn, frame string) {
		t.Helper()
		if _, data, err := c.Read(ctx); err != nil || string(data) != frame {
			t.Fatalf("got %s, %v; want %s", data, err, frame)
		}
	}
	a, b := client(addrA), client(addrB)
	// The pong comes after the subscription is in Redis.
	write(a, `{"type":"subscribe","topics":["room"]}`, `{"type":"ping"}`)
	want(a, `{"type":"pong"}`)
	write(b, `{"type":"subscribe","topics":["room"]}`, `{"type":"ping"}`)
	want(b, `{"type":"pong"}`)

	write(a, `{"type":"publish","topic":"room","data":"a to b"}`)
	want(a, `{"type":"publish","topic":"room","data":"a to b","clients":1}`)
	want(b, `{"type":"publish","topic":"room","data":"a to b","clients":1}`)

	_ = cmdA.Process.Kill()
	_, _ = io.ReadAll(stderrA)
	_ = cmdA.Wait()
	if _, _, err := a.Read(ctx); err == nil {
		t.Fatal("a's client still connected after its instance was killed")
	}
	b2 := client(addrB)
	write(b2, `{"type":"subscribe","topics":["room"]}`, `{"type":"publish","topic":"room","data":"still here"}`)
	want(b, `{"type":"publish","topic":"room","data":"still here","clients":2}`)
	want(b2, `{"type":"publish","topic":"room","data":"still here","clients":2}`)

	_, _ = b.CloseNow(), b2.CloseNow() // no close handshake to wait for
	_ = cmdB.Process.Signal(syscall.SIGTERM)
	_, _ = io.ReadAll(stderrB)
	if err := cmdB.Wait(); err != nil {
		t.Fatalf("instance b: %v", err)
	}
}

// A Redis that does not answer stops the command at start, not at the
// first client.
func TestRedisUnreachableFailsAtStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(os.Environ(), "SIGNALSERVER_RUN_MAIN=1", "SIGNALSERVER_ARGS=-addr 127.0.0.1:0 -redis 127.0.0.1:1")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "redis at 127.0.0.1:1") {
		t.Fatalf("exit %v, output %q; want a failure naming the Redis address", err, out)
	}
}
