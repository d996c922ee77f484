package signalserver

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

var pongFrame = []byte(`{"type":"pong"}`)

// closeRequest asks a client's writer to end the connection.
type closeRequest struct {
	code   websocket.StatusCode
	reason string
	abort  bool // close the TCP connection at once: the client is stuck
}

// client is one WebSocket connection. Its reader runs in ServeHTTP's
// goroutine; run starts a writer (the only goroutine that writes data
// frames) and a pinger, and waits for both.
type client struct {
	s    *Server
	conn *websocket.Conn

	ctx    context.Context // cancelled when the client is done or aborted
	cancel context.CancelFunc

	queue     chan []byte       // frames for the writer; bounded by SendQueue
	closeReq  chan closeRequest // capacity 1, sent to once
	closeOnce sync.Once
	closing   atomic.Bool

	topics map[string]struct{} // guarded by s.mu

	// token bucket, used by the reader only
	tokens float64
	last   time.Time
}

func newClient(s *Server, conn *websocket.Conn) *client {
	ctx, cancel := context.WithCancel(s.ctx)
	return &client{
		s:        s,
		conn:     conn,
		ctx:      ctx,
		cancel:   cancel,
		queue:    make(chan []byte, s.opts.SendQueue),
		closeReq: make(chan closeRequest, 1),
		topics:   map[string]struct{}{},
		tokens:   float64(s.opts.Burst),
		last:     time.Now(),
	}
}

// run serves the client until its connection ends.
func (c *client) run() {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.writeLoop()
	}()
	if c.s.opts.IdleTimeout > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.pingLoop()
		}()
	}
	c.readLoop()
	c.cancel()
	wg.Wait()
	_ = c.conn.CloseNow()
}

// close ends the client once: with a close frame carrying code, or, when
// abort, by dropping the connection. A non-empty drop counts the client
// as dropped for that reason. Safe from any goroutine; never blocks.
func (c *client) close(code websocket.StatusCode, reason, drop string, abort bool) {
	c.closeOnce.Do(func() {
		c.closing.Store(true)
		if drop != "" {
			c.s.dropped(drop)
		}
		c.closeReq <- closeRequest{code: code, reason: reason, abort: abort}
		if abort {
			c.cancel()
		}
	})
}

// enqueue queues frame for the writer without blocking; a client whose
// queue is full is dropped. It reports whether frame was queued.
func (c *client) enqueue(frame []byte) bool {
	if c.closing.Load() {
		return false
	}
	select {
	case c.queue <- frame:
		return true
	default:
		c.close(websocket.StatusPolicyViolation, "send queue full", reasonSendQueueFull, true)
		return false
	}
}

func (c *client) readLoop() {
	for {
		_, data, err := c.conn.Read(c.ctx)
		if err != nil {
			if errors.Is(err, websocket.ErrMessageTooBig) {
				c.closing.Store(true)
				c.s.dropped(reasonMessageTooBig)
			}
			c.s.log.Debugf("client gone: %v", err)
			return
		}
		if c.closing.Load() {
			continue // data received during the close handshake
		}
		c.s.m.received.Inc()
		if !c.allow() {
			c.close(websocket.StatusPolicyViolation, "rate limit exceeded", reasonRateLimit, false)
			continue
		}
		c.handle(data)
	}
}

// allow takes a token from the client's bucket.
func (c *client) allow() bool {
	rate := c.s.opts.MessagesPerSecond
	if rate < 0 {
		return true
	}
	now := time.Now()
	c.tokens += now.Sub(c.last).Seconds() * rate
	c.last = now
	if burst := float64(c.s.opts.Burst); c.tokens > burst {
		c.tokens = burst
	}
	if c.tokens < 1 {
		return false
	}
	c.tokens--
	return true
}

// handle acts on one frame, as y-webrtc's server.js does.
func (c *client) handle(data []byte) {
	var msg map[string]json.RawMessage
	if json.Unmarshal(data, &msg) != nil {
		return
	}
	var typ string
	if json.Unmarshal(msg["type"], &typ) != nil {
		return
	}
	switch typ {
	case "subscribe":
		topics := topicList(msg["topics"])
		c.s.subscribe(c, topics)
		if c.s.bus != nil {
			c.s.bus.await(c.ctx, topics)
		}
	case "unsubscribe":
		c.s.unsubscribe(c, topicList(msg["topics"]))
	case "publish":
		var topic string
		if json.Unmarshal(msg["topic"], &topic) != nil || topic == "" {
			return // server.js skips a falsy topic too
		}
		c.s.publish(topic, data, msg)
	case "ping":
		c.enqueue(pongFrame)
	}
}

// topicList returns the strings of a JSON array, skipping other values.
func topicList(raw json.RawMessage) []string {
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil
	}
	topics := make([]string, 0, len(items))
	for _, it := range items {
		var t string
		if json.Unmarshal(it, &t) == nil {
			topics = append(topics, t)
		}
	}
	return topics
}

func (c *client) writeLoop() {
	for {
		select {
		case <-c.ctx.Done():
			select {
			case req := <-c.closeReq:
				c.finish(req)
			default:
			}
			return
		case req := <-c.closeReq:
			c.finish(req)
			return
		case frame := <-c.queue:
			ctx, cancel := context.WithTimeout(c.ctx, c.s.opts.WriteTimeout)
			err := c.conn.Write(ctx, websocket.MessageText, frame)
			cancel()
			if err != nil {
				if c.ctx.Err() == nil && !c.closing.Load() {
					c.close(websocket.StatusPolicyViolation, "write failed", reasonWriteFailed, true)
				}
				_ = c.conn.CloseNow()
				return
			}
		}
	}
}

func (c *client) finish(req closeRequest) {
	if req.abort {
		_ = c.conn.CloseNow()
		return
	}
	_ = c.conn.Close(req.code, req.reason)
}

// pingLoop pings every IdleTimeout/2 and drops a client whose pong does
// not arrive within IdleTimeout/2. Pongs are read by the reader.
func (c *client) pingLoop() {
	half := c.s.opts.IdleTimeout / 2
	t := time.NewTicker(half)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(c.ctx, half)
			err := c.conn.Ping(ctx)
			cancel()
			if err != nil {
				if c.ctx.Err() == nil && !c.closing.Load() {
					c.close(websocket.StatusPolicyViolation, "idle timeout", reasonIdleTimeout, true)
				}
				return
			}
		}
	}
}
