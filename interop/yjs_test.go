package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer/signalserver"
)

// yjsTimeout bounds the whole of TestYjsThroughSignalserver.
const yjsTimeout = 30 * time.Second

// TestYjsThroughSignalserver runs two y-webrtc 10.3.0 providers, each in a
// Node process of its own (js/yjs-peer.mjs, WebRTC on @roamhq/wrtc), in one
// room of our signalserver. They find each other through it, connect over
// WebRTC and sync a Yjs text: one edits, the other sees the edit, then the
// other way round. Separate processes keep y-webrtc's BroadcastChannel
// path out of it (it only reaches providers of the same process), and the
// test checks that neither provider has a BroadcastChannel peer, so the
// edits can only have come over the data channels.
func TestYjsThroughSignalserver(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), yjsTimeout)
	defer cancel()

	srv := signalserver.New(nil)
	hs := httptest.NewServer(srv) // 127.0.0.1, a free port
	t.Cleanup(hs.Close)
	t.Cleanup(func() { _ = srv.Close() }) // before hs.Close, after the peers have gone
	url := "ws" + strings.TrimPrefix(hs.URL, "http")
	room := fmt.Sprintf("simplepeer-interop-%d", time.Now().UnixNano())

	a := startYjsPeer(t, "a")
	b := startYjsPeer(t, "b")
	for _, p := range []*yjsPeer{a, b} {
		ev := p.await(ctx, t, "ready", func(ev yjsEvent) bool { return ev.Ev == "ready" })
		t.Logf("yjs peer %s ready: %s", p.name, ev.Versions)
	}

	// One after the other: a provider announces itself once, when its
	// signalling connection opens, and only the providers already in the
	// room hear it. So b joins once the server has a subscribed (it relays
	// a's own announce back to it).
	for _, p := range []*yjsPeer{a, b} {
		p.send(t, map[string]any{"cmd": "join", "url": url, "room": room})
		p.await(ctx, t, "subscribed to the room", func(ev yjsEvent) bool { return ev.Ev == "subscribed" })
	}

	for _, p := range []*yjsPeer{a, b} {
		connected, synced := false, false
		p.await(ctx, t, "a connected WebRTC peer and synced", func(ev yjsEvent) bool {
			switch ev.Ev {
			case "peers":
				if ev.BcPeers != 0 {
					t.Fatalf("yjs peer %s: %d BroadcastChannel peers, want 0 (separate processes)", p.name, ev.BcPeers)
				}
				if ev.WebrtcPeers > 1 {
					t.Fatalf("yjs peer %s: %d WebRTC peers, want 1", p.name, ev.WebrtcPeers)
				}
				connected = ev.WebrtcPeers == 1 && ev.Connected == 1
			case "synced":
				synced = ev.Synced
			}
			return connected && synced
		})
		t.Logf("yjs peer %s: WebRTC peer connected, synced", p.name)
	}

	edit := func(from, to *yjsPeer, insert, want string) {
		t.Helper()
		from.send(t, map[string]any{"cmd": "insert", "text": insert})
		from.awaitText(ctx, t, true, want)
		ev := to.awaitText(ctx, t, false, want)
		if ev.Rx == 0 {
			t.Fatalf("yjs peer %s saw the edit with no WebRTC message received", to.name)
		}
		t.Logf("yjs peer %s edited, %s sees %q (%d data-channel messages received so far)", from.name, to.name, ev.Value, ev.Rx)
	}
	edit(a, b, "hello from a", "hello from a")
	edit(b, a, ", hello from b", "hello from a, hello from b")

	// The signalling frames each provider sent: the server drops nothing,
	// but it ignores types it does not know.
	var sent, received int
	for _, p := range []*yjsPeer{a, b} {
		p.send(t, map[string]any{"cmd": "stats"})
		ev := p.await(ctx, t, "stats", func(ev yjsEvent) bool { return ev.Ev == "stats" })
		t.Logf("yjs peer %s signalling frames: sent %v, received %v", p.name, ev.Sent, ev.Received)
		for typ := range ev.Sent {
			switch typ {
			case "subscribe", "unsubscribe", "ping", "publish:announce", "publish:signal":
			default:
				t.Errorf("yjs peer %s sent a %q frame, which the server ignores", p.name, typ)
			}
		}
		if ev.Sent["publish:signal"] == 0 || ev.Received["publish:signal"] == 0 {
			t.Errorf("yjs peer %s: no signal published or received through the server", p.name)
		}
		for _, n := range ev.Sent {
			sent += n
		}
		for typ, n := range ev.Received {
			if strings.HasPrefix(typ, "publish:") {
				received += n
			}
		}
	}

	m := gatherMetrics(t, srv)
	t.Logf("signalserver: %v", m)
	for name, want := range map[string]float64{
		"signalserver_clients":                     2,
		"signalserver_clients_accepted_total":      2,
		"signalserver_clients_dropped_total":       0,
		"signalserver_subscriptions_refused_total": 0,
	} {
		if got := m[name]; got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	// Every publish a provider received was relayed by the server before
	// the metrics were read; the counts are equal unless a frame was still
	// on its way (a late ICE candidate), so only a mismatch is logged.
	if relayed := m["signalserver_messages_relayed_total"]; relayed < float64(received) || relayed == 0 {
		t.Errorf("signalserver_messages_relayed_total = %v, the providers received %d publishes", relayed, received)
	} else if relayed != float64(received) || m["signalserver_messages_received_total"] != float64(sent) {
		t.Logf("frames in flight: providers sent %d and received %d publishes; server received %v and relayed %v",
			sent, received, m["signalserver_messages_received_total"], relayed)
	}
}

