package simplepeer_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/webrtc/v3"
)

// Relaying through coturn, the TURN server most deployments run (Debian
// package coturn), on real UDP over loopback. Skipped when turnserver is
// not on PATH.

const (
	coturnUser = "simplepeer"
	coturnPass = "secret"
	// coturnStartTimeout bounds the wait for coturn's listener.
	coturnStartTimeout = 10 * time.Second
)

// TestCoturnRelay connects two relay-only peers through coturn and moves
// 4 MiB each way with Write and Read.
func TestCoturnRelay(t *testing.T) {
	port := startCoturn(t)
	config := webrtc.Configuration{
		ICETransportPolicy: webrtc.ICETransportPolicyRelay,
		ICEServers: []webrtc.ICEServer{{
			URLs:       []string{fmt.Sprintf("turn:127.0.0.1:%d?transport=udp", port)},
			Username:   coturnUser,
			Credential: coturnPass,
		}},
	}
	o1, o2 := testOptions(true), testOptions(false)
	o1.Config, o2.Config = &config, &config
	start := time.Now()
	p1, p2 := newPeerPair(t, o1, o2)
	connected(t, p1, p2)
	took := time.Since(start)
	for i, p := range []*simplepeer.Peer{p1, p2} {
		pair := selectedPair(t, p)
		// The remote is its relay: a relay candidate, or prflx when its
		// check came before its trickled candidate.
		if pair.Local.Typ != webrtc.ICECandidateTypeRelay ||
			(pair.Remote.Typ != webrtc.ICECandidateTypeRelay && pair.Remote.Typ != webrtc.ICECandidateTypePrflx) {
			t.Errorf("peer %d: %s, want a relay on both ends", i+1, describePair(pair))
		}
		t.Logf("peer %d: %s", i+1, describePair(pair))
	}
	start = time.Now()
	exchange(t, p1, p2, 4<<20)
	t.Logf("connected in %v; 4 MiB each way in %v", took.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	closeAll(t, p1, p2)
}

// startCoturn runs turnserver on a free 127.0.0.1 UDP port with
// long-term credentials, waits until its log says the listener is open,
// and kills it when the test ends. It skips the test when coturn is not
// installed.
func startCoturn(t *testing.T) int {
	t.Helper()
	path, err := exec.LookPath("turnserver")
	if err != nil {
		t.Skip("coturn not installed: apt-get install coturn")
	}
	port := freeUDPPort(t)
	dir := t.TempDir()
	cmd := exec.Command(path,
		"-n", // no config file: everything is on this command line
		"-v", // logs "UDP listener opened on", the ready signal
		// One thread, one listening socket. With a thread per core each
		// opens its own SO_REUSEPORT socket, the later ones after the
		// ready line, so a client's packets can move to a thread that
		// does not know its nonce: 438 Wrong nonce, which Pion's TURN
		// client does not retry (3 allocations in 20 runs failed).
		"--relay-threads=0",
		"--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
		fmt.Sprintf("--listening-port=%d", port),
		"--min-port=49152", "--max-port=65535",
		"--lt-cred-mech", "--user="+coturnUser+":"+coturnPass, "--realm=simplepeer.test",
		"--allow-loopback-peers", // coturn refuses relaying to 127.x otherwise
		"--no-cli", "--no-tls", "--no-dtls", "--no-tcp", "--no-tcp-relay",
		"--log-file=stdout", "--simple-log",
		"--pidfile="+dir+"/turnserver.pid", "--userdb="+dir+"/turndb",
	)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	log := &coturnLog{ready: make(chan struct{}), done: make(chan struct{})}
	go log.scan(out, fmt.Sprintf("UDP listener opened on: 127.0.0.1:%d", port))
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-log.done // read to EOF before Wait closes the pipe
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("coturn's log:\n%s", log.String())
		}
	})
	timer := time.NewTimer(coturnStartTimeout)
	defer timer.Stop()
	select {
	case <-log.ready:
	case <-log.done:
		t.Fatalf("coturn exited before it was ready:\n%s", log.String())
	case <-timer.C:
		t.Fatalf("coturn not ready within %v:\n%s", coturnStartTimeout, log.String())
	}
	return port
}

// coturnLog keeps coturn's output and closes ready at the line that
// says it listens, done at EOF.
type coturnLog struct {
	ready, done chan struct{}
	mu          sync.Mutex
	lines       []string
}

func (l *coturnLog) scan(r io.Reader, readyLine string) {
	defer close(l.done)
	s := bufio.NewScanner(r)
	seen := false
	for s.Scan() {
		l.mu.Lock()
		l.lines = append(l.lines, s.Text())
		l.mu.Unlock()
		if !seen && strings.Contains(s.Text(), readyLine) {
			seen = true
			close(l.ready)
		}
	}
}

// String returns the output so far.
func (l *coturnLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// freeUDPPort returns a UDP port on 127.0.0.1 that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}
