package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/remote"
)

// devtoolsBrowser is headless Chromium driven with chromedp over its
// DevTools WebSocket. Each page is a chromedp context of its own: a tab in a
// window of its own, so that every page gets animation frames and plays its
// videos.
type devtoolsBrowser struct {
	ctx     context.Context // the browser's first tab; pages are its children
	readers sync.WaitGroup  // one console reader per page

	mu         sync.Mutex
	pages      []*cdpPage
	consoleLog []string
	thrown     []string
}

// startDevToolsChromium starts headless Chromium with the suite's flags
// (chromiumFlags, runChromium: its own process group, stopped when the test
// ends) and a DevTools WebSocket on a free port, and attaches chromedp to it.
// Its output goes to out/browser-chromium.log.
func startDevToolsChromium(t *testing.T) *devtoolsBrowser {
	t.Helper()
	profile, err := os.MkdirTemp(outDir, "chromium-profile-")
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(outDir, "browser-chromium.log"))
	if err != nil {
		t.Fatal(err)
	}
	out := newLineLog(logf)
	args := append(chromiumFlags(profile),
		"--remote-debugging-port=0",
		"--window-size=960,720",
		"about:blank",
	)
	t.Cleanup(func() { // runs after Chromium is stopped
		_ = logf.Close()
		_ = os.RemoveAll(profile)
	})
	runChromium(t, args, out)

	m, ok := out.waitFor(regexp.MustCompile(`DevTools listening on (ws://\S+)`), exampleStartTimeout)
	if !ok {
		t.Fatalf("chromium printed no DevTools address within %v (see %s)", exampleStartTimeout, logf.Name())
	}
	// chromedp's WebSocket sends no Origin, which Chromium accepts without
	// --remote-allow-origins.
	allocCtx, cancelAlloc := remote.NewAllocator(context.Background(), m[1], remote.NoModifyURL)
	ctx, cancel := chromedp.NewContext(allocCtx)
	b := &devtoolsBrowser{ctx: ctx}
	t.Cleanup(func() { // runs before Chromium is stopped
		b.mu.Lock()
		pages := b.pages
		b.mu.Unlock()
		for _, p := range pages {
			p.cancel() // closes the tab, if still open, and waits
		}
		cancel() // closes the first tab and the connection
		cancelAlloc()
		b.readers.Wait()
	})
	// The first run on a chromedp context binds the browser connection and
	// the tab to the context it gets: ctx itself, not one with a timeout.
	// The dial has a timeout of its own (10 s).
	if err := chromedp.Do(ctx); err != nil { // connects, attaches the first tab
		t.Fatalf("devtools: %v", err)
	}
	return b
}

func (b *devtoolsBrowser) console() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.consoleLog...)
}

func (b *devtoolsBrowser) exceptions() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.thrown...)
}

// cdpPage is one browser tab.
type cdpPage struct {
	ctx    context.Context // chromedp's, for this tab
	cancel context.CancelFunc
}

// newPage opens a blank tab, and keeps its console output and uncaught
// exceptions until it closes.
func (b *devtoolsBrowser) newPage(ctx context.Context) (*cdpPage, error) {
	p := &cdpPage{}
	p.ctx, p.cancel = chromedp.NewContext(b.ctx) // canceled with b.ctx, or by close
	// Opens the tab, bound to p.ctx (see startDevToolsChromium); closed if
	// ctx ends first.
	stop := context.AfterFunc(ctx, p.cancel)
	err := chromedp.Do(p.ctx)
	stop()
	if err != nil {
		p.cancel()
		return nil, err
	}
	b.mu.Lock()
	b.pages = append(b.pages, p)
	b.mu.Unlock()
	messages := chromedp.Console(p.ctx)
	b.readers.Add(1)
	go func() {
		defer b.readers.Done()
		for m, err := range messages { // until the tab's context ends
			if err != nil {
				return
			}
			b.mu.Lock()
			b.consoleLog = append(b.consoleLog, m.String())
			if m.IsException() {
				b.thrown = append(b.thrown, m.Text)
			}
			b.mu.Unlock()
		}
	}()
	return p, nil
}

