package interop

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A jsHost is one JavaScript runtime (the Node process or the Chromium page)
// running any number of simple-peer instances for the test. Commands go out
// as JSON objects ({op, id, req, ...}); events come back ({ev, id, ...}), see
// js/driver.js. The transport is the host's: write sends one message, and
// the host's reader calls dispatch for each message it receives.
type jsHost struct {
	name  string
	write func([]byte) error

	wmu sync.Mutex // serializes write

	mu      sync.Mutex
	peers   map[string]*jsPeer
	replies map[int64]chan jsReply
	faults  []string
	nextReq atomic.Int64
	nextID  atomic.Int64
	ready   chan jsEvent // the host's first message
	gone    chan struct{}
	goneErr error
}

// jsEvent is every field any event may carry.
type jsEvent struct {
	Ev          string          `json:"ev"`
	ID          string          `json:"id"`
	Req         int64           `json:"req"`
	Data        json.RawMessage `json:"data"`
	Type        string          `json:"type"`
	Ctor        string          `json:"ctor"`
	Len         int             `json:"len"`
	Hash        uint32          `json:"hash"`
	Code        string          `json:"code"`
	Message     string          `json:"message"`
	Ms          float64         `json:"ms"`
	ChannelName string          `json:"channelName"`
	Kind        string          `json:"kind"`
	StreamID    string          `json:"streamId"`
	Tracks      int             `json:"tracks"`
	Result      json.RawMessage `json:"result"`
	Error       *jsError        `json:"error"`
	Versions    json.RawMessage `json:"versions"`
	Op          string          `json:"op"`
	ICE         string          `json:"ice"`
	Gathering   string          `json:"gathering"`

	at time.Time // when the Go side received it
}

type jsError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *jsError) Error() string { return e.Code + ": " + e.Message }

type jsReply struct {
	result json.RawMessage
	err    error
}

func newJSHost(name string, write func([]byte) error) *jsHost {
	return &jsHost{
		name:    name,
		write:   write,
		peers:   map[string]*jsPeer{},
		replies: map[int64]chan jsReply{},
		ready:   make(chan jsEvent, 1),
		gone:    make(chan struct{}),
	}
}

// dispatch routes one message from the host. Called by the host's single
// reader goroutine, so events of one peer stay in order.
func (h *jsHost) dispatch(raw []byte) {
	var ev jsEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		h.fault(fmt.Sprintf("undecodable message %q: %v", truncate(string(raw), 200), err))
		return
	}
	ev.at = time.Now()
	switch ev.Ev {
	case "ready":
		select {
		case h.ready <- ev:
		default:
		}
		return
	case "reply":
		h.mu.Lock()
		ch := h.replies[ev.Req]
		delete(h.replies, ev.Req)
		h.mu.Unlock()
		if ch == nil {
			h.fault(fmt.Sprintf("reply to unknown request %d", ev.Req))
			return
		}
		r := jsReply{result: ev.Result}
		if ev.Error != nil {
			r.err = ev.Error
		}
		ch <- r
		return
	case "fault":
		h.fault(fmt.Sprintf("peer %s op %s: %v", ev.ID, ev.Op, ev.Error))
		return
	}
	h.mu.Lock()
	p := h.peers[ev.ID]
	h.mu.Unlock()
	if p == nil {
		// Events of a peer whose test has finished (a late stats reply,
		// say) have nobody to go to.
		return
	}
	if ev.Ev != "signal" && ev.Ev != "data" && p.trace != nil {
		p.trace("js %s %s%s%s", ev.Ev, ev.Kind, ev.Message, ev.ICE)
	}
	p.handle(ev)
}

func (h *jsHost) fault(msg string) {
	h.mu.Lock()
	h.faults = append(h.faults, msg)
	h.mu.Unlock()
}

// takeFaults returns and clears the faults reported so far: JS exceptions
// and protocol errors that belong to no request.
func (h *jsHost) takeFaults() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.faults
	h.faults = nil
	return f
}

