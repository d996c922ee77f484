package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/websocket"
)

// cdp is a minimal Chrome DevTools Protocol client: one WebSocket to the
// browser (x/net/websocket), commands matched to their replies by id, and
// events handed to a callback. Page commands go to a session attached with
// flatten: true (see newPage), all on the same socket.
type cdp struct {
	ws      *websocket.Conn
	onEvent func(method, session string, params json.RawMessage)
	nextID  atomic.Int64

	mu      sync.Mutex
	pending map[int64]chan cdpMessage
	err     error         // why the reader ended
	done    chan struct{} // closed when the reader ends
}

type cdpMessage struct {
	ID        int64           `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *cdpError       `json:"error,omitempty"`
}

type cdpError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    string `json:"data"`
}

func (e *cdpError) Error() string {
	return fmt.Sprintf("devtools error %d: %s %s", e.Code, e.Message, e.Data)
}

// devtoolsOrigin is the Origin our WebSocket sends; Chromium must be started
// with --remote-allow-origins naming it.
const devtoolsOrigin = "http://127.0.0.1"

// dialCDP connects to the browser's DevTools WebSocket (the URL Chromium
// prints as "DevTools listening on ws://..."). onEvent runs on the reader
// goroutine and must not block; close waits for that goroutine.
func dialCDP(url string, onEvent func(method, session string, params json.RawMessage)) (*cdp, error) {
	ws, err := websocket.Dial(url, "", devtoolsOrigin)
	if err != nil {
		return nil, err
	}
	ws.MaxPayloadBytes = 64 << 20 // screenshots
	c := &cdp{ws: ws, onEvent: onEvent, pending: map[int64]chan cdpMessage{}, done: make(chan struct{})}
	go c.read()
	return c, nil
}

func (c *cdp) read() {
	defer close(c.done)
	for {
		var raw []byte
		if err := websocket.Message.Receive(c.ws, &raw); err != nil {
			c.mu.Lock()
			c.err = fmt.Errorf("devtools connection: %w", err)
			c.mu.Unlock()
			return
		}
		var m cdpMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			continue
		}
		if m.ID == 0 {
			if c.onEvent != nil {
				c.onEvent(m.Method, m.SessionID, m.Params)
			}
			continue
		}
		c.mu.Lock()
		ch := c.pending[m.ID]
		delete(c.pending, m.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	}
}

// call runs one command (in session, or on the browser when session is "")
// and decodes its result into result, when not nil.
func (c *cdp) call(ctx context.Context, session, method string, params, result any) error {
	id := c.nextID.Add(1)
	msg := map[string]any{"id": id, "method": method}
	if session != "" {
		msg["sessionId"] = session
	}
	if params != nil {
		msg["params"] = params
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	ch := make(chan cdpMessage, 1)
	c.mu.Lock()
	c.pending[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}()
	if err := websocket.Message.Send(c.ws, string(b)); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return fmt.Errorf("%s: %w", method, m.Error)
		}
		if result != nil {
			return json.Unmarshal(m.Result, result)
		}
		return nil
	case <-c.done:
		c.mu.Lock()
		defer c.mu.Unlock()
		return fmt.Errorf("%s: %w", method, c.err)
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// close ends the connection and waits for the reader.
func (c *cdp) close() {
	_ = c.ws.Close()
	<-c.done
}

// cdpPage is one browser tab, driven through its own session.
type cdpPage struct {
	c        *cdp
	targetID string
	session  string
}

// newPage opens a blank tab and attaches to it, with the Runtime (console
// messages, exceptions) and Page domains enabled.
func (c *cdp) newPage(ctx context.Context) (*cdpPage, error) {
	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := c.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		return nil, err
	}
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	if err := c.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached); err != nil {
		return nil, err
	}
	p := &cdpPage{c: c, targetID: target.TargetID, session: attached.SessionID}
	for _, m := range []string{"Runtime.enable", "Page.enable"} {
		if err := p.call(ctx, m, nil, nil); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *cdpPage) call(ctx context.Context, method string, params, result any) error {
	return p.c.call(ctx, p.session, method, params, result)
}

// navigate loads url and waits for the navigation to commit.
func (p *cdpPage) navigate(ctx context.Context, url string) error {
	var res struct {
		ErrorText string `json:"errorText"`
	}
	if err := p.call(ctx, "Page.navigate", map[string]any{"url": url}, &res); err != nil {
		return err
	}
	if res.ErrorText != "" {
		return fmt.Errorf("navigate to %s: %s", url, res.ErrorText)
	}
	return nil
}

// close closes the tab, as a user closing it would.
func (p *cdpPage) close(ctx context.Context) error {
	return p.c.call(ctx, "", "Target.closeTarget", map[string]any{"targetId": p.targetID}, nil)
}

// eval evaluates a JavaScript expression in the page, awaits it if it is a
// promise, and decodes its JSON value into out (when not nil).
func (p *cdpPage) eval(ctx context.Context, expr string, out any) error {
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	err := p.call(ctx, "Runtime.evaluate", map[string]any{
		"expression":    expr,
		"awaitPromise":  true,
		"returnByValue": true,
	}, &res)
	if err != nil {
		return err
	}
	if e := res.ExceptionDetails; e != nil {
		msg := e.Exception.Description
		if msg == "" {
			msg = e.Text
		}
		return errors.New(msg)
	}
	if out != nil && len(res.Result.Value) > 0 {
		return json.Unmarshal(res.Result.Value, out)
	}
	return nil
}

// waitFor waits, inside the page, until the JavaScript expression cond is
// truthy, at most timeout, and decodes its last value into out (when not
// nil). The page checks the condition every 100 ms: there is no event for
// "a video has shown 30 frames".
func (p *cdpPage) waitFor(ctx context.Context, cond string, timeout time.Duration, out any) error {
	expr := fmt.Sprintf(`new Promise((resolve, reject) => {
  const deadline = performance.now() + %d
  const check = () => {
    let v, err
    try { v = (%s) } catch (e) { err = e }
    if (v && !err) return resolve(v)
    if (performance.now() > deadline) return reject(new Error('timed out waiting for ' + %s + (err ? ': ' + err : '; last value: ' + JSON.stringify(v))))
    setTimeout(check, 100)
  }
  check()
})`, timeout.Milliseconds(), cond, jsString(cond))
	cctx, cancel := context.WithTimeout(ctx, timeout+5*time.Second)
	defer cancel()
	return p.eval(cctx, expr, out)
}

// elementCenter returns the viewport coordinates of the middle of the
// element with the given id.
func (p *cdpPage) elementCenter(ctx context.Context, id string) (x, y float64, err error) {
	var pt struct{ X, Y float64 }
	expr := fmt.Sprintf(`(() => { const r = document.getElementById(%s).getBoundingClientRect(); return { x: r.x + r.width / 2, y: r.y + r.height / 2 } })()`, jsString(id))
	if err := p.eval(ctx, expr, &pt); err != nil {
		return 0, 0, err
	}
	return pt.X, pt.Y, nil
}

// click presses and releases the left mouse button on the element with the
// given id, as a user does.
func (p *cdpPage) click(ctx context.Context, id string) error {
	x, y, err := p.elementCenter(ctx, id)
	if err != nil {
		return err
	}
	for _, typ := range []string{"mousePressed", "mouseReleased"} {
		err := p.call(ctx, "Input.dispatchMouseEvent", map[string]any{
			"type": typ, "x": x, "y": y, "button": "left", "clickCount": 1,
		}, nil)
		if err != nil {
			return err
		}
	}
	return nil
}

// typeText types text into the focused element.
func (p *cdpPage) typeText(ctx context.Context, text string) error {
	return p.call(ctx, "Input.insertText", map[string]any{"text": text}, nil)
}

// screenshot returns a PNG of the visible part of the page.
func (p *cdpPage) screenshot(ctx context.Context) ([]byte, error) {
	var res struct {
		Data []byte `json:"data"` // base64 in JSON: decoded by encoding/json
	}
	if err := p.call(ctx, "Page.captureScreenshot", map[string]any{"format": "png"}, &res); err != nil {
		return nil, err
	}
	return res.Data, nil
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
