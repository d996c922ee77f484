package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Bounds for TestBrowserExample.
const (
	exampleBuildTimeout = 5 * time.Minute // a cold build compiles Pion
	exampleStartTimeout = 30 * time.Second
	pageConnectTimeout  = 20 * time.Second
	chatTimeout         = 10 * time.Second
	videoTimeout        = 30 * time.Second
	pageCloseTimeout    = 15 * time.Second // the peer's Close may wait 5 s for a gone page
	exampleExitTimeout  = 20 * time.Second
	browserTestTimeout  = exampleBuildTimeout + 3*time.Minute
)

// videoFrames is how many frames each <video> must show: 1 s of the clip.
const videoFrames = 30

// screenshotPath is where TestBrowserExample saves what the page looked like
// with both videos playing (git-ignored, as everything in out/).
var screenshotPath = filepath.Join(outDir, "browser.png")

// TestBrowserExample runs examples/browser and uses its page in headless
// Chromium as a person would: it waits for the page to connect, clicks the
// chat box, types a message, clicks Send and waits for the Go peer's answer
// in the chat log; it checks that both videos play (the clip from Go, and
// Chromium's fake camera echoed back by Go) with the <video> elements and
// with getStats, and saves a screenshot. Then it checks the server's
// cleanup: closing the tab closes that page's peer, and SIGINT (Ctrl-C)
// with a second page still open closes it and exits 0.
//
// Chromium is driven over the DevTools protocol with chromedp (cdp_test.go),
// with the same flags as the rest of the suite, on a server of its own: the
// example serves its own page.
func TestBrowserExample(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s is missing: run interop/run.sh (apt-get install chromium): %v", chromiumPath, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), browserTestTimeout)
	defer cancel()

	ex := startBrowserExample(ctx, t)
	br := startDevToolsChromium(t)
	url := "http://" + ex.addr + "/"
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server output:\n%s", strings.Join(ex.out.all(), "\n"))
		}
		if c := br.console(); len(c) > 0 {
			t.Logf("page console:\n%s", strings.Join(c, "\n"))
		}
	})

	page, err := br.newPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := page.navigate(ctx, url); err != nil {
		t.Fatal(err)
	}
	waitConnected(ctx, t, page, "page 1")

	// Chat: click the box, type, click Send.
	msg := "hello from headless Chromium ✓"
	if err := page.click(ctx, "text"); err != nil {
		t.Fatal(err)
	}
	if err := page.typeText(ctx, msg); err != nil {
		t.Fatal(err)
	}
	if err := page.click(ctx, "send"); err != nil {
		t.Fatal(err)
	}
	reply := "go: go peer got: " + msg
	cond := fmt.Sprintf(`[...document.querySelectorAll('#log div')].some(d => d.textContent === %s)`, jsString(reply))
	if err := page.waitFor(ctx, cond, chatTimeout, nil); err != nil {
		t.Fatalf("chat reply: %v (log: %q)", err, pageLog(ctx, page))
	}
	t.Logf("chat: sent %q, the log shows %q", msg, reply)
	if _, ok := ex.out.waitFor(regexp.MustCompile(regexp.QuoteMeta(fmt.Sprintf("page 1: chat: %q", msg))), chatTimeout); !ok {
		t.Errorf("the server did not log the chat message")
	}

	// Both videos play: enough frames shown, then more frames and a later
	// currentTime a moment after.
	first := waitVideos(ctx, t, page, nil)
	last := waitVideos(ctx, t, page, first)
	for _, id := range []string{"clip", "echo"} {
		a, b := first[id], last[id]
		t.Logf("<video id=%s>: %dx%d, %d frames at %.2f s, then %d frames at %.2f s", id, b.Width, b.Height, a.Frames, a.Time, b.Frames, b.Time)
	}
	if c := last["clip"]; c.Width != 320 || c.Height != 240 {
		t.Errorf("the clip plays at %dx%d, want the file's 320x240", c.Width, c.Height)
	}
	checkPageStats(ctx, t, page)
	// The echo starts on whatever camera packet comes first, so the page
	// asks for a keyframe to decode it; the server answers each request
	// (for the echo, by asking the camera) instead of on a timer.
	if lines, ok := ex.out.waitFor(regexp.MustCompile(`page 1: page asked for a keyframe \(\d+ so far\), echo: asked the camera`), 0); !ok {
		t.Errorf("the server answered no keyframe request for the echo")
	} else {
		t.Logf("keyframe requests: %s", lines[len(lines)-1])
	}

	png, err := page.screenshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(screenshotPath, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", screenshotPath, len(png))

	// A second page, left open for the shutdown below.
	page2, err := br.newPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := page2.navigate(ctx, url); err != nil {
		t.Fatal(err)
	}
	waitConnected(ctx, t, page2, "page 2")

	// Closing the tab closes the WebSocket, and with it the page's peer.
	if err := page.close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := ex.out.waitFor(regexp.MustCompile(`page 1: closed$`), pageCloseTimeout); !ok {
		t.Fatalf("page 1's session did not close within %v of closing the tab", pageCloseTimeout)
	}

	// Ctrl-C: the server closes the open page and exits 0.
	if err := ex.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ex.exited:
	case <-time.After(exampleExitTimeout):
		t.Fatalf("the server did not exit within %v of SIGINT", exampleExitTimeout)
	}
	if ex.exitErr != nil {
		t.Errorf("the server exited with %v", ex.exitErr)
	}
	if _, ok := ex.out.waitFor(regexp.MustCompile(`closed 1 page\(s\); bye$`), 0); !ok {
		t.Errorf("the server did not report closing the one open page")
	}
	if err := page2.waitFor(ctx, `document.getElementById('status').dataset.state === 'closed'`, pageConnectTimeout, nil); err != nil {
		t.Errorf("page 2 after shutdown: %v", err)
	}

	for _, l := range ex.out.all() {
		if strings.Contains(l, "error") || strings.Contains(l, "ignoring signal") {
			t.Errorf("server: %s", l)
		}
	}
	for _, e := range br.exceptions() {
		t.Errorf("page exception: %s", e)
	}
}

