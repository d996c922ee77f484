package interop

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// A browserPackage is the simple-peer a page runs: its browser bundle,
// which defines the global SimplePeer.
type browserPackage struct {
	log    string                    // the host's name and log file (name.log)
	bundle func(t *testing.T) string // returns the bundle's path
}

// simplePeerBundle is simple-peer 9.11.1's own browser bundle.
func simplePeerBundle(t *testing.T) string {
	t.Helper()
	bundle := filepath.Join("node_modules", "simple-peer", "simplepeer.min.js")
	if _, err := os.Stat(bundle); err != nil {
		t.Fatalf("simple-peer's browser bundle is missing: run interop/run.sh (or npm ci in interop/): %v", err)
	}
	return bundle
}

// forkBundle bundles @thaunknown/simple-peer for the browser with esbuild
// (js/thaunknown-entry.js; the npm package events stands in for Node's),
// into out/, once per run: the fork ships no browser bundle.
var forkBundle = sync.OnceValues(func() (string, error) {
	out := filepath.Join(outDir, "thaunknown-simple-peer.js")
	cmd := exec.Command(filepath.Join("node_modules", ".bin", "esbuild"), filepath.Join("js", "thaunknown-entry.js"),
		"--bundle", "--format=iife", "--platform=browser", "--log-level=warning", "--outfile="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("esbuild: %v: %s", err, b)
	}
	return out, nil
})

func thaunknownBundle(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join("node_modules", "@thaunknown", "simple-peer", "package.json")); err != nil {
		t.Fatalf("@thaunknown/simple-peer is missing: run interop/run.sh (or npm ci in interop/): %v", err)
	}
	bundle, err := forkBundle()
	if err != nil {
		t.Fatalf("bundling @thaunknown/simple-peer for the browser: %v", err)
	}
	return bundle
}

// servePage serves js/page.html, driver.js and pkg's browser bundle on
// 127.0.0.1 and returns the host the page becomes once it connects its
// WebSocket back, and the page's URL. Everything is stopped at the test's
// end, after the browser (launched later) is.
func servePage(t *testing.T, pkg browserPackage) (*jsHost, string) {
	t.Helper()
	name := pkg.log
	bundle := pkg.bundle(t)
	var conn atomic.Pointer[websocket.Conn]
	h := newJSHost(name, func(b []byte) error {
		c := conn.Load()
		if c == nil {
			return errors.New("page not connected")
		}
		ctx, cancel := context.WithTimeout(context.Background(), pageWriteTimeout)
		defer cancel()
		return c.Write(ctx, websocket.MessageText, b)
	})
	var attached atomic.Bool
	wsDone := make(chan struct{})
	// The page is served from this origin, which websocket.Accept accepts.
	ws := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !attached.CompareAndSwap(false, true) {
			http.Error(w, "one page only", http.StatusConflict)
			return
		}
		defer close(wsDone)
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			h.hostGone(err)
			return
		}
		c.SetReadLimit(16 << 20)
		conn.Store(c)
		for {
			_, msg, err := c.Read(context.Background())
			if err != nil {
				h.hostGone(err)
				return
			}
			h.dispatch(msg)
		}
	})

	mux := http.NewServeMux()
	serve := func(path, file, ctype string) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != path {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", ctype)
			w.Header().Set("Cache-Control", "no-store")
			http.ServeFile(w, r, file)
		})
	}
	serve("/", filepath.Join("js", "page.html"), "text/html; charset=utf-8")
	serve("/driver.js", filepath.Join("js", "driver.js"), "text/javascript")
	serve("/simplepeer.min.js", bundle, "text/javascript")
	mux.Handle("/ws", ws)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	srvDone := make(chan struct{})
	go func() {
		defer close(srvDone)
		_ = srv.Serve(ln)
	}()
	// Registered before the browser's cleanup, so it runs after it.
	t.Cleanup(func() {
		_ = srv.Close()
		<-srvDone
		if c := conn.Load(); c != nil {
			_ = c.CloseNow() // a hijacked connection outlives srv.Close
		}
		if attached.Load() {
			select {
			case <-wsDone:
			case <-time.After(5 * time.Second):
				t.Errorf("the %s page's WebSocket handler did not end", name)
			}
		}
	})
	return h, "http://" + ln.Addr().String() + "/"
}

// launchPage runs the browser at path with args (which open the page) and
// returns h once the page is ready. The browser's output goes to
// out/<name>.log.
func launchPage(t *testing.T, h *jsHost, name, path string, args []string) *jsHost {
	t.Helper()
	logPath := filepath.Join(outDir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = logf.Close() }) // after the browser is stopped
	browser := runBrowser(t, path, args, logf)
	select {
	case ev := <-h.ready:
		t.Logf("%s page ready: %s", name, ev.Versions)
	case <-browser.exited:
		t.Fatalf("%s exited before the page was ready: %v (see %s)", name, browser.err, logPath)
	case <-time.After(30 * time.Second):
		t.Fatalf("%s page not ready within 30 s (see %s)", name, logPath)
	}
	return h
}
