package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gosimplepeer/simplepeer/internal/leakcheck"
	"time"

	"github.com/coder/websocket"
	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/webrtc/v3"
)

// The browser itself is tested by the interop suite (interop/browser_test.go,
// headless Chromium). These tests play the page with a Go peer, so that the
// server's protocol and cleanup are checked by go test ./... alone.

const (
	waitTimeout = 15 * time.Second
	wantPackets = 30 // RTP packets of each video: about 1 s
)

// TestMain fails when a goroutine started by the tests outlives them: every
// session must end with its page, and run with its context.
func TestMain(m *testing.M) { leakcheck.Main(m) }

// TestPages does what app.js does, twice: the first page chats, receives
// the clip, sends a camera and gets it back, then leaves (its WebSocket
// closes); the second is still connected when the server shuts down.
func TestPages(t *testing.T) {
	c, err := loadClip("")
	if err != nil {
		t.Fatal(err)
	}
	// 90 frames of 1/30 s, each rounded up to the nanosecond.
	if d := c.length - 3*time.Second; len(c.frames) != 90 || d < 0 || d > time.Microsecond {
		t.Errorf("clip: %d frames, %v; want 90 frames, 3 s", len(c.frames), c.length)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := newOutput()
	ran := make(chan error, 1)
	go func() { ran <- run(ctx, "127.0.0.1:0", c, out) }()
	m := out.waitFor(t, `listening on http://(\S+)/`)
	addr := m[1]

	// Page 1: chat, clip, camera echo.
	p1 := openPage(t, addr)
	p1.waitConnected(t)
	if got := p1.nextChat(t); !strings.HasPrefix(got, "hello from Go peer") {
		t.Errorf("greeting: %q", got)
	}
	if err := p1.peer.SendString("hi there"); err != nil {
		t.Fatal(err)
	}
	if got := p1.nextChat(t); got != "go peer got: hi there" {
		t.Errorf("chat reply: %q, want %q", got, "go peer got: hi there")
	}
	p1.waitVideo(t, clipStreamID)

	// The camera: a VP8 track playing the clip, as Chromium's fake camera
	// would. Adding it makes the page ask for a new offer, and the server
	// then adds the echo.
	camera, err := newSampleTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "camera", "camera")
	if err != nil {
		t.Fatal(err)
	}
	if err := p1.peer.AddTrack(camera); err != nil {
		t.Fatal(err)
	}
	camCtx, stopCamera := context.WithCancel(ctx)
	cameraDone := make(chan error, 1)
	go func() { cameraDone <- c.play(camCtx, camera, nil) }()
	p1.waitVideo(t, echoStreamID)
	out.waitFor(t, `page 1: camera arrived \(video/VP8\), echoing it back`)
	stopCamera()
	if err := <-cameraDone; err != nil {
		t.Errorf("camera: %v", err)
	}

	// Page 1's WebSocket closes: its session closes the server's peer,
	// which closes the page's.
	_ = p1.ws.Close(websocket.StatusNormalClosure, "")
	out.waitFor(t, `page 1: closed$`)
	p1.waitClosed(t)
	p1.leave()

	// Page 2 is open at shutdown.
	p2 := openPage(t, addr)
	p2.waitConnected(t)
	cancel()
	select {
	case err := <-ran:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("run did not return within %v of shutdown", waitTimeout)
	}
	out.waitFor(t, `closed 1 page\(s\); bye$`)
	p2.waitClosed(t)
	p2.leave()

	if strings.Contains(out.String(), "error") {
		t.Errorf("errors in the output:\n%s", out)
	}
}

// TestForeignOrigin: a page from another site gets no WebSocket, and so no
// peer.
func TestForeignOrigin(t *testing.T) {
	c, err := loadClip("")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := newOutput()
	ran := make(chan error, 1)
	go func() { ran <- run(ctx, "127.0.0.1:0", c, out) }()
	defer func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	addr := out.waitFor(t, `listening on http://(\S+)/`)[1]
	ws, resp, err := dialPage(addr, "http://evil.example")
	if err == nil {
		_ = ws.CloseNow()
		t.Fatal("a WebSocket from another origin was accepted")
	}
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("a WebSocket from another origin: %v, want 403 Forbidden", err)
	}
	out.waitFor(t, `websocket from \S+ refused: .*evil\.example`)
}

// page is a Go peer doing what app.js does: a non-initiator that signals
// over the WebSocket.
type page struct {
	ws   *websocket.Conn
	peer *simplepeer.Peer

	connected chan struct{}
	closed    chan struct{}
	chat      chan string
	readDone  chan struct{} // the signal reader ended

	mu      sync.Mutex
	packets map[string]int           // RTP packets per remote stream
	reached map[string]chan struct{} // closed at wantPackets
	tracks  sync.WaitGroup           // RTP readers
}

