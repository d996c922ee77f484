package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/ice/v2"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v3"
)

// chunk is the size of each Write and Read of a Go peer (the library splits
// writes into 16 KiB messages).
const chunk = 64 << 10

// goPeer is a simplepeer Peer forced through the TURN server.
type goPeer struct {
	p       *simplepeer.Peer
	name    string
	events  chan<- event
	timeout time.Duration

	mu       sync.Mutex
	outPorts []int
}

// newGoPeer creates a Peer with the library's DefaultSettingEngine (plus
// mDNS off, a logger that counts Pion's drops and, when relayWait >= 0,
// that relay acceptance wait) and a configuration that allows relay
// candidates only. Its signals go to onSignal as JSON.
func newGoPeer(name string, initiator bool, turnURL string, relayWait time.Duration, onSignal func([]byte), events chan<- event, timeout time.Duration) (*goPeer, error) {
	se := simplepeer.DefaultSettingEngine()
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.LoggerFactory = dropCounter{}
	if relayWait >= 0 {
		se.SetRelayAcceptanceMinWait(relayWait)
	}
	p, err := simplepeer.New(&simplepeer.Options{
		Initiator:     initiator,
		SettingEngine: se,
		Config: &webrtc.Configuration{
			ICETransportPolicy: webrtc.ICETransportPolicyRelay,
			ICEServers:         []webrtc.ICEServer{{URLs: []string{turnURL}, Username: turnUser, Credential: turnPass}},
		},
	})
	if err != nil {
		return nil, err
	}
	g := &goPeer{p: p, name: name, events: events, timeout: timeout}
	p.OnSignal(func(s simplepeer.Signal) {
		if s.Candidate != nil {
			if port := candidatePort(s.Candidate.Candidate); port > 0 {
				g.mu.Lock()
				g.outPorts = append(g.outPorts, port)
				g.mu.Unlock()
			}
		}
		b, err := json.Marshal(s)
		if err != nil {
			g.report(event{kind: evError, err: err})
			return
		}
		onSignal(b)
	})
	p.OnConnect(func() { g.report(event{kind: evConnect}) })
	p.OnError(func(err error) { g.report(event{kind: evError, err: err}) })
	p.OnClose(func() { g.report(event{kind: evClose}) })
	return g, nil
}

func (g *goPeer) report(e event) {
	e.from = g.name
	select {
	case g.events <- e:
	default: // the run is over and nobody listens any more
	}
}

func (g *goPeer) signal(data []byte) error {
	var s simplepeer.Signal
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	return g.p.Signal(s)
}

func (g *goPeer) recv(n int, seed uint32) error {
	want := pattern(n, seed)
	_ = g.p.SetReadDeadline(time.Now().Add(g.timeout))
	go func() {
		buf := make([]byte, chunk)
		for got := 0; got < n; {
			k, err := g.p.Read(buf)
			switch {
			case err != nil:
				g.report(event{kind: evError, err: fmt.Errorf("read after %d bytes: %w", got, err)})
				return
			case got+k > n || !bytes.Equal(buf[:k], want[got:got+k]):
				g.report(event{kind: evError, err: fmt.Errorf("data corrupted at byte %d", got)})
				return
			}
			got += k
		}
		g.report(event{kind: evReceived, t: monotonic()})
	}()
	return nil
}

func (g *goPeer) send(n int, seed uint32) error {
	data := pattern(n, seed)
	_ = g.p.SetWriteDeadline(time.Now().Add(g.timeout))
	go func() {
		g.report(event{kind: evSent, t: monotonic()})
		for off := 0; off < n; off += chunk {
			if _, err := g.p.Write(data[off:min(off+chunk, n)]); err != nil {
				g.report(event{kind: evError, err: fmt.Errorf("write at byte %d: %w", off, err)})
				return
			}
		}
	}()
	return nil
}

func (g *goPeer) stats() (iceRTT, sctpRTT time.Duration) {
	sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	for _, s := range g.p.GetStats() {
		switch s := s.(type) {
		case webrtc.ICECandidatePairStats:
			if s.State == webrtc.StatsICECandidatePairStateSucceeded && s.CurrentRoundTripTime > 0 && (s.Nominated || iceRTT == 0) {
				iceRTT = sec(s.CurrentRoundTripTime)
			}
		case webrtc.SCTPTransportStats:
			sctpRTT = sec(s.SmoothedRoundTripTime)
		}
	}
	return iceRTT, sctpRTT
}

func (g *goPeer) ports() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]int(nil), g.outPorts...)
}

func (g *goPeer) close() { _ = g.p.Close() }

// pionDrops counts packets Pion dropped itself, process-wide: its TURN
// client's read queue (1,024 datagrams) is full ("Receive buffer full"),
// or its ICE/mux buffers or SCTP's receive buffer are.
var pionDrops atomic.Int64

// dropCounter is a Pion logger factory that prints nothing and counts the
// messages Pion logs when it drops a packet. The library wraps it in its
// redacting logger, which passes each message as one "%v" argument, so
// messages are formatted (all but Trace, which Pion uses per packet).
type dropCounter struct{}

func (dropCounter) NewLogger(string) logging.LeveledLogger { return dropCounter{} }

func (dropCounter) count(msg string) {
	if strings.Contains(msg, "Receive buffer full") || strings.Contains(msg, "dropping") ||
		strings.Contains(msg, "Failed to write packet") {
		pionDrops.Add(1)
	}
}

func (dropCounter) Trace(string)                     {}
func (dropCounter) Tracef(string, ...any)            {}
func (d dropCounter) Debug(msg string)               { d.count(msg) }
func (d dropCounter) Debugf(format string, a ...any) { d.count(fmt.Sprintf(format, a...)) }
func (d dropCounter) Info(msg string)                { d.count(msg) }
func (d dropCounter) Infof(format string, a ...any)  { d.count(fmt.Sprintf(format, a...)) }
func (d dropCounter) Warn(msg string)                { d.count(msg) }
func (d dropCounter) Warnf(format string, a ...any)  { d.count(fmt.Sprintf(format, a...)) }
func (d dropCounter) Error(msg string)               { d.count(msg) }
func (d dropCounter) Errorf(format string, a ...any) { d.count(fmt.Sprintf(format, a...)) }
