// Command signalserver runs package signalserver: a y-webrtc compatible
// signalling server on 127.0.0.1:8090 (-addr changes it), with Prometheus
// metrics at /metrics. SIGINT or SIGTERM closes every client with 1001
// (going away) and exits.
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
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "`HOST:PORT` to listen on")
	origins := flag.String("origins", "", "comma-separated Origin host `patterns` browsers may connect from (empty: any)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := &signalserver.Options{}
	if *origins != "" {
		opts.AllowedOrigins = strings.Split(*origins, ",")
	}
	err := run(ctx, *addr, opts, func(a net.Addr) {
		log.Printf("signalling on ws://%s (metrics at http://%s/metrics)", a, a)
	})
	if err != nil {
		log.Fatal(err)
	}
	log.Print("shut down")
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
