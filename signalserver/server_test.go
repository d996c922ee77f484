package signalserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gosimplepeer/simplepeer/internal/leakcheck"
)

// TestMain fails the package if a test leaves a goroutine running: every
// client goroutine must end by Shutdown.
func TestMain(m *testing.M) { leakcheck.Main(m) }

const testTimeout = 10 * time.Second

type testServer struct {
	*Server
	url   string // ws://127.0.0.1:port/
	http  string // http://127.0.0.1:port
	drops chan string
}

// newTestServer serves New(opts) on 127.0.0.1; the cleanup shuts it down.
func newTestServer(t *testing.T, opts *Options, configure ...func(*http.Server)) *testServer {
	t.Helper()
	s := New(opts)
	drops := make(chan string, 64)
	s.onDrop = func(reason string) { drops <- reason }
	hs := httptest.NewUnstartedServer(s)
	for _, f := range configure {
		f(hs.Config)
	}
	hs.Start()
	t.Cleanup(hs.Close)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &testServer{Server: s, url: "ws" + strings.TrimPrefix(hs.URL, "http") + "/", http: hs.URL, drops: drops}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func dial(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(ctxT(t), url, nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	c.SetReadLimit(4 << 20)
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

func send(t *testing.T, c *websocket.Conn, frame string) {
	t.Helper()
	if err := c.Write(ctxT(t), websocket.MessageText, []byte(frame)); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func recv(t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	_, data, err := c.Read(ctxT(t))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("frame %q: %v", data, err)
	}
	return m
}

// barrier pings and expects the pong as the next frame: the frames sent
// before it have been handled, and nothing else was relayed to c.
func barrier(t *testing.T, c *websocket.Conn) {
	t.Helper()
	send(t, c, `{"type":"ping"}`)
	if m := recv(t, c); m["type"] != "pong" {
		t.Fatalf("got %v, want only a pong", m)
	}
}

func subscribe(t *testing.T, c *websocket.Conn, topics ...string) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"type": "subscribe", "topics": topics})
	send(t, c, string(b))
	barrier(t, c)
}

func wantPublish(t *testing.T, c *websocket.Conn, topic string, clients int, data string) {
	t.Helper()
	m := recv(t, c)
	if m["type"] != "publish" || m["topic"] != topic || m["clients"] != float64(clients) || m["data"] != data {
		t.Fatalf("got %v, want publish on %q with clients %d and data %q", m, topic, clients, data)
	}
}

func wantClose(t *testing.T, c *websocket.Conn, code websocket.StatusCode) {
	t.Helper()
	for {
		_, _, err := c.Read(ctxT(t))
		if err == nil {
			continue
		}
		if got := websocket.CloseStatus(err); got != code {
			t.Fatalf("closed with %v (%v), want %v", got, err, code)
		}
		return
	}
}

func wantDrop(t *testing.T, s *testServer, reason string) {
	t.Helper()
	select {
	case got := <-s.drops:
		if got != reason {
			t.Fatalf("dropped for %q, want %q", got, reason)
		}
	case <-time.After(testTimeout):
		t.Fatalf("no client dropped, want one for %q", reason)
	}
}

func TestPublishRelaysToAllSubscribersIncludingSender(t *testing.T) {
	s := newTestServer(t, nil)
	a, b, c, outsider := dial(t, s.url), dial(t, s.url), dial(t, s.url), dial(t, s.url)
	for _, conn := range []*websocket.Conn{a, b, c} {
		send(t, conn, `{"type":"subscribe","topics":["room",42,"other"]}`) // 42 is not a string: ignored
		barrier(t, conn)
	}
	send(t, a, `{"type":"publish","topic":"room","data":"hi","extra":{"nested":[1,2]}}`)
	for _, conn := range []*websocket.Conn{a, b, c} {
		_, data, err := conn.Read(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		var got, want any
		_ = json.Unmarshal(data, &got)
		_ = json.Unmarshal([]byte(`{"type":"publish","topic":"room","data":"hi","extra":{"nested":[1,2]},"clients":3}`), &want)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("got %s, want the frame unchanged plus clients 3", data)
		}
	}
	// Publishing without subscribing is allowed, as in y-webrtc.
	send(t, outsider, `{"type":"publish","topic":"room","data":"from outside"}`)
	for _, conn := range []*websocket.Conn{a, b, c} {
		wantPublish(t, conn, "room", 3, "from outside")
		barrier(t, conn)
	}
	barrier(t, outsider)
	if n := len(s.drops); n != 0 {
		t.Fatalf("%d clients dropped", n)
	}
}

