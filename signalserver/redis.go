package signalserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis error kinds, the "op" label of signalserver_redis_errors_total.
const (
	redisOpSubscribe        = "subscribe"
	redisOpUnsubscribe      = "unsubscribe"
	redisOpPublish          = "publish"
	redisOpReceive          = "receive"
	redisOpQueueFull        = "queue_full"
	redisOpSubscribeTimeout = "subscribe_timeout"
)

// redisSubscribeWait bounds how long a client's subscribe waits for Redis
// to confirm a new topic's channel before the client's next frame is read.
const redisSubscribeWait = 2 * time.Second

// redisBatch is the most publishes sent to Redis in one pipeline.
const redisBatch = 64

// bus shares a Server's topics with other instances through Redis
// pub/sub: one Redis channel per topic with local subscribers, and every
// local publish published there too, in an envelope naming this instance
// so that its own messages are not delivered twice.
//
// Three goroutines: the subscriber reconciles the wanted channels with
// Redis, the publisher sends queued publishes in pipelines, the receiver
// reads the channels and delivers to local subscribers.
type bus struct {
	s      *Server
	rdb    redis.UniversalClient
	ps     *redis.PubSub
	id     []byte // this instance's envelope prefix: random hex and a space
	prefix string
	out    chan outgoing // bounded by Options.RedisQueue

	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once

	mu     sync.Mutex
	topics map[string]*busTopic // by topic; guarded by mu
	dirty  map[string]struct{}  // topics whose Redis state may be stale
	kick   chan struct{}        // capacity 1: dirty is not empty

	onSync atomic.Pointer[func()] // tests: called after each subscriber pass and confirmation
}

// busTopic is the Redis state of one topic.
type busTopic struct {
	wanted  bool          // the topic has local subscribers
	sent    bool          // SUBSCRIBE sent and not undone by UNSUBSCRIBE
	pending int           // SUBSCRIBEs not yet confirmed
	ready   chan struct{} // closed once sent and confirmed
	closed  bool          // ready is closed
}

type outgoing struct {
	topic string
	data  []byte
}

func newBus(s *Server) *bus {
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	ctx, cancel := context.WithCancel(context.Background())
	b := &bus{
		s:      s,
		rdb:    s.opts.Redis,
		ps:     s.opts.Redis.Subscribe(ctx), // no channels yet: connects lazily
		id:     append([]byte(hex.EncodeToString(id)), ' '),
		prefix: s.opts.RedisPrefix,
		out:    make(chan outgoing, s.opts.RedisQueue),
		ctx:    ctx,
		cancel: cancel,
		topics: map[string]*busTopic{},
		dirty:  map[string]struct{}{},
		kick:   make(chan struct{}, 1),
	}
	b.wg.Add(3)
	go b.subscriber()
	go b.publisher()
	go b.receiver()
	return b
}

// close stops the goroutines and the pub/sub connection. The Redis client
// is the caller's and stays open.
func (b *bus) close() {
	b.closeOnce.Do(func() {
		b.cancel()
		_ = b.ps.Close()
		b.wg.Wait()
	})
}

// want records that topic has local subscribers (or, with on false, has
// none left). It never blocks: callers hold the Server's lock.
func (b *bus) want(topic string, on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.topics[topic]
	if t == nil {
		if !on {
			return
		}
		t = &busTopic{ready: make(chan struct{})}
		b.topics[topic] = t
	}
	t.wanted = on
	b.dirty[topic] = struct{}{}
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// await waits, at most redisSubscribeWait in all, until the channels of
// topics are subscribed in Redis, so that what other instances publish
// after this client's next frame reaches it.
func (b *bus) await(ctx context.Context, topics []string) {
	timer := time.NewTimer(redisSubscribeWait)
	defer timer.Stop()
	for _, topic := range topics {
		b.mu.Lock()
		t := b.topics[topic]
		b.mu.Unlock()
		if t == nil {
			continue // not subscribed (a limit), or already left
		}
		select {
		case <-t.ready:
		case <-ctx.Done():
			return
		case <-timer.C:
			b.s.m.redisErrors.WithLabelValues(redisOpSubscribeTimeout).Inc()
			return
		}
	}
}

// subscriber makes Redis's channels follow the wanted topics.
func (b *bus) subscriber() {
	defer b.wg.Done()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-b.kick:
		}
		var sub, unsub []string
		b.mu.Lock()
		for topic := range b.dirty {
			t := b.topics[topic]
			switch {
			case t.wanted && !t.sent:
				t.sent = true
				t.pending++
				sub = append(sub, b.prefix+topic)
			case !t.wanted && t.sent:
				t.sent = false
				unsub = append(unsub, b.prefix+topic)
				delete(b.topics, topic)
			case !t.wanted:
				delete(b.topics, topic)
			}
		}
		clear(b.dirty)
		b.mu.Unlock()
		// go-redis remembers the channels even when the command fails, and
		// subscribes them again when it reconnects.
		if len(sub) > 0 {
			if err := b.ps.Subscribe(b.ctx, sub...); err != nil {
				b.failed(redisOpSubscribe, err)
			}
		}
		if len(unsub) > 0 {
			if err := b.ps.Unsubscribe(b.ctx, unsub...); err != nil {
				b.failed(redisOpUnsubscribe, err)
			}
		}
		b.s.m.redisChannels.Add(float64(len(sub) - len(unsub)))
		if f := b.onSync.Load(); f != nil {
			(*f)()
		}
	}
}

