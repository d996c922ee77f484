package interop

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

const chromiumPath = "/usr/bin/chromium"

// pageWriteTimeout bounds sending one command to the page.
const pageWriteTimeout = 30 * time.Second

// chromiumFlags are the flags every run uses: headless, no network of its own
// (no background requests, QUIC, sync or component updates on this closed
// network), a fresh profile, and fake camera and microphone granted without a
// prompt.
func chromiumFlags(profile string) []string {
	flags := []string{
		"--headless",
		"--no-sandbox",
		"--disable-gpu",
		"--disable-quic",
		"--no-first-run",
		"--disable-background-networking",
		"--disable-component-update",
		"--disable-sync",
		"--user-data-dir=" + profile,
		"--use-fake-device-for-media-stream",
		"--use-fake-ui-for-media-stream",
		"--autoplay-policy=no-user-gesture-required",
	}
	if os.Getenv("INTEROP_CHROMIUM_MDNS") == "" {
		// Chromium hides host addresses behind random .local names and
		// answers mDNS queries for them. That means multicast on the LAN;
		// the suite stays on this machine, so it signals plain addresses.
		flags = append(flags, "--disable-features=WebRtcHideLocalIpsWithMdns")
	}
	return flags
}

// startChromium serves js/page.html and simple-peer's browser bundle on
// 127.0.0.1, starts headless Chromium on it, and returns the page as a host
// once its WebSocket is connected. Chromium's output goes to
// out/chromium.log.
func startChromium(t *testing.T) *jsHost {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s is missing: run interop/run.sh (apt-get install chromium): %v", chromiumPath, err)
	}
	bundle := filepath.Join("node_modules", "simple-peer", "simplepeer.min.js")
	if _, err := os.Stat(bundle); err != nil {
		t.Fatalf("simple-peer's browser bundle is missing: run interop/run.sh (or npm ci in interop/): %v", err)
	}

	var conn atomic.Pointer[websocket.Conn]
	h := newJSHost("chromium", func(b []byte) error {
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

	profile, err := os.MkdirTemp(outDir, "chromium-profile-")
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(outDir, "chromium.log"))
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/"
	// Registered first, so it runs after Chromium is stopped.
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
				t.Errorf("the page's WebSocket handler did not end")
			}
		}
		_ = logf.Close()
		_ = os.RemoveAll(profile)
	})
	chromium := runChromium(t, append(chromiumFlags(profile), url), logf)

	select {
	case ev := <-h.ready:
		t.Logf("chromium page ready: %s", ev.Versions)
	case <-chromium.exited:
		t.Fatalf("chromium exited before the page was ready: %v (see %s)", chromium.err, filepath.Join(outDir, "chromium.log"))
	case <-time.After(30 * time.Second):
		t.Fatalf("chromium page not ready within 30 s (see %s)", filepath.Join(outDir, "chromium.log"))
	}
	return h
}

// chromiumProcess is a running Chromium: exited is closed when it ends,
// and err is then its exit status.
type chromiumProcess struct {
	exited chan struct{}
	err    error
}

// runChromium starts Chromium with args, its output to out, in a process
// group of its own, and stops the whole group (Chromium and its helpers)
// when the test ends. Cleanups registered before the call run after that.
func runChromium(t *testing.T, args []string, out io.Writer) *chromiumProcess {
	t.Helper()
	cmd := exec.Command(chromiumPath, args...)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second // helpers holding the output pipe
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	p := &chromiumProcess{exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-p.exited
		}
	})
	return p
}
