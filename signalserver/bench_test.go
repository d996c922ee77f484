package signalserver

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"net/http/httptest"

	"github.com/coder/websocket"
	"github.com/gosimplepeer/simplepeer/internal/redistest"
)

// BenchmarkRelay10 publishes b.N messages to a topic of 10 subscribers (the
// publisher is one of them) on loopback and reports deliveries per second.
// The publisher keeps at most 64 messages in flight (not yet received by
// every subscriber), within the send queue.
func BenchmarkRelay10(b *testing.B) {
	s := New(&Options{MessagesPerSecond: -1})
	url, stop := serveBench(b, s)
	defer stop()
	benchRelay(b, []string{url})
}

// BenchmarkRelay10Redis is BenchmarkRelay10 across two instances sharing a
// redis-server: the publisher and 4 subscribers on one, 5 on the other.
func BenchmarkRelay10Redis(b *testing.B) {
	rs := redistest.Start(b)
	var urls []string
	for range 2 {
		s := New(&Options{MessagesPerSecond: -1, Redis: rs.Client(b)})
		url, stop := serveBench(b, s)
		defer stop()
		urls = append(urls, url)
	}
	benchRelay(b, urls)
}

// benchRelay connects 10 subscribers, subscriber i to urls[i%len(urls)],
// and publishes b.N messages from the first.
func benchRelay(b *testing.B, urls []string) {
	const subscribers, window = 10, 64
	ctx := context.Background()
	conns := make([]*websocket.Conn, subscribers)
	for i := range conns {
		c, _, err := websocket.Dial(ctx, urls[i%len(urls)], nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.CloseNow()
		conns[i] = c
		if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribe","topics":["room"]}`)); err != nil {
			b.Fatal(err)
		}
		if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"ping"}`)); err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.Read(ctx); err != nil {
			b.Fatal(err)
		}
	}
	frame := []byte(`{"type":"publish","topic":"room","data":{"type":"signal","from":"a","to":"b","signal":{"candidate":"candidate:1 1 udp 2122260223 192.168.1.2 54321 typ host"}}}`)
	slots := make(chan struct{}, window)
	done := make(chan error, subscribers)
	b.ResetTimer()
	start := time.Now()
	got := make([]atomic.Int32, b.N)
	for _, c := range conns {
		go func() {
			for n := 0; n < b.N; n++ {
				if _, _, err := c.Read(ctx); err != nil {
					done <- err
					return
				}
				if got[n].Add(1) == subscribers {
					<-slots // the last subscriber has it
				}
			}
			done <- nil
		}()
	}
	for n := 0; n < b.N; n++ {
		slots <- struct{}{}
		if err := conns[0].Write(ctx, websocket.MessageText, frame); err != nil {
			b.Fatal(err)
		}
	}
	for range conns {
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "publishes/s")
	b.ReportMetric(float64(b.N*subscribers)/elapsed.Seconds(), "deliveries/s")
}

// BenchmarkIdleClient reports the heap and stack held per connected,
// subscribed, idle client, both ends in this process (server and client).
func BenchmarkIdleClient(b *testing.B) {
	const clients = 500
	for i := 0; i < b.N; i++ {
		s := New(nil)
		url, stop := serveBench(b, s)
		ctx := context.Background()
		before := inUse()
		conns := make([]*websocket.Conn, clients)
		for i := range conns {
			c, _, err := websocket.Dial(ctx, url, nil)
			if err != nil {
				b.Fatal(err)
			}
			conns[i] = c
			_ = c.Write(ctx, websocket.MessageText, []byte(fmt.Sprintf(`{"type":"subscribe","topics":["room%d"]}`, i%50)))
			_ = c.Write(ctx, websocket.MessageText, []byte(`{"type":"ping"}`))
			if _, _, err := c.Read(ctx); err != nil {
				b.Fatal(err)
			}
		}
		after := inUse()
		b.ReportMetric(float64(after-before)/clients, "B/client")
		for _, c := range conns {
			_ = c.CloseNow()
		}
		stop()
	}
}

func inUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

func serveBench(b *testing.B, s *Server) (url string, stop func()) {
	b.Helper()
	hs := httptest.NewServer(s)
	return "ws" + hs.URL[len("http"):] + "/", func() {
		_ = s.Close()
		hs.Close()
	}
}