// dialPage opens the signalling WebSocket as a page from origin would.
func dialPage(addr, origin string) (*websocket.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, "ws://"+addr+"/ws", &websocket.DialOptions{
		HTTPHeader: http.Header{"Origin": {origin}},
	})
	if err != nil {
		return nil, resp, err
	}
	ws.SetReadLimit(maxSignalSize)
	return ws, resp, nil
}

func openPage(t *testing.T, addr string) *page {
	t.Helper()
	ws, _, err := dialPage(addr, "http://"+addr)
	if err != nil {
		t.Fatal(err)
	}
	peer, err := simplepeer.New(&simplepeer.Options{Config: &webrtc.Configuration{}, SettingEngine: settingEngine()})
	if err != nil {
		t.Fatal(err)
	}
	p := &page{
		ws: ws, peer: peer,
		connected: make(chan struct{}), closed: make(chan struct{}), chat: make(chan string, 16), readDone: make(chan struct{}),
		packets: map[string]int{},
		reached: map[string]chan struct{}{clipStreamID: make(chan struct{}), echoStreamID: make(chan struct{})},
	}
	peer.OnSignal(func(s simplepeer.Signal) {
		b, _ := json.Marshal(s)
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		_ = ws.Write(ctx, websocket.MessageText, b) // fails only once the server is gone
	})
	peer.OnConnect(func() { close(p.connected) })
	peer.OnClose(func() { close(p.closed) })
	peer.OnData(func(b []byte) { p.chat <- string(b) })
	peer.OnError(func(err error) { t.Errorf("page peer: %v", err) })
	peer.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if tr.Codec().MimeType != webrtc.MimeTypeVP8 {
			t.Errorf("stream %s: codec %s, want VP8", tr.StreamID(), tr.Codec().MimeType)
		}
		p.tracks.Add(1)
		go p.count(tr)
	})
	go func() {
		defer close(p.readDone)
		for {
			_, msg, err := ws.Read(context.Background())
			if err != nil {
				return
			}
			s, err := simplepeer.ParseSignal(msg)
			if err != nil {
				t.Errorf("signal from the server: %v", err)
				continue
			}
			_ = peer.Signal(s) // errors are reported by OnError
		}
	}()
	t.Cleanup(p.leave)
	return p
}

// count reads a remote track's RTP until the peer closes.
func (p *page) count(tr *webrtc.TrackRemote) {
	defer p.tracks.Done()
	for {
		if _, _, err := tr.ReadRTP(); err != nil {
			return
		}
		p.mu.Lock()
		p.packets[tr.StreamID()]++
		if ch := p.reached[tr.StreamID()]; ch != nil && p.packets[tr.StreamID()] == wantPackets {
			close(ch)
		}
		p.mu.Unlock()
	}
}

func (p *page) waitConnected(t *testing.T) {
	t.Helper()
	wait(t, p.connected, "connect")
}

func (p *page) waitClosed(t *testing.T) {
	t.Helper()
	wait(t, p.closed, "the page's peer to close")
}

func (p *page) waitVideo(t *testing.T, streamID string) {
	t.Helper()
	wait(t, p.reached[streamID], fmt.Sprintf("%d RTP packets of stream %q", wantPackets, streamID))
}

func (p *page) nextChat(t *testing.T) string {
	t.Helper()
	select {
	case s := <-p.chat:
		return s
	case <-time.After(waitTimeout):
		t.Fatalf("no chat message within %v", waitTimeout)
		return ""
	}
}

// leave closes the WebSocket and the peer, as a closing tab does, and waits
// for the page's goroutines. Safe to repeat.
func (p *page) leave() {
	_ = p.ws.Close(websocket.StatusNormalClosure, "")
	_ = p.peer.Close()
	<-p.readDone
	p.tracks.Wait()
}

func wait(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitTimeout):
		t.Fatalf("no %s within %v", what, waitTimeout)
	}
}

// output is run's output, safe for concurrent use, with a wait for a line.
type output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced at every write
}

func newOutput() *output { return &output{changed: make(chan struct{})} }

func (o *output) Write(b []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	close(o.changed)
	o.changed = make(chan struct{})
	return o.buf.Write(b)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor returns the submatches of the first line matching pattern,
// waiting at most waitTimeout for it.
func (o *output) waitFor(t *testing.T, pattern string) []string {
	t.Helper()
	re := regexp.MustCompile("(?m)" + pattern)
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	for {
		o.mu.Lock()
		m := re.FindStringSubmatch(o.buf.String())
		ch := o.changed
		o.mu.Unlock()
		if m != nil {
			return m
		}
		select {
		case <-ch:
		case <-timer.C:
			t.Fatalf("no line matching %q within %v; output:\n%s", pattern, waitTimeout, o)
			return nil
		}
	}
}