// hostGone marks the transport closed and fails every pending request.
func (h *jsHost) hostGone(err error) {
	h.mu.Lock()
	if h.goneErr != nil {
		h.mu.Unlock()
		return
	}
	if err == nil {
		err = errors.New("connection closed")
	}
	h.goneErr = fmt.Errorf("%s is gone: %w", h.name, err)
	replies := h.replies
	h.replies = map[int64]chan jsReply{}
	h.mu.Unlock()
	close(h.gone)
	for _, ch := range replies {
		ch <- jsReply{err: h.goneErr}
	}
}

func (h *jsHost) send(msg map[string]any) error {
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	h.wmu.Lock()
	defer h.wmu.Unlock()
	return h.write(b)
}

// call runs one command and waits, at most timeout, for its reply.
func (h *jsHost) call(timeout time.Duration, msg map[string]any) (json.RawMessage, error) {
	req := h.nextReq.Add(1)
	ch := make(chan jsReply, 1)
	h.mu.Lock()
	if h.goneErr != nil {
		h.mu.Unlock()
		return nil, h.goneErr
	}
	h.replies[req] = ch
	h.mu.Unlock()
	msg["req"] = req
	if err := h.send(msg); err != nil {
		return nil, fmt.Errorf("%s: send %v: %w", h.name, msg["op"], err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r := <-ch:
		return r.result, r.err
	case <-timer.C:
		return nil, fmt.Errorf("%s: no reply to %v within %v", h.name, msg["op"], timeout)
	}
}

// post sends a command without waiting; a failure comes back as a reply
// nobody waits for, so it is recorded as a fault.
func (h *jsHost) post(msg map[string]any) {
	req := h.nextReq.Add(1)
	ch := make(chan jsReply, 1)
	h.mu.Lock()
	if h.goneErr != nil {
		h.mu.Unlock()
		return
	}
	h.replies[req] = ch
	h.mu.Unlock()
	msg["req"] = req
	if err := h.send(msg); err != nil {
		h.fault(fmt.Sprintf("send %v: %v", msg["op"], err))
		return
	}
	go func() {
		select {
		case r := <-ch:
			if r.err != nil {
				h.fault(fmt.Sprintf("op %v on peer %v: %v", msg["op"], msg["id"], r.err))
			}
		case <-h.gone:
		}
	}()
}

// jsPeer is the Go test's view of one simple-peer instance in a host.
type jsPeer struct {
	host *jsHost
	id   string

	onSignal func(json.RawMessage) // set before the peer is created
	trace    func(string, ...any)  // set before the peer is created

	connected  chan struct{}
	connectEv  jsEvent
	closed     chan struct{}
	closedAt   time.Time
	data       chan jsEvent
	tracks     chan jsEvent
	streams    chan jsEvent
	negotiated counter
	ice        timeline[string] // simple-peer's iceStateChange: "connection/gathering" state

	mu     sync.Mutex
	errors []string
}

func (h *jsHost) newPeer(onSignal func(json.RawMessage)) *jsPeer {
	p := &jsPeer{
		host:      h,
		id:        h.name + "-" + strconv.FormatInt(h.nextID.Add(1), 10),
		onSignal:  onSignal,
		connected: make(chan struct{}),
		closed:    make(chan struct{}),
		data:      make(chan jsEvent, 256),
		tracks:    make(chan jsEvent, 16),
		streams:   make(chan jsEvent, 16),
	}
	p.negotiated.init()
	h.mu.Lock()
	h.peers[p.id] = p
	h.mu.Unlock()
	return p
}

func (p *jsPeer) handle(ev jsEvent) {
	switch ev.Ev {
	case "signal":
		p.onSignal(ev.Data)
	case "connect":
		p.connectEv = ev
		close(p.connected)
	case "data":
		select {
		case p.data <- ev:
		default:
			p.addError("data event dropped: test queue full")
		}
	case "negotiated":
		p.negotiated.inc()
	case "iceStateChange":
		p.ice.add(ev.ICE + "/" + ev.Gathering)
	case "track":
		p.tracks <- ev
	case "stream":
		p.streams <- ev
	case "error":
		p.addError(ev.Code + ": " + ev.Message)
	case "close":
		p.closedAt = ev.at
		close(p.closed)
		p.host.mu.Lock()
		delete(p.host.peers, p.id)
		p.host.mu.Unlock()
	default:
		p.addError("unexpected event " + ev.Ev)
	}
}

func (p *jsPeer) addError(s string) {
	p.mu.Lock()
	p.errors = append(p.errors, s)
	p.mu.Unlock()
}

// takeError removes the errors equal to s and reports whether there was
// one, for a known issue that shows as exactly that error.
func (p *jsPeer) takeError(s string) bool {
	return p.takeErrors(func(e string) bool { return e == s })
}

// takeCode removes the errors with code (simple-peer's "CODE: message")
// and reports whether there was one.
func (p *jsPeer) takeCode(code string) bool {
	return p.takeErrors(func(e string) bool { return strings.HasPrefix(e, code+": ") })
}

func (p *jsPeer) takeErrors(match func(string) bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	kept, found := p.errors[:0], false
	for _, e := range p.errors {
		if match(e) {
			found = true
			continue
		}
		kept = append(kept, e)
	}
	p.errors = kept
	return found
}

func (p *jsPeer) errs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errors...)
}

