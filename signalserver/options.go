package signalserver

import (
	"time"

	"github.com/pion/logging"
	"github.com/redis/go-redis/v9"
)

// Defaults of the Options fields, used when a field is zero.
const (
	DefaultMaxMessageSize     = 64 << 10
	DefaultMaxTopicsPerClient = 64
	DefaultMaxClientsPerTopic = 256
	DefaultSendQueue          = 256
	DefaultMessagesPerSecond  = 100
	DefaultBurst              = 200
	DefaultIdleTimeout        = 60 * time.Second
	DefaultWriteTimeout       = 10 * time.Second
	DefaultMetricsPath        = "/metrics"
	DefaultRedisPrefix        = "signalserver:"
	DefaultRedisQueue         = 1024
)

// Options configures a Server. The zero value of every field selects its
// default; a negative number disables that limit.
type Options struct {
	// MaxMessageSize is the largest frame a client may send, in bytes
	// (DefaultMaxMessageSize, 64 KiB). A bigger one closes the client
	// with 1009 (message too big).
	MaxMessageSize int64

	// MaxTopicsPerClient is how many topics one client may be subscribed
	// to at once (DefaultMaxTopicsPerClient, 64). Subscriptions past it
	// are ignored, as the protocol has no way to refuse them.
	MaxTopicsPerClient int

	// MaxClientsPerTopic is how many clients one topic may have
	// (DefaultMaxClientsPerTopic, 256). A subscription to a full topic is
	// ignored: the client does not receive its messages and is not
	// counted in "clients".
	MaxClientsPerTopic int

	// SendQueue is how many messages may wait to be written to one client
	// (DefaultSendQueue, 256). A client whose queue is full when a message
	// for it arrives is dropped with 1008 (policy violation): one slow
	// client must not hold memory or delay the others.
	SendQueue int

	// MessagesPerSecond and Burst are a token bucket on the frames one
	// client sends (DefaultMessagesPerSecond 100/s, DefaultBurst 200).
	// A client over the limit is dropped with 1008 (policy violation)
	// rather than having messages silently lost, which would break
	// signalling in ways that are hard to see.
	MessagesPerSecond float64
	Burst             int

	// AllowedOrigins lists the Origin host patterns (path.Match syntax,
	// e.g. "example.com", "*.example.com") a browser may connect from.
	// Empty allows every origin, as y-webrtc's server does. Clients that
	// send no Origin (non-browsers) are always allowed.
	AllowedOrigins []string

	// IdleTimeout bounds how long a dead client stays connected
	// (DefaultIdleTimeout, 60 s): the server pings every IdleTimeout/2 and
	// closes a client whose pong does not arrive within IdleTimeout/2.
	IdleTimeout time.Duration

	// WriteTimeout bounds the write of one message to a client
	// (DefaultWriteTimeout, 10 s); a client that cannot take it in time
	// is dropped.
	WriteTimeout time.Duration

	// MetricsPath is the path on which ServeHTTP serves the Prometheus
	// metrics (DefaultMetricsPath, "/metrics"); "-" serves none there
	// (use Metrics to mount them elsewhere).
	MetricsPath string

	// Redis, if set, shares topics with every other Server on the same
	// Redis (a *redis.Client, or a cluster or failover client) through
	// pub/sub: see "Scale-out" in the package documentation. The Server
	// does not close it.
	Redis redis.UniversalClient

	// RedisPrefix is put before a topic to name its Redis channel
	// (DefaultRedisPrefix, "signalserver:"). Servers that share topics
	// must use the same prefix.
	RedisPrefix string

	// RedisQueue is how many publishes may wait to be sent to Redis
	// (DefaultRedisQueue, 1024). When it is full a publish reaches this
	// instance's subscribers only, and is counted in
	// signalserver_redis_errors_total{op="queue_full"}.
	RedisQueue int

	// LoggerFactory, if set, gets debug output, like simple-peer's debug.
	LoggerFactory logging.LoggerFactory
}

// withDefaults returns a copy of o (nil allowed) with defaults filled in.
func (o *Options) withDefaults() Options {
	var c Options
	if o != nil {
		c = *o
		c.AllowedOrigins = append([]string(nil), o.AllowedOrigins...)
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if c.MaxTopicsPerClient == 0 {
		c.MaxTopicsPerClient = DefaultMaxTopicsPerClient
	}
	if c.MaxClientsPerTopic == 0 {
		c.MaxClientsPerTopic = DefaultMaxClientsPerTopic
	}
	if c.SendQueue <= 0 {
		c.SendQueue = DefaultSendQueue
	}
	if c.MessagesPerSecond == 0 {
		c.MessagesPerSecond = DefaultMessagesPerSecond
	}
	if c.Burst <= 0 {
		c.Burst = DefaultBurst
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.MetricsPath == "" {
		c.MetricsPath = DefaultMetricsPath
	}
	if c.RedisPrefix == "" {
		c.RedisPrefix = DefaultRedisPrefix
	}
	if c.RedisQueue <= 0 {
		c.RedisQueue = DefaultRedisQueue
	}
	if c.LoggerFactory == nil {
		c.LoggerFactory = logging.NewDefaultLoggerFactory()
	}
	return c
}
