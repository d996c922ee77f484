package signalclient_test

import (
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gosimplepeer/simplepeer/signalserver"
)

// cutProxy forwards TCP connections to a server and can cut all of them at
// once, as a network drop between a client and the signalling server would.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			p.wg.Add(2)
			go func() { defer p.wg.Done(); _, _ = io.Copy(up, c); _ = up.Close() }()
			go func() { defer p.wg.Done(); _, _ = io.Copy(c, up); _ = c.Close() }()
		}
	}()
	return p
}

// cut closes every forwarded connection; new ones are still accepted.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func (p *cutProxy) close() {
	_ = p.ln.Close()
	p.cut()
	p.wg.Wait()
}

// The server connection drops after two members have connected: their peer
// stays up and keeps carrying data, the clients redial, and a third member
// joining afterwards reaches both through the new connections.
func TestReconnectKeepsPeers(t *testing.T) {
	srv := signalserver.New(nil)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()
	proxy := newCutProxy(t, strings.TrimPrefix(hs.URL, "http://"))
	defer proxy.close()
	url := "ws://" + proxy.ln.Addr().String()

	a, b := join(t, url, "a"), join(t, url, "b")
	recv(t, a.joined, "a connecting to b")
	recv(t, b.joined, "b connecting to a")
	recv(t, a.lines, "b's hello")
	recv(t, b.lines, "a's hello")

	proxy.cut()
	peer := a.room.Peers()["b"]
	if peer == nil || !peer.Connected() {
		t.Fatal("a's peer to b did not survive the cut")
	}
	if err := peer.SendString("after the cut"); err != nil {
		t.Fatalf("Send after the cut: %v", err)
	}
	if got := recv(t, b.lines, "a message after the cut"); got != "after the cut" {
		t.Errorf("b got %q after the cut", got)
	}

	c := join(t, url, "c")
	for range 2 {
		recv(t, c.joined, "c connecting to a and b after the redial")
	}
	for _, m := range []*member{a, b} {
		recv(t, m.joined, "a and b connecting to c")
	}
	for _, m := range []*member{c, a, b} {
		_ = m.room.Close()
	}
}
