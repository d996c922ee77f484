package interop

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/ice/v2"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v3"
)

// goPeer wraps a simplepeer.Peer with channels the test can wait on.
type goPeer struct {
	p *simplepeer.Peer

	connected  chan struct{}
	connectAt  time.Time
	closed     chan struct{}
	closedAt   time.Time
	data       chan []byte
	tracks     chan *webrtc.TrackRemote
	negotiated counter
	signals    timeline[simplepeer.Signal]         // what the Go peer signalled
	ice        timeline[webrtc.ICEConnectionState] // its ICE connection states

	mu     sync.Mutex
	errors []error
}

// goOptions are the Go peer's options: simple-peer's defaults but for the
// network, which is this machine's loopback interface only, with no ICE
// servers and no mDNS (which would send multicast queries on the LAN).
// Everything else, the library's tuned SettingEngine included, is as a user
// gets it.
func goOptions(initiator, trickle bool) *simplepeer.Options {
	se := simplepeer.DefaultSettingEngine()
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	o := &simplepeer.Options{
		Initiator:      initiator,
		DisableTrickle: !trickle,
		Config:         &webrtc.Configuration{},
		SettingEngine:  se,
	}
	if goLog != nil {
		// INTEROP_DEBUG: the library's debug output and Pion's (SCTP
		// retransmission timeouts, ICE pair changes), in out/go.log; more
		// with Pion's PION_LOG_TRACE=scope,....
		lf := logging.NewDefaultLoggerFactory()
		lf.Writer = goLog
		lf.DefaultLogLevel = max(lf.DefaultLogLevel, logging.LogLevelDebug)
		o.LoggerFactory = lf
	}
	return o
}

// goLog is out/go.log when INTEROP_DEBUG is set (TestMain opens it).
var goLog *os.File

// pair is one Go peer connected (or connecting) to one JS peer.
type pair struct {
	t       *testing.T
	host    *jsHost
	goInit  bool
	trickle bool
	label   string
	start   time.Time

	g         *goPeer
	js        *jsPeer
	jsSignals timeline[json.RawMessage] // what the JS peer signalled

	wg sync.WaitGroup // RTP readers, which end when the Go peer closes
}

// newPair creates both peers and wires their signals to each other. It does
// not wait for connect (see connect).
func newPair(t *testing.T, host *jsHost, goInitiator, trickle bool, tunes ...func(*simplepeer.Options)) *pair {
	t.Helper()
	pr := &pair{t: t, host: host, goInit: goInitiator, trickle: trickle, label: roleName(goInitiator) + "/" + trickleName(trickle)}
	g := &goPeer{
		connected: make(chan struct{}),
		closed:    make(chan struct{}),
		data:      make(chan []byte, 256),
		tracks:    make(chan *webrtc.TrackRemote, 16),
	}
	g.negotiated.init()
	pr.g = g

	// JS → Go: signals arrive on the host's reader goroutine, in order.
	goReady := make(chan struct{})
	pr.js = host.newPeer(func(raw json.RawMessage) {
		<-goReady // closed before the JS peer exists
		pr.trace("js→go %s", raw)
		pr.jsSignals.add(raw)
		s, err := simplepeer.ParseSignal(raw)
		if err != nil {
			g.addError(err)
			return
		}
		if err := g.p.Signal(s); err != nil {
			g.addError(err)
		}
	})

	pr.js.trace = pr.trace
	pr.start = time.Now()
	o := goOptions(goInitiator, trickle)
	if host.name == "firefox" {
		// Firefox does not pair its own (non-loopback) host candidate
		// with a loopback one of ours. Its first connect works anyway,
		// because we check its candidates, but after an ICE restart with
		// trickle off simple-peer 9.11.1 answers without candidates (its
		// gathering flag stays set) and only Firefox's checks could find
		// the new pair: so the Go peer offers its other interfaces too, as
		// a Go server would. All of them are on this machine.
		o.SettingEngine.SetInterfaceFilter(func(string) bool { return true })
	}
	for _, tune := range tunes {
		tune(o)
	}
	p, err := simplepeer.New(o)
	if err != nil {
		t.Fatalf("simplepeer.New: %v", err)
	}
	g.p = p
	close(goReady)
	p.OnConnect(func() {
		g.connectAt = time.Now()
		pr.trace("go connect")
		close(g.connected)
	})
	p.OnData(func(b []byte) {
		select {
		case g.data <- b:
		default:
			g.addError(errQueueFull)
		}
	})
	p.OnNegotiated(g.negotiated.inc)
	p.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { g.tracks <- tr })
	p.OnError(g.addError)
	p.OnICEStateChange(func(ice webrtc.ICEConnectionState, gathering webrtc.ICEGatheringState) {
		pr.trace("go ice %s gathering %s", ice, gathering)
		if n := g.ice.since(0); len(n) == 0 || n[len(n)-1].v != ice {
			g.ice.add(ice) // the handler also runs for gathering changes
		}
	})
	p.OnClose(func() {
		g.closedAt = time.Now()
		pr.trace("go close")
		close(g.closed)
	})
	// The JS peer is created before the Go peer's signals are let out (the
	// library holds events until their handler is set), so that the Go
	// initiator's offer finds it: commands run in the order sent.
	host.post(map[string]any{"op": "new", "id": pr.js.id, "initiator": !goInitiator, "trickle": trickle})
	jsID := pr.js.id
	p.OnSignal(func(s simplepeer.Signal) {
		b, err := json.Marshal(s)
		if err != nil {
			g.addError(err)
			return
		}
		pr.trace("go→js %s", b)
		g.signals.add(s)
		host.post(map[string]any{"op": "signal", "id": jsID, "data": json.RawMessage(b)})
	})
	t.Cleanup(pr.close)
	return pr
}