// waitConnected waits until the page's data channel to the Go peer is open.
func waitConnected(ctx context.Context, t *testing.T, p *cdpPage, name string) {
	t.Helper()
	var status string
	cond := `document.getElementById('status').dataset.state === 'connected' && document.getElementById('status').textContent`
	if err := p.waitFor(ctx, cond, pageConnectTimeout, &status); err != nil {
		var ice json.RawMessage
		_ = p.eval(ctx, `({ ice: pc.iceConnectionState, gathering: pc.iceGatheringState,
  local: (pc.localDescription && pc.localDescription.sdp.match(/a=candidate.*/g)) || [],
  remote: (pc.remoteDescription && pc.remoteDescription.sdp.match(/a=candidate.*/g)) || [] })`, &ice)
		t.Fatalf("%s: %v (log: %q; ICE: %s)", name, err, pageLog(ctx, p), ice)
	}
	t.Logf("%s: %s", name, status)
}

// pageLog returns the lines of the page's chat log, for error messages.
func pageLog(ctx context.Context, p *cdpPage) []string {
	var lines []string
	_ = p.eval(ctx, `[...document.querySelectorAll('#log div')].map(d => d.textContent)`, &lines)
	return lines
}

// videoState is what a <video> element says about its playback.
type videoState struct {
	Width  int     `json:"width"`
	Height int     `json:"height"`
	Frames int     `json:"frames"` // getVideoPlaybackQuality().totalVideoFrames
	Time   float64 `json:"time"`   // currentTime
}

const videoStatesJS = `(() => {
  const s = {}
  for (const id of ['clip', 'echo']) {
    const v = document.getElementById(id)
    s[id] = { width: v.videoWidth, height: v.videoHeight, frames: v.getVideoPlaybackQuality().totalVideoFrames, time: v.currentTime }
  }
  return s
})()`

// waitVideos waits until both videos have a picture and have shown
// videoFrames frames; given an earlier state, until both have shown 15
// more frames and their clocks have moved on.
func waitVideos(ctx context.Context, t *testing.T, p *cdpPage, since map[string]videoState) map[string]videoState {
	t.Helper()
	var cond string
	if since == nil {
		cond = fmt.Sprintf(`(s => ['clip', 'echo'].every(id => s[id].width > 0 && s[id].frames >= %d) && s)(%s)`, videoFrames, videoStatesJS)
	} else {
		b, _ := json.Marshal(since)
		cond = fmt.Sprintf(`((s, was) => ['clip', 'echo'].every(id => s[id].frames >= was[id].frames + 15 && s[id].time > was[id].time) && s)(%s, %s)`, videoStatesJS, b)
	}
	var s map[string]videoState
	if err := p.waitFor(ctx, cond, videoTimeout, &s); err != nil {
		t.Fatalf("videos: %v (log: %q)", err, pageLog(ctx, p))
	}
	return s
}

