// Command signalserver runs package signalserver: a y-webrtc compatible
// signalling server on 127.0.0.1:8090 (-addr changes it), with Prometheus
// metrics at /metrics. SIGINT or SIGTERM closes every client with 1001
// (going away) and exits.
//
// -redis ADDR (host:port, or a redis:// URL) shares the rooms with every
// other instance started with the same Redis, so that clients connected
// to different instances find each other:
//
//	go run ./examples/signalserver -addr 127.0.0.1:8090 -redis 127.0.0.1:6379
//	go run ./examples/signalserver -addr 127.0.0.1:8091 -redis 127.0.0.1:6379
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gosimplepeer/simplepeer/signalserver"
	"github.com/redis/go-redis/v9"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "`HOST:PORT` to listen on")
	origins := flag.String("origins", "", "comma-separated Origin host `patterns` browsers may connect from (empty: any)")
	redisAddr := flag.String("redis", "", "share rooms with other instances through the Redis at `ADDR` (host:port or redis://...)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := &signalserver.Options{}
	if *origins != "" {
		opts.AllowedOrigins = strings.Split(*origins, ",")
	}
	if *redisAddr != "" {
		rdb, err := connectRedis(ctx, *redisAddr)
		if err != nil {
			log.Fatal(err)
		}
		defer rdb.Close()
		opts.Redis = rdb
		log.Printf("sharing rooms through redis at %s", *redisAddr)
	}
	err := run(ctx, *addr, opts, func(a net.Addr) {
		log.Printf("signalling on ws://%s (metrics at http://%s/metrics)", a, a)
	})
	if err != nil {
		log.Fatal(err)
	}
	log.Print("shut down")
}

// connectRedis returns a client for addr (host:port or a redis:// URL)
// once the server answers a PING, so that a wrong address fails at start.
func connectRedis(ctx context.Context, addr string) (*redis.Client, error) {
	ro := &redis.Options{Addr: addr}
	if strings.Contains(addr, "://") {
		var err error
		if ro, err = redis.ParseURL(addr); err != nil {
			return nil, fmt.Errorf("-redis: %w", err)
		}
	}
	rdb := redis.NewClient(ro)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("redis at %s: %w", addr, err)
	}
	return rdb, nil
}

// run serves a signalling server on addr until ctx ends, then shuts it
// down: clients first (closed with 1001), then the HTTP server. listening
// is called with the bound address once connections are accepted.
func run(ctx context.Context, addr string, opts *signalserver.Options, listening func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := signalserver.New(opts)
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	listening(ln.Addr())

	select {
	case err := <-served:
		_ = srv.Close()
		return fmt.Errorf("failed to serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Stop accepting first, so no client arrives after srv has closed its own.
	httpErr := hs.Shutdown(shutdownCtx)
	srvErr := srv.Shutdown(shutdownCtx)
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return errors.Join(httpErr, srvErr)
}