// gatherMetrics returns the server's metrics by name, the values of a
// labelled metric summed.
func gatherMetrics(t *testing.T, srv *signalserver.Server) map[string]float64 {
	t.Helper()
	mfs, err := srv.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]float64{}
	for _, mf := range mfs {
		for _, x := range mf.GetMetric() {
			m[mf.GetName()] += x.GetCounter().GetValue() + x.GetGauge().GetValue()
		}
	}
	return m
}

// A yjsPeer is one js/yjs-peer.mjs process.
type yjsPeer struct{ *jsonProc[yjsEvent] }

// yjsEvent is every field a yjs-peer.mjs event may carry.
type yjsEvent struct {
	Ev          string          `json:"ev"`
	Versions    json.RawMessage `json:"versions"`
	WebrtcPeers int             `json:"webrtcPeers"`
	Connected   int             `json:"connected"`
	BcPeers     int             `json:"bcPeers"`
	Rx          int             `json:"rx"`
	Synced      bool            `json:"synced"`
	Value       string          `json:"value"`
	Local       bool            `json:"local"`
	Sent        map[string]int  `json:"sent"`
	Received    map[string]int  `json:"received"`
	Error       *jsError        `json:"error"`
}

func startYjsPeer(t *testing.T, name string) *yjsPeer {
	t.Helper()
	// runNode checks for @roamhq/wrtc; a node_modules from before y-webrtc
	// was added has that but not this.
	if _, err := os.Stat(filepath.Join("node_modules", "y-webrtc", "package.json")); err != nil {
		t.Fatalf("interop/node_modules has no y-webrtc: run interop/run.sh (or npm ci in interop/): %v", err)
	}
	var env []string
	if os.Getenv("INTEROP_DEBUG") != "" {
		env = append(env, "DEBUG=simple-peer", "LOG=y-webrtc")
	}
	return &yjsPeer{startJSONProc(t, "yjs-peer.mjs", "yjs peer", "yjs", name, env, yjsTimeout,
		func(msg string) yjsEvent { return yjsEvent{Ev: "fault", Error: &jsError{Message: msg}} })}
}

// await reads p's events until match returns true for one, and returns
// it. A fault, a closed signalling connection, the process's end or ctx's
// deadline fails the test.
func (p *yjsPeer) await(ctx context.Context, t *testing.T, what string, match func(yjsEvent) bool) yjsEvent {
	t.Helper()
	for {
		select {
		case ev := <-p.events:
			switch ev.Ev {
			case "fault":
				t.Fatalf("yjs peer %s: %v (see %s)", p.name, ev.Error, p.log())
			case "signalling":
				t.Fatalf("yjs peer %s: signalling connection closed while waiting for %s (see %s)", p.name, what, p.log())
			}
			if match(ev) {
				return ev
			}
		case <-p.gone:
			t.Fatalf("yjs peer %s exited while waiting for %s: %v (see %s)", p.name, what, p.err(), p.log())
		case <-ctx.Done():
			t.Fatalf("yjs peer %s: no %s within %v (see %s)", p.name, what, yjsTimeout, p.log())
		}
	}
}

// awaitText waits for p's text to change, by a local edit or a remote one
// as local says, and fails unless the change leaves exactly want.
func (p *yjsPeer) awaitText(ctx context.Context, t *testing.T, local bool, want string) yjsEvent {
	t.Helper()
	kind := map[bool]string{true: "local", false: "remote"}[local]
	return p.await(ctx, t, kind+" edit", func(ev yjsEvent) bool {
		if ev.Ev != "text" {
			return false
		}
		if ev.Local != local || ev.Value != want {
			t.Fatalf("yjs peer %s: text %q after a %s edit, want %q after a %s edit",
				p.name, ev.Value, map[bool]string{true: "local", false: "remote"}[ev.Local], want, kind)
		}
		return true
	})
}