func TestUnsubscribe(t *testing.T) {
	s := newTestServer(t, nil)
	a, b := dial(t, s.url), dial(t, s.url)
	subscribe(t, a, "room")
	subscribe(t, b, "room")
	send(t, b, `{"type":"unsubscribe","topics":["room"]}`)
	barrier(t, b)
	send(t, a, `{"type":"publish","topic":"room","data":"x"}`)
	wantPublish(t, a, "room", 1, "x")
	barrier(t, b)
	send(t, a, `{"type":"unsubscribe","topics":["room"]}`)
	barrier(t, a)
	s.mu.RLock()
	n := len(s.topics)
	s.mu.RUnlock()
	if n != 0 {
		t.Fatalf("%d topics left after everyone unsubscribed", n)
	}
}

func TestPingPongAndJunkIgnored(t *testing.T) {
	s := newTestServer(t, nil)
	c := dial(t, s.url)
	subscribe(t, c, "") // a subscription to "" is kept, but publish skips it as server.js does
	for _, junk := range []string{`not json`, `{"type":"publish","topic":""}`, `[]`, `{"type":7}`, `{"type":"nope"}`, `{"type":"publish","topic":1}`, `{"type":"subscribe","topics":"x"}`} {
		send(t, c, junk)
	}
	send(t, c, `{"type":"ping"}`)
	if _, data, err := c.Read(ctxT(t)); err != nil || string(data) != `{"type":"pong"}` {
		t.Fatalf("got %q, %v; want {\"type\":\"pong\"}", data, err)
	}
}

func TestMessageTooBig(t *testing.T) {
	s := newTestServer(t, &Options{MaxMessageSize: 1024})
	c := dial(t, s.url)
	send(t, c, `{"type":"publish","topic":"room","data":"`+strings.Repeat("x", 900)+`"}`) // fits
	send(t, c, `{"type":"publish","topic":"room","data":"`+strings.Repeat("x", 2000)+`"}`)
	wantClose(t, c, websocket.StatusMessageTooBig)
	wantDrop(t, s, reasonMessageTooBig)
}

func TestTooManyTopicsPerClient(t *testing.T) {
	s := newTestServer(t, &Options{MaxTopicsPerClient: 2})
	c := dial(t, s.url)
	subscribe(t, c, "a", "b", "c")
	send(t, c, `{"type":"publish","topic":"c","data":"x"}`)
	barrier(t, c) // not subscribed to c
	send(t, c, `{"type":"publish","topic":"b","data":"y"}`)
	wantPublish(t, c, "b", 1, "y")
	// Leaving one makes room for another.
	send(t, c, `{"type":"unsubscribe","topics":["a"]}`)
	subscribe(t, c, "c")
	send(t, c, `{"type":"publish","topic":"c","data":"z"}`)
	wantPublish(t, c, "c", 1, "z")
}

func TestFullTopic(t *testing.T) {
	s := newTestServer(t, &Options{MaxClientsPerTopic: 2})
	a, b, c := dial(t, s.url), dial(t, s.url), dial(t, s.url)
	subscribe(t, a, "room")
	subscribe(t, b, "room")
	subscribe(t, c, "room") // full: ignored
	send(t, c, `{"type":"publish","topic":"room","data":"x"}`)
	wantPublish(t, a, "room", 2, "x")
	wantPublish(t, b, "room", 2, "x")
	barrier(t, c)
}

