package interop

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
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

// startChromium serves js/page.html and pkg's browser bundle on
// 127.0.0.1, starts headless Chromium on it, and returns the page as a host
// once its WebSocket is connected. Chromium's output goes to
// out/<pkg.log>.log.
func startChromium(pkg browserPackage) func(*testing.T) *jsHost {
	return func(t *testing.T) *jsHost {
		t.Helper()
		if _, err := os.Stat(chromiumPath); err != nil {
			t.Fatalf("%s is missing: run interop/run.sh (apt-get install chromium): %v", chromiumPath, err)
		}
		h, url := servePage(t, pkg)
		profile, err := os.MkdirTemp(outDir, "chromium-profile-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(profile) }) // after Chromium is stopped
		return launchPage(t, h, pkg.log, chromiumPath, append(chromiumFlags(profile), url))
	}
}

// browserProcess is a running browser: exited is closed when it ends,
// and err is then its exit status.
type browserProcess struct {
	exited chan struct{}
	err    error
}

// runChromium starts Chromium with args, its output to out (see
// runBrowser).
func runChromium(t *testing.T, args []string, out io.Writer) *browserProcess {
	t.Helper()
	return runBrowser(t, chromiumPath, args, out)
}

// runBrowser starts the browser at path with args, its output to out, in a
// process group of its own, and stops the whole group (the browser and its
// helpers) when the test ends. Cleanups registered before the call run
// after that.
func runBrowser(t *testing.T, path string, args []string, out io.Writer) *browserProcess {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second // helpers holding the output pipe
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", filepath.Base(path), err)
	}
	p := &browserProcess{exited: make(chan struct{})}
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
