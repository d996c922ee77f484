package signalclient_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gosimplepeer/simplepeer/internal/redistest"
	"github.com/gosimplepeer/simplepeer/signalserver"
)

// instance is one signalserver on the shared Redis, behind a proxy that
// can take it off the network at once, as a crash would.
type instance struct {
	srv   *signalserver.Server
	hs    *httptest.Server
	proxy *cutProxy
	url   string
}

func newInstance(t *testing.T, rs *redistest.Server) *instance {
	srv := signalserver.New(&signalserver.Options{Redis: rs.Client(t)})
	hs := httptest.NewServer(srv)
	proxy := newCutProxy(t, strings.TrimPrefix(hs.URL, "http://"))
	in := &instance{srv: srv, hs: hs, proxy: proxy, url: "ws://" + proxy.ln.Addr().String()}
	t.Cleanup(in.kill)
	return in
}

// kill refuses new connections and cuts the open ones without a close
// frame, then stops the server.
func (in *instance) kill() {
	in.proxy.close()
	in.hs.Close()
	_ = in.srv.Close()
}

// Members that joined through two instances sharing a Redis connect to
// each other. One instance dies: its member redials the other (its
// fallback), the established peer keeps carrying data, and members
// joining afterwards — one of them naming the dead instance first —
// reach both.
func TestRedisMembersAcrossInstances(t *testing.T) {
	rs := redistest.Start(t)
	a, b := newInstance(t, rs), newInstance(t, rs)

	x := join(t, a.url, "x", b.url)
	y := join(t, b.url, "y", a.url)
	recv(t, x.joined, "x (on a) connecting to y (on b)")
	recv(t, y.joined, "y connecting to x")
	if got := recv(t, y.lines, "x's hello"); got != "x says hi to y" {
		t.Fatalf("y got %q", got)
	}
	recv(t, x.lines, "y's hello")

	a.kill()
	peer := x.room.Peers()["y"]
	if peer == nil || !peer.Connected() {
		t.Fatal("x's peer to y did not survive its instance's death")
	}
	if err := peer.SendString("after a died"); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := recv(t, y.lines, "x's message after a died"); got != "after a died" {
		t.Errorf("y got %q", got)
	}

	// z names the dead instance first: Join goes on to b. x must be back
	// on b for z's announce to reach it.
	z := join(t, a.url, "z", b.url)
	for range 2 {
		recv(t, z.joined, "z connecting to x and y")
	}
	for _, m := range []*member{x, y} {
		recv(t, m.joined, "x and y connecting to z")
	}
	for _, m := range []*member{z, x, y} {
		_ = m.room.Close()
	}
}