func TestSlowClientDroppedOthersKeepReceiving(t *testing.T) {
	// Small socket buffers on both ends of the slow client's connection
	// (the third) make its queue fill after a few MiB rather than tens.
	var conns atomic.Int32
	s := newTestServer(t, &Options{SendQueue: 16, MessagesPerSecond: -1, MaxMessageSize: 1 << 20, WriteTimeout: time.Hour},
		func(hs *http.Server) {
			hs.ConnState = func(c net.Conn, st http.ConnState) {
				if tc, ok := c.(*net.TCPConn); ok && st == http.StateNew && conns.Add(1) == 3 {
					_ = tc.SetWriteBuffer(16 << 10)
				}
			}
		})
	pub, fast := dial(t, s.url), dial(t, s.url)
	slow, _, err := websocket.Dial(ctxT(t), s.url, &websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetReadBuffer(16 << 10)
			}
			return c, err
		},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = slow.CloseNow() })
	subscribe(t, pub, "room")
	subscribe(t, fast, "room")
	subscribe(t, slow, "room") // and never reads again

	// pub and fast read everything; each reports the data of the frames it got.
	type got struct{ n, last int }
	reader := func(c *websocket.Conn, stop int) <-chan got {
		ch := make(chan got, 1)
		go func() {
			var g got
			for g.last != stop {
				_, data, err := c.Read(context.Background())
				if err != nil {
					break
				}
				// Parse the head only: scanning 128 KiB frames under -race is slow.
				var n int
				if _, err := fmt.Sscanf(string(data[:min(len(data), 64)]), `{"type":"publish","topic":"room","data":%d`, &n); err != nil {
					t.Errorf("frame %.64q: %v", data, err)
				}
				g.n++
				g.last = n
			}
			ch <- g
		}()
		return ch
	}
	const stop = -1
	pubGot, fastGot := reader(pub, stop), reader(fast, stop)

	pad := strings.Repeat("x", 128<<10)
	sent := 0
	ctx := ctxT(t)
	for dropped := false; !dropped; {
		if sent == 4000 { // 500 MiB: far beyond any socket buffer
			t.Fatal("slow client never dropped")
		}
		sent++
		frame := fmt.Sprintf(`{"type":"publish","topic":"room","data":%d,"pad":"%s"}`, sent, pad)
		if err := pub.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
			t.Fatal(err)
		}
		select {
		case reason := <-s.drops:
			if reason != reasonSendQueueFull {
				t.Fatalf("dropped for %q", reason)
			}
			dropped = true
		default:
		}
	}
	sent++
	send(t, pub, fmt.Sprintf(`{"type":"publish","topic":"room","data":%d}`, stop))
	for name, ch := range map[string]<-chan got{"publisher": pubGot, "fast subscriber": fastGot} {
		select {
		case g := <-ch:
			if g.n != sent || g.last != stop {
				t.Fatalf("%s got %d frames ending with %d, want %d ending with %d", name, g.n, g.last, sent, stop)
			}
		case <-ctx.Done():
			t.Fatalf("%s did not get all frames", name)
		}
	}
	if n := len(s.drops); n != 0 {
		t.Fatalf("%d more clients dropped", n)
	}
	for { // the dropped one was slow: its connection ends after what was buffered
		if _, _, err := slow.Read(ctx); err != nil {
			break
		}
	}
	t.Logf("slow client dropped after %d messages of 128 KiB", sent-1)
}

func TestRateLimit(t *testing.T) {
	s := newTestServer(t, &Options{MessagesPerSecond: 0.01, Burst: 5})
	c := dial(t, s.url)
	for i := 0; i < 5; i++ {
		barrier(t, c)
	}
	send(t, c, `{"type":"ping"}`)
	wantClose(t, c, websocket.StatusPolicyViolation)
	wantDrop(t, s, reasonRateLimit)
}

func TestIdleTimeout(t *testing.T) {
	s := newTestServer(t, &Options{IdleTimeout: 400 * time.Millisecond})
	live, dead := dial(t, s.url), dial(t, s.url)
	subscribe(t, live, "room")
	subscribe(t, dead, "room") // then stops reading, so answers no ping
	done := make(chan error, 1)
	go func() { // live keeps reading, which answers pings
		_, _, err := live.Read(context.Background())
		done <- err
	}()
	wantDrop(t, s, reasonIdleTimeout)
	if _, _, err := dead.Read(ctxT(t)); err == nil {
		t.Fatal("dead client still connected")
	}
	select {
	case err := <-done:
		t.Fatalf("live client closed: %v", err)
	default:
	}
	_ = live.CloseNow()
	<-done
}