// cmd sends a command for this peer and waits for its reply.
func (p *jsPeer) cmd(op string, fields map[string]any) (json.RawMessage, error) {
	msg := map[string]any{"op": op, "id": p.id}
	for k, v := range fields {
		msg[k] = v
	}
	return p.host.call(10*time.Second, msg)
}

// counter counts events and lets a test wait for a count.
type counter struct {
	mu sync.Mutex
	n  int
	ch chan struct{} // closed and replaced at every increment
}

func (c *counter) init() { c.ch = make(chan struct{}) }

func (c *counter) inc() {
	c.mu.Lock()
	c.n++
	close(c.ch)
	c.ch = make(chan struct{})
	c.mu.Unlock()
}

func (c *counter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// waitFor waits until the count reaches n, at most until deadline.
func (c *counter) waitFor(n int, deadline <-chan time.Time) bool {
	for {
		c.mu.Lock()
		cur, ch := c.n, c.ch
		c.mu.Unlock()
		if cur >= n {
			return true
		}
		select {
		case <-ch:
		case <-deadline:
			return false
		}
	}
}

// timeline records values with the time each arrived, and lets a test wait
// for a pattern in them. The zero timeline is ready to use.
type timeline[T any] struct {
	mu    sync.Mutex
	items []stamped[T]
	ch    chan struct{} // closed and replaced at every add
}

type stamped[T any] struct {
	v  T
	at time.Time
}

func (l *timeline[T]) add(v T) {
	l.mu.Lock()
	l.items = append(l.items, stamped[T]{v, time.Now()})
	if l.ch != nil {
		close(l.ch)
		l.ch = nil
	}
	l.mu.Unlock()
}

func (l *timeline[T]) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.items)
}

// since returns a copy of the items from index i on.
func (l *timeline[T]) since(i int) []stamped[T] {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i > len(l.items) {
		i = len(l.items)
	}
	return append([]stamped[T](nil), l.items[i:]...)
}

// waitFor waits until match, called with the items from index i on after
// every add, returns true; at most until deadline.
func (l *timeline[T]) waitFor(i int, match func([]stamped[T]) bool, deadline <-chan time.Time) bool {
	for {
		if match(l.since(i)) {
			return true
		}
		l.mu.Lock()
		if l.ch == nil {
			l.ch = make(chan struct{})
		}
		ch := l.ch
		l.mu.Unlock()
		// An add between since and here closed the previous channel and
		// left l.ch nil, so ch is new and the item is not missed: check
		// again first.
		if match(l.since(i)) {
			return true
		}
		select {
		case <-ch:
		case <-deadline:
			return false
		}
	}
}

// waitChan waits for ch to close, at most d.
func waitChan(ch <-chan struct{}, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ch:
		return true
	case <-timer.C:
		return false
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
