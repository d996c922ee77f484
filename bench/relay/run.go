package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/gosimplepeer/simplepeer/bench/internal/udpstat"
)

// row is one kind of connection: who sends and who receives.
type row struct {
	name             string
	sender, receiver string // "go" or "node"
}

var allRows = []row{
	{"node-node", "node", "node"},
	{"go-node", "go", "node"},
	{"node-go", "node", "go"},
	{"go-go", "go", "go"},
}

// bench is what every run shares: the TURN server and the Node processes
// (nodeA holds Node senders, nodeB Node receivers, so each Node peer has a
// process of its own, as each Go peer has a goroutine set of its own).
type bench struct {
	turn         *turnServer
	nodeA, nodeB *nodeHost
	bytes        int
	timeout      time.Duration
	relayWait    time.Duration // Go peers: SetRelayAcceptanceMinWait when >= 0
	verbose      bool
}

// sample is the outcome of one run of one row.
type sample struct {
	row              string
	setupMS, mibps   float64
	iceA, iceB       float64 // ICE RTT of the selected pair, ms, sender / receiver
	sctpA            float64 // SCTP smoothed RTT at the sender (Go only), ms
	lost, overflow   int64   // relay: random loss, full delay queue
	maxQueue         int64   // relay: longest delay queue, datagrams
	kernel           int64   // RcvbufErrors, machine-wide
	sndSock, rcvSock int64   // kernel drops at the sender's / receiver's sockets
	relSock          int64   // kernel drops at the relay's sockets
	pion             int64   // Pion's own drops, this process
	err              string
}

func (s sample) String() string {
	if s.err != "" {
		return fmt.Sprintf("%s: FAILED: %s", s.row, s.err)
	}
	return fmt.Sprintf("%s: setup %.0f ms, %.1f MiB/s, ICE RTT %.1f/%.1f ms, SCTP SRTT %.1f ms, relay lost %d overflow %d (queue max %d), kernel %d (sender sockets %d, receiver sockets %d, relay sockets %d), Pion %d",
		s.row, s.setupMS, s.mibps, s.iceA, s.iceB, s.sctpA, s.lost, s.overflow, s.maxQueue, s.kernel, s.sndSock, s.rcvSock, s.relSock, s.pion)
}

func (b *bench) endpoint(kind, name string, initiator bool, onSignal func([]byte), events chan<- event) (endpoint, error) {
	if kind == "go" {
		return newGoPeer(name, initiator, b.turn.url(), b.relayWait, onSignal, events, b.timeout)
	}
	h := b.nodeA
	if !initiator {
		h = b.nodeB
	}
	return h.newPeer(name, initiator, b.turn.url(), onSignal, events)
}

// courier carries signals to an endpoint that may not exist yet.
func courier(to *endpoint, in <-chan []byte, stop <-chan struct{}, events chan<- event, ready <-chan struct{}) {
	select {
	case <-ready:
	case <-stop:
		return
	}
	for {
		select {
		case s := <-in:
			if err := (*to).signal(s); err != nil {
				events <- event{kind: evError, err: fmt.Errorf("signal: %w", err)}
			}
		case <-stop:
			return
		}
	}
}

