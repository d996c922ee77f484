package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// nodeHost is one Node process running interop/js/relay-peer.js, talked to
// over its stdin and stdout, one JSON object a line. Its stderr goes to
// this program's stderr; with RELAY_DEBUG=1 in the environment the Node
// peers' signals are printed there too.
type nodeHost struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{} // closed when stdout ends

	wmu sync.Mutex // serializes writes to stdin

	mu     sync.Mutex
	peers  map[string]*nodePeer
	nextID int
}

// nodeMsg is an event line from relay-peer.js.
type nodeMsg struct {
	Ev       string          `json:"ev"`
	ID       string          `json:"id"`
	Data     json.RawMessage `json:"data"`
	T0       string          `json:"t0"`
	T1       string          `json:"t1"`
	RTT      *float64        `json:"rtt"`
	Code     string          `json:"code"`
	Message  string          `json:"message"`
	Versions json.RawMessage `json:"versions"`
}

// startNode runs relay-peer.js from dir (the interop directory, which holds
// node_modules) and waits until it is ready. It returns the versions it
// reports.
func startNode(dir string) (*nodeHost, string, error) {
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@roamhq", "wrtc", "package.json")); err != nil {
		return nil, "", fmt.Errorf("%s/node_modules is missing: run `cd %s && npm ci` first (simple-peer@9.11.1, @roamhq/wrtc@0.10.0)", dir, dir)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, "", fmt.Errorf("node is not installed: %w", err)
	}
	cmd := exec.Command(node, filepath.Join(dir, "js", "relay-peer.js"))
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, "", err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("start node: %w", err)
	}
	h := &nodeHost{cmd: cmd, stdin: stdin, done: make(chan struct{}), peers: map[string]*nodePeer{}}
	ready := make(chan string, 1)
	go h.readLoop(stdout, ready)
	select {
	case v := <-ready:
		return h, v, nil
	case <-h.done:
		h.close()
		return nil, "", errors.New("node exited before it was ready")
	case <-time.After(20 * time.Second):
		h.close()
		return nil, "", errors.New("node not ready within 20 s")
	}
}

func (h *nodeHost) readLoop(r io.Reader, ready chan<- string) {
	defer close(h.done)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var m nodeMsg
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			fmt.Fprintf(os.Stderr, "relay: bad line from node: %q\n", sc.Bytes())
			continue
		}
		if m.Ev == "ready" {
			ready <- string(m.Versions)
			continue
		}
		h.mu.Lock()
		p := h.peers[m.ID]
		h.mu.Unlock()
		switch {
		case p != nil:
			p.handle(m)
		case m.Ev == "fault":
			fmt.Fprintf(os.Stderr, "relay: node fault: %s\n", m.Message)
		}
	}
}

func (h *nodeHost) write(cmd map[string]any) error {
	b, err := json.Marshal(cmd)
	if err != nil {
		return err
	}
	h.wmu.Lock()
	defer h.wmu.Unlock()
	_, err = h.stdin.Write(append(b, '\n'))
	return err
}

// close ends the process: relay-peer.js exits when its stdin closes.
func (h *nodeHost) close() {
	_ = h.stdin.Close()
	waited := make(chan struct{})
	go func() { _ = h.cmd.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
		<-waited
	}
}

// nodePeer is one simple-peer in a nodeHost.
type nodePeer struct {
	h        *nodeHost
	id, name string
	onSignal func([]byte)
	events   chan<- event
	rtt      chan float64
}

// newPeer creates a simple-peer forced through the TURN server at turnURL.
func (h *nodeHost) newPeer(name string, initiator bool, turnURL string, onSignal func([]byte), events chan<- event) (*nodePeer, error) {
	h.mu.Lock()
	h.nextID++
	p := &nodePeer{h: h, id: strconv.Itoa(h.nextID), name: name, onSignal: onSignal, events: events, rtt: make(chan float64, 1)}
	h.peers[p.id] = p
	h.mu.Unlock()
	servers := []map[string]any{{"urls": turnURL, "username": turnUser, "credential": turnPass}}
	return p, h.write(map[string]any{"op": "new", "id": p.id, "initiator": initiator, "iceServers": servers})
}

func (p *nodePeer) handle(m nodeMsg) {
	switch m.Ev {
	case "signal":
		if os.Getenv("RELAY_DEBUG") != "" {
			fmt.Fprintf(os.Stderr, "node %s signal: %.300s\n", p.name, m.Data)
		}
		p.onSignal(m.Data)
	case "connect":
		p.report(event{kind: evConnect})
	case "sent":
		t, _ := strconv.ParseInt(m.T0, 10, 64)
		p.report(event{kind: evSent, t: t})
	case "received":
		t, _ := strconv.ParseInt(m.T1, 10, 64)
		p.report(event{kind: evReceived, t: t})
	case "stats":
		rtt := 0.0
		if m.RTT != nil {
			rtt = *m.RTT
		}
		p.rtt <- rtt
	case "error", "fault":
		p.report(event{kind: evError, err: fmt.Errorf("node %s: %s %s", p.name, m.Code, m.Message)})
	case "close":
		p.h.mu.Lock()
		delete(p.h.peers, p.id)
		p.h.mu.Unlock()
		p.report(event{kind: evClose})
	}
}

func (p *nodePeer) report(e event) {
	e.from = p.name
	select {
	case p.events <- e:
	default: // the run is over and nobody listens any more
	}
}

func (p *nodePeer) signal(data []byte) error {
	return p.h.write(map[string]any{"op": "signal", "id": p.id, "data": json.RawMessage(data)})
}

func (p *nodePeer) recv(n int, seed uint32) error {
	return p.h.write(map[string]any{"op": "recv", "id": p.id, "bytes": n, "seed": seed})
}

// send makes simple-peer write 16 KiB chunks: what the Go peers' Write
// puts in each message, and what every simple-peer accepts.
func (p *nodePeer) send(n int, seed uint32) error {
	return p.h.write(map[string]any{"op": "send", "id": p.id, "bytes": n, "seed": seed, "chunk": 16 << 10})
}

func (p *nodePeer) stats() (iceRTT, sctpRTT time.Duration) {
	if p.h.write(map[string]any{"op": "stats", "id": p.id}) != nil {
		return 0, 0
	}
	select {
	case s := <-p.rtt:
		return time.Duration(s * float64(time.Second)), 0
	case <-time.After(5 * time.Second):
		return 0, 0
	}
}

// ports returns the ports of every UDP socket of the peer's Node process,
// which holds this peer only.
func (p *nodePeer) ports() []int { return processPorts(p.h.cmd.Process.Pid) }

func (p *nodePeer) close() { _ = p.h.write(map[string]any{"op": "destroy", "id": p.id}) }
