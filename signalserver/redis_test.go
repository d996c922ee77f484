package signalserver

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// twoInstances starts a redis-server and two Servers sharing it, each with
// a Redis client of its own, as two processes would have.
func twoInstances(t *testing.T) (rs *redistest.Server, a, b *testServer) {
	t.Helper()
	rs = redistest.Start(t)
	a = newTestServer(t, &Options{Redis: rs.Client(t)})
	b = newTestServer(t, &Options{Redis: rs.Client(t)})
	return rs, a, b
}

func metricsText(t *testing.T, s *testServer) string {
	t.Helper()
	resp, err := http.Get(s.http + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

func wantMetrics(t *testing.T, s *testServer, lines ...string) {
	t.Helper()
	body := metricsText(t, s)
	for _, line := range lines {
		if !strings.Contains(body, line+"\n") {
			t.Errorf("metrics lack %q:\n%s", line, body)
		}
	}
}

// onSync returns a channel poked after each change of the Redis state of
// the instances' buses.
func onSync(servers ...*testServer) <-chan struct{} {
	synced := make(chan struct{}, 64)
	f := func() {
		select {
		case synced <- struct{}{}:
		default:
		}
	}
	for _, s := range servers {
		s.bus.onSync.Store(&f)
	}
	return synced
}

// waitNumSub waits until Redis counts want subscribers (instances) of
// topic's channel, checking again after each sync.
func waitNumSub(t *testing.T, rdb *redis.Client, synced <-chan struct{}, topic string, want int64, what string) {
	t.Helper()
	for {
		n, err := rdb.PubSubNumSub(context.Background(), DefaultRedisPrefix+topic).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n[DefaultRedisPrefix+topic] == want {
			return
		}
		select {
		case <-synced:
		case <-time.After(testTimeout):
			t.Fatalf("%s: Redis counts %d subscribers of %q, want %d", what, n[DefaultRedisPrefix+topic], topic, want)
		}
	}
}

func TestRedisSharesTopicsAcrossInstances(t *testing.T) {
	_, a, b := twoInstances(t)
	a1, a2, b1 := dial(t, a.url), dial(t, a.url), dial(t, b.url)
	subscribe(t, a1, "room")
	subscribe(t, a2, "lobby")
	subscribe(t, b1, "room", "lobby")

	// Each instance counts its own subscribers in "clients".
	send(t, a1, `{"type":"publish","topic":"room","data":"from a"}`)
	wantPublish(t, a1, "room", 1, "from a")
	wantPublish(t, b1, "room", 1, "from a")
	send(t, b1, `{"type":"publish","topic":"lobby","data":"from b"}`)
	wantPublish(t, b1, "lobby", 1, "from b")
	wantPublish(t, a2, "lobby", 1, "from b")
	send(t, b1, `{"type":"publish","topic":"room","data":"again"}`)
	wantPublish(t, b1, "room", 1, "again")
	wantPublish(t, a1, "room", 1, "again")
	// Nothing twice, nothing to a topic's non-subscribers.
	barrier(t, a1)
	barrier(t, a2)
	barrier(t, b1)

	wantMetrics(t, a, "signalserver_redis_channels 2", "signalserver_redis_published_total 1",
		"signalserver_redis_received_total 2", `signalserver_redis_errors_total{op="publish"} 0`)
	wantMetrics(t, b, "signalserver_redis_channels 2", "signalserver_redis_published_total 2",
		"signalserver_redis_received_total 1")
}

func TestRedisPublishToTopicWithNoLocalSubscribers(t *testing.T) {
	_, a, b := twoInstances(t)
	pub, sub := dial(t, a.url), dial(t, b.url)
	subscribe(t, sub, "room")
	send(t, pub, `{"type":"publish","topic":"room","data":"x"}`)
	wantPublish(t, sub, "room", 1, "x")
	barrier(t, pub)
}

func TestRedisLastSubscriberLeavingUnsubscribes(t *testing.T) {
	rs, a, b := twoInstances(t)
	synced := onSync(b)
	rdb := rs.Client(t)
	a1, b1, b2 := dial(t, a.url), dial(t, b.url), dial(t, b.url)
	subscribe(t, a1, "room")
	subscribe(t, b1, "room")
	subscribe(t, b2, "room")
	waitNumSub(t, rdb, synced, "room", 2, "one subscriber per instance")
	send(t, b1, `{"type":"unsubscribe","topics":["room"]}`)
	barrier(t, b1)
	send(t, b2, `{"type":"unsubscribe","topics":["room"]}`)
	barrier(t, b2)
	waitNumSub(t, rdb, synced, "room", 1, "instance b's last client left")
	send(t, a1, `{"type":"publish","topic":"room","data":"x"}`)
	wantPublish(t, a1, "room", 1, "x")
	barrier(t, b1)
	barrier(t, b2)
	wantMetrics(t, b, "signalserver_redis_channels 0")
}

func TestRedisGoneLocalDeliveryGoesOn(t *testing.T) {
	rs, a, _ := twoInstances(t)
	a1, a2 := dial(t, a.url), dial(t, a.url)
	subscribe(t, a1, "room")
	rs.Kill()
	// A new topic's subscribe waits for Redis at most redisSubscribeWait.
	start := time.Now()
	subscribe(t, a2, "room", "other")
	if d := time.Since(start); d > redisSubscribeWait+time.Second {
		t.Errorf("subscribe with Redis gone took %v, want at most %v", d, redisSubscribeWait)
	}
	send(t, a1, `{"type":"publish","topic":"room","data":"x"}`)
	wantPublish(t, a1, "room", 2, "x")
	wantPublish(t, a2, "room", 2, "x")
	wantMetrics(t, a, `signalserver_redis_errors_total{op="subscribe_timeout"} 1`)
}

func TestRedisRestartSharingResumes(t *testing.T) {
	rs, a, b := twoInstances(t)
	synced := onSync(a, b)
	a1, b1 := dial(t, a.url), dial(t, b.url)
	subscribe(t, a1, "room")
	subscribe(t, b1, "room")
	rs.Kill()
	send(t, a1, `{"type":"publish","topic":"room","data":"lost"}`) // Redis is gone: local only
	wantPublish(t, a1, "room", 1, "lost")
	rs.Restart(t)

	// Both instances reconnect and subscribe the room's channel again.
	waitNumSub(t, rs.Client(t), synced, "room", 2, "after Redis restarted")
	send(t, b1, `{"type":"publish","topic":"room","data":"back"}`)
	wantPublish(t, b1, "room", 1, "back")
	wantPublish(t, a1, "room", 1, "back")
	barrier(t, b1)
}
