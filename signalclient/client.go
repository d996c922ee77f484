package signalclient

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/gosimplepeer/simplepeer"
)

// Options configures Join.
type Options struct {
	// URL is the signalling server, e.g. ws://127.0.0.1:8090.
	URL string
	// Fallbacks are more servers sharing the same rooms (signalserver
	// instances on one Redis). Join tries URL, then each of them in turn;
	// when a connection drops, the redials go on round the list from the
	// next one, so the members of an instance that goes away move to
	// another.
	Fallbacks []string
	// Room is the topic the members share.
	Room string
	// ID names this member; empty means a random one.
	ID string
	// PeerOptions returns the options of a new peer (Initiator is set by
	// the client). Nil means simplepeer's defaults.
	PeerOptions func() *simplepeer.Options
	// OnPeer is called with every new member's peer, before it connects
	// (set its handlers there). It must not block.
	OnPeer func(id string, p *simplepeer.Peer)
	// OnLeave is called when a member's peer has closed.
	OnLeave func(id string)
	// MaxBackoff bounds the wait between redials (default 10 s).
	MaxBackoff time.Duration
}

// Room is a joined room.
type Room struct {
	opts   Options
	urls   []string // URL, then Fallbacks
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu    sync.Mutex
	conn  *websocket.Conn
	peers map[string]*simplepeer.Peer
	wg    sync.WaitGroup // the goroutines that wait for a peer's close
}

// message is a y-webrtc signalling message.
type message struct {
	Type   string   `json:"type"`
	Topic  string   `json:"topic,omitempty"`
	Topics []string `json:"topics,omitempty"`
	Data   *payload `json:"data,omitempty"`
}

// payload is what members publish to each other.
type payload struct {
	Type   string             `json:"type"`
	From   string             `json:"from"`
	To     string             `json:"to,omitempty"`
	Signal *simplepeer.Signal `json:"signal,omitempty"`
}

// Join dials the server, subscribes to the room and announces this member.
// It returns once the first connection is up; later ones are redialled in
// the background until Close.
func Join(ctx context.Context, opts Options) (*Room, error) {
	if opts.ID == "" {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		opts.ID = hex.EncodeToString(b)
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 10 * time.Second
	}
	urls := append([]string{opts.URL}, opts.Fallbacks...)
	var c *websocket.Conn
	var err error
	next := 0
	for next < len(urls) {
		c, err = dial(ctx, urls[next], opts)
		next++
		if err == nil {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.Background())
	r := &Room{opts: opts, urls: urls, ctx: rctx, cancel: cancel, done: make(chan struct{}), conn: c, peers: map[string]*simplepeer.Peer{}}
	go r.run(c, next%len(urls))
	return r, nil
}

// ID returns this member's ID.
func (r *Room) ID() string { return r.opts.ID }

// Peers returns the current members' peers by ID.
func (r *Room) Peers() map[string]*simplepeer.Peer {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]*simplepeer.Peer, len(r.peers))
	for id, p := range r.peers {
		out[id] = p
	}
	return out
}

// Close leaves the room: it closes the server connection and every peer,
// and waits for the client's goroutine to end.
func (r *Room) Close() error {
	r.cancel()
	<-r.done
	for _, p := range r.Peers() {
		_ = p.Close()
	}
	r.wg.Wait()
	return nil
}

func dial(ctx context.Context, url string, opts Options) (*websocket.Conn, error) {
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	for _, m := range []message{
		{Type: "subscribe", Topics: []string{opts.Room}},
		{Type: "publish", Topic: opts.Room, Data: &payload{Type: "announce", From: opts.ID}},
	} {
		if err := writeJSON(ctx, c, m); err != nil {
			_ = c.CloseNow()
			return nil, err
		}
	}
	return c, nil
}

func writeJSON(ctx context.Context, c *websocket.Conn, m message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return c.Write(ctx, websocket.MessageText, b)
}

// run reads the server until the connection drops, then redials with
// backoff, from r.urls[next] round the list, until Close.
func (r *Room) run(c *websocket.Conn, next int) {
	defer close(r.done)
	backoff := 100 * time.Millisecond
	for {
		r.read(c)
		_ = c.CloseNow()
		for {
			select {
			case <-r.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, r.opts.MaxBackoff)
			var err error
			url := r.urls[next]
			next = (next + 1) % len(r.urls)
			if c, err = dial(r.ctx, url, r.opts); err == nil {
				backoff = 100 * time.Millisecond
				r.mu.Lock()
				r.conn = c
				r.mu.Unlock()
				break
			}
		}
	}
}

func (r *Room) read(c *websocket.Conn) {
	stop := context.AfterFunc(r.ctx, func() { _ = c.Close(websocket.StatusNormalClosure, "leaving") })
	defer stop()
	for {
		_, b, err := c.Read(r.ctx)
		if err != nil {
			return
		}
		var m message
		if json.Unmarshal(b, &m) != nil || m.Type != "publish" || m.Topic != r.opts.Room || m.Data == nil {
			continue
		}
		r.handle(*m.Data)
	}
}

func (r *Room) handle(d payload) {
	if d.From == "" || d.From == r.opts.ID {
		return
	}
	switch d.Type {
	case "announce":
		if r.peer(d.From) != nil {
			return
		}
		if r.opts.ID < d.From {
			r.newPeer(d.From, true)
		} else {
			r.publish(payload{Type: "announce", From: r.opts.ID})
		}
	case "signal":
		if d.To != r.opts.ID || d.Signal == nil {
			return
		}
		p := r.peer(d.From)
		if p == nil {
			p = r.newPeer(d.From, false)
		}
		if p != nil {
			_ = p.Signal(*d.Signal)
		}
	}
}

func (r *Room) peer(id string) *simplepeer.Peer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.peers[id]
}

func (r *Room) newPeer(id string, initiator bool) *simplepeer.Peer {
	o := &simplepeer.Options{}
	if r.opts.PeerOptions != nil {
		o = r.opts.PeerOptions()
	}
	o.Initiator = initiator
	p, err := simplepeer.New(o)
	if err != nil {
		return nil
	}
	r.mu.Lock()
	r.peers[id] = p
	r.mu.Unlock()
	p.OnSignal(func(s simplepeer.Signal) {
		r.publish(payload{Type: "signal", From: r.opts.ID, To: id, Signal: &s})
	})
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		<-p.Done()
		r.mu.Lock()
		if r.peers[id] == p {
			delete(r.peers, id)
		}
		r.mu.Unlock()
		if r.opts.OnLeave != nil && r.ctx.Err() == nil {
			r.opts.OnLeave(id)
		}
	}()
	if r.opts.OnPeer != nil {
		r.opts.OnPeer(id, p)
	}
	return p
}

// publish sends d to the room; a message lost while the server connection
// is down is not retried (the redial announces again).
func (r *Room) publish(d payload) {
	r.mu.Lock()
	c := r.conn
	r.mu.Unlock()
	_ = writeJSON(r.ctx, c, message{Type: "publish", Topic: r.opts.Room, Data: &d})
}
