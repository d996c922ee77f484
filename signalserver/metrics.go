package signalserver

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Reasons a client is dropped, the "reason" label of
// signalserver_clients_dropped_total.
const (
	reasonSendQueueFull = "send_queue_full"
	reasonRateLimit     = "rate_limit"
	reasonMessageTooBig = "message_too_big"
	reasonIdleTimeout   = "idle_timeout"
	reasonWriteFailed   = "write_failed"
)

// metrics are one Server's collectors, in a registry of its own so that
// several Servers in one process (tests, embedding) do not collide.
type metrics struct {
	reg      *prometheus.Registry
	clients  prometheus.Gauge
	topics   prometheus.Gauge
	accepted prometheus.Counter
	received prometheus.Counter
	relayed  prometheus.Counter
	dropped  *prometheus.CounterVec
	refused  *prometheus.CounterVec
	handler  http.Handler

	// with Redis only
	redisChannels  prometheus.Gauge
	redisPublished prometheus.Counter
	redisReceived  prometheus.Counter
	redisErrors    *prometheus.CounterVec
}

func newMetrics(withRedis bool) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		clients: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "signalserver_clients", Help: "Clients connected now.",
		}),
		topics: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "signalserver_topics", Help: "Topics with at least one subscriber now.",
		}),
		accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "signalserver_clients_accepted_total", Help: "WebSocket connections accepted.",
		}),
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "signalserver_messages_received_total", Help: "Frames received from clients.",
		}),
		relayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "signalserver_messages_relayed_total", Help: "Published messages queued to subscribers (one per recipient).",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signalserver_clients_dropped_total", Help: "Clients closed by the server for breaking a limit, by reason.",
		}, []string{"reason"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signalserver_subscriptions_refused_total", Help: "Subscriptions ignored because of a limit, by reason.",
		}, []string{"reason"}),
	}
	m.reg.MustRegister(m.clients, m.topics, m.accepted, m.received, m.relayed, m.dropped, m.refused)
	for _, r := range []string{reasonSendQueueFull, reasonRateLimit, reasonMessageTooBig, reasonIdleTimeout, reasonWriteFailed} {
		m.dropped.WithLabelValues(r)
	}
	for _, r := range []string{"topics_per_client", "clients_per_topic"} {
		m.refused.WithLabelValues(r)
	}
	m.redisChannels = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "signalserver_redis_channels", Help: "Redis channels subscribed now (one per topic with local subscribers).",
	})
	m.redisPublished = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "signalserver_redis_published_total", Help: "Local publishes sent to Redis for the other instances.",
	})
	m.redisReceived = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "signalserver_redis_received_total", Help: "Publishes from other instances received through Redis.",
	})
	m.redisErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "signalserver_redis_errors_total", Help: "Redis failures by operation; local delivery goes on. queue_full and publish count messages that reached this instance's subscribers only.",
	}, []string{"op"})
	if withRedis {
		m.reg.MustRegister(m.redisChannels, m.redisPublished, m.redisReceived, m.redisErrors)
		for _, op := range []string{redisOpSubscribe, redisOpUnsubscribe, redisOpPublish, redisOpReceive, redisOpQueueFull, redisOpSubscribeTimeout} {
			m.redisErrors.WithLabelValues(op)
		}
	}
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return m
}

// Metrics returns the handler serving the Server's metrics in Prometheus
// text format: signalserver_clients, signalserver_topics,
// signalserver_clients_accepted_total, signalserver_messages_received_total,
// signalserver_messages_relayed_total, signalserver_clients_dropped_total
// {reason} and signalserver_subscriptions_refused_total{reason}; with
// Redis also signalserver_redis_channels, signalserver_redis_published_total,
// signalserver_redis_received_total and signalserver_redis_errors_total{op}.
func (s *Server) Metrics() http.Handler { return s.m.handler }

// Registry returns the Prometheus registry holding the Server's
// collectors, for a service that gathers them into its own.
func (s *Server) Registry() *prometheus.Registry { return s.m.reg }