// confirm marks channel's subscription as confirmed by Redis.
func (b *bus) confirm(channel string) {
	topic, ok := strings.CutPrefix(channel, b.prefix)
	if !ok {
		return
	}
	if f := b.onSync.Load(); f != nil {
		defer (*f)()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.topics[topic]
	if t == nil {
		return
	}
	// A reconnect resubscribes every channel: confirmations may outnumber
	// our SUBSCRIBEs.
	t.pending = max(t.pending-1, 0)
	if t.sent && t.pending == 0 && !t.closed {
		t.closed = true
		close(t.ready)
	}
}

// send queues a local publish for the other instances without blocking;
// when the queue is full the message reaches this instance's subscribers
// only, and is counted.
func (b *bus) send(topic string, data []byte) {
	select {
	case b.out <- outgoing{topic: topic, data: data}:
	default:
		b.s.m.redisErrors.WithLabelValues(redisOpQueueFull).Inc()
	}
}

// publisher sends queued publishes, up to redisBatch in one pipeline.
func (b *bus) publisher() {
	defer b.wg.Done()
	batch := make([]outgoing, 0, redisBatch)
	for {
		select {
		case <-b.ctx.Done():
			return
		case o := <-b.out:
			batch = append(batch[:0], o)
		}
	more:
		for len(batch) < redisBatch {
			select {
			case o := <-b.out:
				batch = append(batch, o)
			default:
				break more
			}
		}
		ctx, cancel := context.WithTimeout(b.ctx, b.s.opts.WriteTimeout)
		pipe := b.rdb.Pipeline()
		for _, o := range batch {
			env := make([]byte, 0, len(b.id)+len(o.data))
			env = append(append(env, b.id...), o.data...)
			pipe.Publish(ctx, b.prefix+o.topic, env)
		}
		_, err := pipe.Exec(ctx)
		cancel()
		if err != nil {
			b.s.m.redisErrors.WithLabelValues(redisOpPublish).Add(float64(len(batch)))
			b.s.log.Warnf("redis publish of %d messages failed: %v", len(batch), err)
			continue
		}
		b.s.m.redisPublished.Add(float64(len(batch)))
	}
}

// receiver reads the subscribed channels and delivers what other
// instances published to this instance's subscribers.
func (b *bus) receiver() {
	defer b.wg.Done()
	backoff := 50 * time.Millisecond
	for {
		m, err := b.ps.ReceiveTimeout(b.ctx, 15*time.Second)
		if err != nil {
			if b.ctx.Err() != nil || errors.Is(err, redis.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				_ = b.ps.Ping(b.ctx) // quiet: check the connection is alive
				continue
			}
			b.failed(redisOpReceive, err)
			select {
			case <-b.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		switch m := m.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				b.confirm(m.Channel)
			}
		case *redis.Message:
			b.deliver(m)
		}
	}
}

// deliver relays one message from Redis to the local subscribers.
func (b *bus) deliver(m *redis.Message) {
	topic, ok := strings.CutPrefix(m.Channel, b.prefix)
	if !ok {
		return
	}
	env := []byte(m.Payload)
	if bytes.HasPrefix(env, b.id) {
		return // ours: delivered locally when it was sent
	}
	_, data, ok := bytes.Cut(env, []byte{' '})
	if !ok {
		return
	}
	var msg map[string]json.RawMessage
	if json.Unmarshal(data, &msg) != nil {
		return
	}
	b.s.m.redisReceived.Inc()
	b.s.deliver(topic, data, msg)
}

func (b *bus) failed(op string, err error) {
	b.s.m.redisErrors.WithLabelValues(op).Inc()
	b.s.log.Warnf("redis %s failed: %v", op, err)
}