// checkPageStats checks with the page's own RTCPeerConnection (app.js's
// global pc) that it decodes two VP8 streams from Go and encodes one, the
// camera.
func checkPageStats(ctx context.Context, t *testing.T, p *cdpPage) {
	t.Helper()
	var s struct {
		In  []rtpStats `json:"in"`
		Out []rtpStats `json:"out"`
	}
	err := p.eval(ctx, `pc.getStats().then(r => {
  const codecs = {}
  r.forEach(s => { if (s.type === 'codec') codecs[s.id] = s.mimeType })
  const out = { in: [], out: [] }
  r.forEach(s => {
    if (s.kind !== 'video') return
    const row = { mid: s.mid, codec: codecs[s.codecId] || '', packets: s.packetsReceived || s.packetsSent || 0,
      framesDecoded: s.framesDecoded || 0, framesEncoded: s.framesEncoded || 0, width: s.frameWidth || 0, height: s.frameHeight || 0 }
    if (s.type === 'inbound-rtp') out.in.push(row)
    if (s.type === 'outbound-rtp') out.out.push(row)
  })
  return out
})`, &s)
	if err != nil {
		t.Fatalf("getStats: %v", err)
	}
	decoding := 0
	for _, in := range s.In {
		t.Logf("page receives mid %s: %s, %d frames decoded, %dx%d, %d RTP packets", in.Mid, in.Codec, in.FramesDecoded, in.Width, in.Height, in.Packets)
		if in.FramesDecoded > 0 && strings.EqualFold(in.Codec, "video/VP8") {
			decoding++
		}
	}
	if decoding != 2 {
		t.Errorf("the page decodes %d VP8 streams, want 2 (the clip and the echo)", decoding)
	}
	for _, out := range s.Out {
		t.Logf("page sends mid %s: %s, %d frames encoded, %d RTP packets", out.Mid, out.Codec, out.FramesEncoded, out.Packets)
	}
	if len(s.Out) != 1 || s.Out[0].FramesEncoded == 0 {
		t.Errorf("the page should send one video stream, its camera: %+v", s.Out)
	}
}

// exampleServer is examples/browser, built and running.
type exampleServer struct {
	addr    string
	cmd     *exec.Cmd
	out     *lineLog
	exited  chan struct{} // closed when it has exited; exitErr is set then
	exitErr error
}

// startBrowserExample builds examples/browser into a temporary directory,
// runs it on a free port and returns once it prints its address. Its output
// goes to out/browser-server.log.
func startBrowserExample(ctx context.Context, t *testing.T) *exampleServer {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "browser")
	bctx, cancel := context.WithTimeout(ctx, exampleBuildTimeout)
	defer cancel()
	build := exec.CommandContext(bctx, "go", "build", "-o", bin, "./examples/browser")
	build.Dir = ".." // the library's module
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/browser: %v\n%s", err, out)
	}

	logf, err := os.Create(filepath.Join(outDir, "browser-server.log"))
	if err != nil {
		t.Fatal(err)
	}
	ex := &exampleServer{out: newLineLog(logf), exited: make(chan struct{})}
	ex.cmd = exec.Command(bin, "-addr", "127.0.0.1:0")
	ex.cmd.Stdout = ex.out
	ex.cmd.Stderr = ex.out
	if err := ex.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		ex.exitErr = ex.cmd.Wait()
		close(ex.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-ex.exited:
		default:
			_ = ex.cmd.Process.Kill()
			<-ex.exited
		}
		_ = logf.Close()
	})
	m, ok := ex.out.waitFor(regexp.MustCompile(`listening on http://(\S+)/`), exampleStartTimeout)
	if !ok {
		t.Fatalf("examples/browser printed no address within %v:\n%s", exampleStartTimeout, strings.Join(ex.out.all(), "\n"))
	}
	ex.addr = m[1]
	return ex
}
