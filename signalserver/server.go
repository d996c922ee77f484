package signalserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/coder/websocket"
	"github.com/pion/logging"
)

// Server is a y-webrtc signalling server; see the package documentation.
// Create it with New, mount it as an http.Handler, stop it with Shutdown
// or Close.
type Server struct {
	opts Options
	log  logging.LeveledLogger
	m    *metrics

	// ctx is cancelled when Shutdown gives up waiting: it aborts every
	// client's reads and writes.
	ctx    context.Context
	cancel context.CancelFunc

	bus *bus // nil without Options.Redis

	mu      sync.RWMutex
	closed  bool
	clients map[*client]struct{}
	topics  map[string]map[*client]struct{}
	wg      sync.WaitGroup // one per ServeHTTP that accepted a client

	// onDrop, if set (tests), is called with the reason a client was dropped.
	onDrop func(reason string)
}

// New returns a Server with opts (nil for all defaults) copied and its
// zero fields set to their defaults.
func New(opts *Options) *Server {
	o := opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		opts:    o,
		log:     o.LoggerFactory.NewLogger("signalserver"),
		m:       newMetrics(o.Redis != nil),
		ctx:     ctx,
		cancel:  cancel,
		clients: map[*client]struct{}{},
		topics:  map[string]map[*client]struct{}{},
	}
	if o.Redis != nil {
		s.bus = newBus(s)
	}
	return s
}

// ServeHTTP serves the metrics on Options.MetricsPath and upgrades every
// other WebSocket request to a signalling connection, which it serves
// until the client leaves or the Server shuts down; after Shutdown it
// answers 503. Plain HTTP requests get 200 "okay", as from y-webrtc's
// server, for health checks.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.opts.MetricsPath != "-" && r.URL.Path == s.opts.MetricsPath {
		s.m.handler.ServeHTTP(w, r)
		return
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		// As y-webrtc's server: plain HTTP gets "okay", for health checks.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "okay\n")
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "signalling server shutting down", http.StatusServiceUnavailable)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		OriginPatterns:     s.opts.AllowedOrigins,
		InsecureSkipVerify: len(s.opts.AllowedOrigins) == 0,
	})
	if err != nil {
		s.log.Debugf("failed to accept WebSocket from %s: %v", r.RemoteAddr, err)
		return // Accept has written the HTTP error
	}
	conn.SetReadLimit(s.opts.MaxMessageSize)
	c := newClient(s, conn)
	if !s.add(c) {
		conn.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	c.run()
	s.remove(c)
}

// add registers c; false once the Server is closed.
func (s *Server) add(c *client) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.clients[c] = struct{}{}
	s.m.accepted.Inc()
	s.m.clients.Inc()
	return true
}

// remove unsubscribes c from all its topics and forgets it.
func (s *Server) remove(c *client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t := range c.topics {
		s.unsubscribeLocked(c, t)
	}
	delete(s.clients, c)
	s.m.clients.Dec()
}

// subscribe adds c to topics, within the limits. Called by c's reader.
func (s *Server) subscribe(c *client, topics []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range topics {
		if _, ok := c.topics[t]; ok {
			continue
		}
		if max := s.opts.MaxTopicsPerClient; max > 0 && len(c.topics) >= max {
			s.m.refused.WithLabelValues("topics_per_client").Inc()
			continue
		}
		subs := s.topics[t]
		if max := s.opts.MaxClientsPerTopic; max > 0 && len(subs) >= max {
			s.m.refused.WithLabelValues("clients_per_topic").Inc()
			continue
		}
		if subs == nil {
			subs = map[*client]struct{}{}
			s.topics[t] = subs
			s.m.topics.Inc()
			if s.bus != nil {
				s.bus.want(t, true)
			}
		}
		subs[c] = struct{}{}
		c.topics[t] = struct{}{}
	}
}

// unsubscribe removes c from topics. Called by c's reader.
func (s *Server) unsubscribe(c *client, topics []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range topics {
		s.unsubscribeLocked(c, t)
	}
}

func (s *Server) unsubscribeLocked(c *client, t string) {
	if _, ok := c.topics[t]; !ok {
		return
	}
	delete(c.topics, t)
	subs := s.topics[t]
	delete(subs, c)
	if len(subs) == 0 {
		delete(s.topics, t)
		s.m.topics.Dec()
		if s.bus != nil {
			s.bus.want(t, false)
		}
	}
}

// publish relays a client's publish frame data (msg decoded) to the
// topic's subscribers here and, with Redis, on the other instances.
func (s *Server) publish(topic string, data []byte, msg map[string]json.RawMessage) {
	s.deliver(topic, data, msg)
	if s.bus != nil {
		s.bus.send(topic, data)
	}
}

// deliver relays msg (a decoded publish frame) to every subscriber of
// topic on this instance with "clients" set to their number. Queueing
// never blocks: a subscriber whose queue is full is dropped.
func (s *Server) deliver(topic string, data []byte, msg map[string]json.RawMessage) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	subs := s.topics[topic]
	if len(subs) == 0 {
		return
	}
	frame := withClients(data, msg, len(subs))
	for c := range subs {
		if c.enqueue(frame) {
			s.m.relayed.Inc()
		}
	}
}

// withClients returns the publish frame data (msg decoded) with
// "clients": n added. It appends to the object as sent, keeping its bytes
// and key order, unless the frame already has "clients" to replace.
func withClients(data []byte, msg map[string]json.RawMessage, n int) []byte {
	if _, ok := msg["clients"]; !ok {
		body := bytes.TrimRight(data, " \t\r\n")
		if len(body) > 0 && body[len(body)-1] == '}' {
			frame := make([]byte, 0, len(body)+24)
			frame = append(frame, body[:len(body)-1]...)
			frame = append(frame, `,"clients":`...)
			frame = strconv.AppendInt(frame, int64(n), 10)
			return append(frame, '}')
		}
	}
	msg["clients"] = json.RawMessage(strconv.Itoa(n))
	frame, _ := json.Marshal(msg) // cannot fail: msg was decoded from JSON
	return frame
}

// dropped counts a client closed for breaking a limit.
func (s *Server) dropped(reason string) {
	s.m.dropped.WithLabelValues(reason).Inc()
	if s.onDrop != nil {
		s.onDrop(reason)
	}
}

// Shutdown stops accepting clients, closes every client with 1001 (going
// away) and waits for them to go. If ctx ends first it aborts the
// remaining connections, waits for their goroutines and returns ctx.Err().
// The http.Server serving s is the caller's to shut down.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	clients := make([]*client, 0, len(s.clients))
	for c := range s.clients {
		clients = append(clients, c)
	}
	s.mu.Unlock()
	for _, c := range clients {
		c.close(websocket.StatusGoingAway, "server shutting down", "", false)
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.cancel()
	<-done
	if s.bus != nil {
		s.bus.close()
	}
	return err
}

// Close is Shutdown without a deadline other than the Server's own
// WriteTimeout and the close handshake's (5 s). It returns nil.
func (s *Server) Close() error {
	return s.Shutdown(context.Background()) // never ends early: nil
}