func TestAllowedOrigins(t *testing.T) {
	s := newTestServer(t, &Options{AllowedOrigins: []string{"good.example", "*.good.example"}})
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"", true}, // not a browser
		{"https://good.example", true},
		{"https://app.good.example", true},
		{"https://evil.example", false},
		{"https://good.example.evil.example", false},
	} {
		h := http.Header{}
		if tc.origin != "" {
			h.Set("Origin", tc.origin)
		}
		c, resp, err := websocket.Dial(ctxT(t), s.url, &websocket.DialOptions{HTTPHeader: h})
		if tc.ok != (err == nil) {
			t.Fatalf("origin %q: err %v, want ok %v", tc.origin, err, tc.ok)
		}
		if err == nil {
			barrier(t, c)
			_ = c.CloseNow()
		} else if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("origin %q: response %v, want 403", tc.origin, resp)
		}
	}
}

func TestAnyOriginByDefault(t *testing.T) {
	s := newTestServer(t, nil)
	h := http.Header{"Origin": {"https://anywhere.example"}}
	c, _, err := websocket.Dial(ctxT(t), s.url, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	barrier(t, c)
}

func TestShutdownClosesClientsWithGoingAway(t *testing.T) {
	s := newTestServer(t, nil)
	a, b := dial(t, s.url), dial(t, s.url)
	subscribe(t, a, "room")
	subscribe(t, b, "room")
	closed := make(chan websocket.StatusCode, 2)
	for _, c := range []*websocket.Conn{a, b} {
		go func() {
			for {
				if _, _, err := c.Read(context.Background()); err != nil {
					closed <- websocket.CloseStatus(err)
					return
				}
			}
		}()
	}
	if err := s.Shutdown(ctxT(t)); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for i := 0; i < 2; i++ {
		if code := <-closed; code != websocket.StatusGoingAway {
			t.Fatalf("closed with %v, want 1001", code)
		}
	}
	_, resp, err := websocket.Dial(ctxT(t), s.url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial after Shutdown: %v, %v; want 503", resp, err)
	}
}

func TestMetrics(t *testing.T) {
	s := newTestServer(t, &Options{MaxMessageSize: 512})
	a, b, big := dial(t, s.url), dial(t, s.url), dial(t, s.url)
	subscribe(t, a, "room", "lobby")
	subscribe(t, b, "room")
	send(t, a, `{"type":"publish","topic":"room","data":"x"}`)
	wantPublish(t, a, "room", 2, "x")
	wantPublish(t, b, "room", 2, "x")
	barrier(t, a) // a's reader has counted what it relayed
	send(t, big, `{"type":"publish","topic":"room","data":"`+strings.Repeat("x", 1000)+`"}`)
	wantClose(t, big, websocket.StatusMessageTooBig)
	wantDrop(t, s, reasonMessageTooBig)

	resp, err := http.Get(s.http + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, line := range []string{
		"signalserver_topics 2",
		"signalserver_messages_relayed_total 2",
		"signalserver_clients_accepted_total 3",
		`signalserver_clients_dropped_total{reason="message_too_big"} 1`,
		`signalserver_clients_dropped_total{reason="send_queue_full"} 0`,
		"signalserver_messages_received_total 6", // 2 subscribes, 3 pings, 1 publish
	} {
		if !strings.Contains(string(body), line+"\n") {
			t.Errorf("metrics lack %q:\n%s", line, body)
		}
	}
	if !strings.Contains(string(body), "signalserver_clients ") {
		t.Errorf("metrics lack signalserver_clients:\n%s", body)
	}
}

func TestPlainHTTPIsOkay(t *testing.T) {
	s := newTestServer(t, nil)
	resp, err := http.Get(s.http + "/anything")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "okay\n" {
		t.Fatalf("got %d %q, want 200 okay", resp.StatusCode, body)
	}
}
