// Command browser connects a web page to a Go simplepeer.Peer. It serves the
// page and a WebSocket that carries the signals, and for every page that
// connects it runs one Go peer that
//
//   - answers each chat message sent over the data channel;
//   - streams a VP8 video (an IVF file, looped) to the page;
//   - sends the page's camera straight back to it (the echo).
//
// Run it and open the address it prints in a browser:
//
//	go run ./examples/browser [-addr 127.0.0.1:8080] [-video clip.ivf]
//
// The page's JavaScript (static/app.js) uses the browser's own
// RTCPeerConnection and speaks simple-peer's signal format, so the same
// server works with a simple-peer page too. The Go peer is the initiator: it
// makes every offer, and the page only answers (see session.go).
//
// Everything stays on this machine: neither side uses an ICE server, and the
// Go peer offers loopback candidates too, so it works with no network at
// all. Ctrl-C closes every peer and the server.
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

// static is the page: index.html and app.js.
//
//go:embed static
var static embed.FS

// fixtureVideo is the default clip: 3 s of ffmpeg's test pattern, VP8,
// 320x240 at 30 fps, one keyframe a second (the same file as
// examples/mediafile/testdata/video.ivf, which generate.sh there makes).
//
//go:embed testdata/video.ivf
var fixtureVideo []byte

// shutdownTimeout bounds the wait for HTTP requests in flight at shutdown.
// Pages are closed separately, each peer within its own bounded Close.
const shutdownTimeout = 5 * time.Second

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to serve the page on (port 0: any free port)")
	video := flag.String("video", "", "VP8 video in IVF to stream, looped (default: the embedded testdata/video.ivf)")
	flag.Parse()
	log.SetFlags(0)

	c, err := loadClip(*video)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop) // a second Ctrl-C ends the program at once
	if err := run(ctx, *addr, c, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run serves the page on addr until ctx is done, then closes every page's
// peer and returns. It prints "listening on http://HOST:PORT/" once the
// address is bound, and a line per page event, to out.
func run(ctx context.Context, addr string, c *clip, out io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	page, err := fs.Sub(static, "static")
	if err != nil {
		_ = ln.Close()
		return err
	}
	logger := log.New(out, "", log.Ltime)
	s := newServer(c, logger)
	srv := &http.Server{Handler: s.handler(page), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(out, "listening on http://%s/ (Ctrl-C to stop)\n", ln.Addr())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err = <-served:
	case <-ctx.Done():
		logger.Printf("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		err = srv.Shutdown(sctx)
		cancel()
		if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
			err = serr
		}
	}
	// Shutdown does not wait for WebSockets (hijacked connections): close
	// the pages ourselves.
	n := s.closeAll()
	logger.Printf("closed %d page(s); bye", n)
	return err
}

// server hands out the page and runs one session per WebSocket.
type server struct {
	clip *clip
	log  *log.Logger

	ctx    context.Context // done at shutdown: ends every session
	cancel context.CancelFunc
	nextID atomic.Int64 // the last page's number

	mu       sync.Mutex
	closed   bool           // no new sessions
	open     int            // running sessions
	sessions sync.WaitGroup // running sessions
}

func newServer(c *clip, logger *log.Logger) *server {
	ctx, cancel := context.WithCancel(context.Background())
	return &server{clip: c, log: logger, ctx: ctx, cancel: cancel}
}

// handler serves the page's files and, on /ws, the signalling WebSocket.
func (s *server) handler(page fs.FS) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /", http.FileServerFS(page))
	mux.HandleFunc("GET /ws", s.serveWS)
	return mux
}

// serveWS runs one page's session for as long as its WebSocket is open.
//
// It accepts WebSockets from our own page only: websocket.Accept refuses
// (403) an Origin whose host is not the request's, so a page from another
// site the browser has open gets no peer (and no camera echo) here. A
// request without an Origin is no browser page's, and is accepted.
func (s *server) serveWS(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	s.sessions.Add(1)
	s.open++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.open--
		s.mu.Unlock()
		s.sessions.Done()
	}()

	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		s.log.Printf("websocket from %s refused: %v", r.RemoteAddr, err)
		return // Accept has answered the request
	}
	id := s.nextID.Add(1)
	logger := log.New(s.log.Writer(), fmt.Sprintf("page %d: ", id), s.log.Flags()|log.Lmsgprefix)
	sess, err := newSession(s.ctx, ws, r.RemoteAddr, s.clip, logger)
	if err != nil {
		logger.Printf("cannot start: %v", err)
		_ = ws.Close(websocket.StatusInternalError, "cannot start a peer")
		return
	}
	sess.run()
}

// closeAll ends every session, waits for their peers to close, and returns
// how many were open.
func (s *server) closeAll() int {
	s.mu.Lock()
	s.closed = true
	n := s.open
	s.mu.Unlock()
	s.cancel()
	s.sessions.Wait()
	return n
}