// runOnce connects a sender (initiator) and a receiver through the relay,
// transfers b.bytes of pattern(seed) and closes both. Throughput is
// bytes / (last byte verified at the receiver − first byte written by the
// sender), both read from CLOCK_MONOTONIC, for every row alike.
func (b *bench) runOnce(r row, seed uint32) (s sample) {
	s.row = r.name
	events := make(chan event, 256)
	sigAB, sigBA := make(chan []byte, 256), make(chan []byte, 256)
	stop, ready := make(chan struct{}), make(chan struct{})
	defer close(stop)
	var a, rcv endpoint
	go courier(&rcv, sigAB, stop, events, ready)
	go courier(&a, sigBA, stop, events, ready)
	send := func(ch chan<- []byte) func([]byte) {
		return func(m []byte) {
			select {
			case ch <- m:
			case <-stop:
			}
		}
	}

	start := time.Now()
	var err error
	if a, err = b.endpoint(r.sender, "a", true, send(sigAB), events); err != nil {
		s.err = "create sender: " + err.Error()
		return s
	}
	defer b.closeBoth(a, &rcv, events)
	if rcv, err = b.endpoint(r.receiver, "b", false, send(sigBA), events); err != nil {
		s.err = "create receiver: " + err.Error()
		return s
	}
	close(ready)
	deadline := time.After(b.timeout)
	if err := waitFor(events, deadline, evConnect, evConnect); err != nil {
		s.err = "connect: " + err.Error()
		return s
	}
	s.setupMS = float64(time.Since(start).Microseconds()) / 1000

	st := &b.turn.stats
	st.maxQueue.Store(0)
	_, lost0, over0 := st.snapshot()
	kern0, pion0 := udpstat.RcvbufErrors(), pionDrops.Load()
	sndPorts, rcvPorts, relPorts := a.ports(), rcv.ports(), b.turn.serverPorts()
	if b.verbose {
		fmt.Fprintf(os.Stderr, "%s: sender ports %v, receiver ports %v, relay ports %v\n", r.name, sndPorts, rcvPorts, relPorts)
	}
	snd0, rcv0, rel0 := socketDrops(sndPorts), socketDrops(rcvPorts), socketDrops(relPorts)
	if err := rcv.recv(b.bytes, seed); err != nil {
		s.err = "recv: " + err.Error()
		return s
	}
	if err := a.send(b.bytes, seed); err != nil {
		s.err = "send: " + err.Error()
		return s
	}
	var t0, t1 int64
	for t0 == 0 || t1 == 0 {
		select {
		case e := <-events:
			switch e.kind {
			case evSent:
				t0 = e.t
			case evReceived:
				t1 = e.t
			case evError:
				s.err = fmt.Sprintf("transfer (%s): %v", e.from, e.err)
				return s
			case evClose:
				s.err = fmt.Sprintf("transfer: %s closed", e.from)
				return s
			}
		case <-deadline:
			s.err = fmt.Sprintf("transfer: timeout after %v", b.timeout)
			return s
		}
	}
	_, lost1, over1 := st.snapshot()
	s.lost, s.overflow, s.maxQueue = lost1-lost0, over1-over0, st.maxQueue.Load()
	s.kernel, s.pion = udpstat.RcvbufErrors()-kern0, pionDrops.Load()-pion0
	s.sndSock, s.rcvSock = socketDrops(sndPorts)-snd0, socketDrops(rcvPorts)-rcv0
	s.relSock = socketDrops(b.turn.serverPorts()) - rel0
	s.mibps = float64(b.bytes) / (1 << 20) / (float64(t1-t0) / 1e9)
	iceA, sctpA := a.stats()
	iceB, _ := rcv.stats()
	s.iceA, s.sctpA, s.iceB = ms(iceA), ms(sctpA), ms(iceB)
	return s
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// waitFor waits until events has delivered the kinds wanted, in any order.
func waitFor(events <-chan event, deadline <-chan time.Time, want ...eventKind) error {
	for len(want) > 0 {
		select {
		case e := <-events:
			switch e.kind {
			case evError:
				return fmt.Errorf("%s: %w", e.from, e.err)
			case evClose:
				return fmt.Errorf("%s closed", e.from)
			}
			for i, k := range want {
				if k == e.kind {
					want = append(want[:i], want[i+1:]...)
					break
				}
			}
		case <-deadline:
			return errors.New("timeout")
		}
	}
	return nil
}

// closeBoth closes both ends and waits (up to 10 s) for the Node ones to
// report close, so that the next run starts on a quiet machine (a Go
// peer's Close returns when it is closed).
func (b *bench) closeBoth(a endpoint, rcv *endpoint, events <-chan event) {
	waiting := map[string]bool{}
	for name, e := range map[string]endpoint{"a": a, "b": *rcv} {
		if e == nil {
			continue
		}
		if _, ok := e.(*nodePeer); ok {
			waiting[name] = true
		}
		e.close()
	}
	timeout := time.After(10 * time.Second)
	for len(waiting) > 0 {
		select {
		case e := <-events:
			if e.kind == evClose {
				delete(waiting, e.from)
			}
		case <-timeout:
			return
		}
	}
}