type errString string

func (e errString) Error() string { return string(e) }

const errQueueFull = errString("data dropped: test queue full")

func (g *goPeer) addError(err error) {
	g.mu.Lock()
	g.errors = append(g.errors, err)
	g.mu.Unlock()
}

func (g *goPeer) errs() []error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]error(nil), g.errors...)
}

// clearErrors forgets the errors seen so far, once a check has accounted
// for them.
func (g *goPeer) clearErrors() {
	g.mu.Lock()
	g.errors = nil
	g.mu.Unlock()
}

// connect waits for connect on both sides and returns the connect time: from
// the creation of the peers to the later of the two connect events, as seen
// by the test.
func (pr *pair) connect(timeout time.Duration) (time.Duration, bool) {
	t := pr.t
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	var goDone, jsDone bool
	for !goDone || !jsDone {
		select {
		case <-pr.g.connected:
			goDone = true
			pr.g.connected = nil // a nil channel never fires again
		case <-pr.js.connected:
			jsDone = true
			pr.js.connected = nil
		case <-deadline.C:
			t.Errorf("connect: not within %v (Go connected: %v, JS connected: %v); Go errors: %v; JS errors: %v",
				timeout, goDone, jsDone, pr.g.errs(), pr.js.errs())
			return 0, false
		}
	}
	end := pr.g.connectAt
	if pr.js.connectEv.at.After(end) {
		end = pr.js.connectEv.at
	}
	return end.Sub(pr.start), true
}

// close tears both peers down (test cleanup): whatever is still open.
func (pr *pair) close() {
	if pr.g.p != nil {
		pr.g.p.Destroy(nil)
	}
	pr.wg.Wait()
	select {
	case <-pr.js.closed:
	default:
		if _, err := pr.js.cmd("destroy", nil); err == nil {
			waitChan(pr.js.closed, 2*time.Second)
		}
	}
}

// checkClean reports errors either side recorded.
func (pr *pair) checkClean() {
	pr.t.Helper()
	if errs := pr.g.errs(); len(errs) > 0 {
		pr.t.Errorf("Go peer errors: %v", errs)
	}
	if errs := pr.js.errs(); len(errs) > 0 {
		pr.t.Errorf("JS peer errors: %v", errs)
	}
	if f := pr.host.takeFaults(); len(f) > 0 {
		pr.t.Errorf("%s faults: %v", pr.host.name, f)
	}
}

// trace appends a line to out/trace.log: every signal, with the time since
// the pair was created, for diagnosing slow connects and failed
// negotiations.
func (pr *pair) trace(format string, args ...any) {
	traceLog.printf("%s %s +%.1fms %s", pr.js.id, pr.label, float64(time.Since(pr.start).Microseconds())/1000, fmt.Sprintf(format, args...))
}

type traceFile struct {
	mu sync.Mutex
	f  *os.File
}

var traceLog traceFile

func (l *traceFile) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		fmt.Fprintf(l.f, format+"\n", args...)
	}
}