// run runs a on the tab, for as long as ctx allows.
func run[T any](ctx context.Context, p *cdpPage, a chromedp.Action[T]) (T, error) {
	rctx, cancel := context.WithCancel(p.ctx)
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()
	return chromedp.Run(rctx, a)
}

// do runs steps on the tab, in order, for as long as ctx allows.
func (p *cdpPage) do(ctx context.Context, steps ...chromedp.Action[chromedp.Void]) error {
	_, err := run(ctx, p, chromedp.Steps(steps...))
	return err
}

// navigate loads url and waits for the page's load event.
func (p *cdpPage) navigate(ctx context.Context, url string) error {
	return p.do(ctx, chromedp.Navigate(url))
}

// close closes the tab, as a user closing it would.
func (p *cdpPage) close(context.Context) error {
	err := chromedp.Cancel(p.ctx) // waits for the tab to close
	p.cancel()
	return err
}

// eval evaluates a JavaScript expression in the page, awaits it if it is a
// promise, and decodes its JSON value into out (when not nil).
func (p *cdpPage) eval(ctx context.Context, expr string, out any) error {
	raw, err := run(ctx, p, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil || out == nil || len(raw) == 0 {
		return err
	}
	return json.Unmarshal(raw, out)
}

// waitFor waits, inside the page, until the JavaScript expression cond is
// truthy, at most timeout, and decodes that value into out (when not nil).
// The page checks the condition every 100 ms (there is no event for "a video
// has shown 30 frames"); a condition that throws counts as false.
func (p *cdpPage) waitFor(ctx context.Context, cond string, timeout time.Duration, out any) error {
	guarded := fmt.Sprintf(`(() => { try { return (%s) } catch (e) { return false } })()`, cond)
	cctx, cancel := context.WithTimeout(ctx, timeout+5*time.Second)
	defer cancel()
	raw, err := run(cctx, p, chromedp.Poll[[]byte](guarded,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	if errors.Is(err, chromedp.ErrPollingTimeout) {
		var last json.RawMessage
		if lerr := p.eval(ctx, cond, &last); lerr != nil {
			return fmt.Errorf("timed out waiting for %s: %v", cond, lerr)
		}
		return fmt.Errorf("timed out waiting for %s; last value: %s", cond, last)
	}
	if err != nil || out == nil || len(raw) == 0 {
		return err
	}
	return json.Unmarshal(raw, out)
}

// click clicks the element with the given id, as a user does: the left
// mouse button, pressed and released in the element's middle.
func (p *cdpPage) click(ctx context.Context, id string) error {
	return p.do(ctx, chromedp.Click(chromedp.ID(id)))
}

// typeText types text into the focused element, a key at a time.
func (p *cdpPage) typeText(ctx context.Context, text string) error {
	return p.do(ctx, chromedp.KeyEvent(text))
}

// screenshot returns a PNG of the visible part of the page.
func (p *cdpPage) screenshot(ctx context.Context) ([]byte, error) {
	return run(ctx, p, chromedp.CaptureScreenshot())
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

// lineLog collects a process's output, copies it to a file, and lets a test
// wait for a line. It is the process's Stdout or Stderr.
type lineLog struct {
	w io.Writer // the copy

	mu      sync.Mutex
	partial []byte
	lines   []string
	changed chan struct{} // closed and replaced when a line arrives
}

func newLineLog(w io.Writer) *lineLog {
	return &lineLog{w: w, changed: make(chan struct{})}
}

func (l *lineLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.w.Write(b)
	l.partial = append(l.partial, b...)
	added := false
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, string(l.partial[:i]))
		l.partial = l.partial[i+1:]
		added = true
	}
	if added {
		close(l.changed)
		l.changed = make(chan struct{})
	}
	return len(b), nil
}

// all returns the lines so far.
func (l *lineLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// waitFor returns the submatches of the first line matching re, waiting at
// most timeout for it.
func (l *lineLog) waitFor(re *regexp.Regexp, timeout time.Duration) ([]string, bool) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		l.mu.Lock()
		for _, line := range l.lines {
			if m := re.FindStringSubmatch(line); m != nil {
				l.mu.Unlock()
				return m, true
			}
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			return nil, false
		}
	}
}
