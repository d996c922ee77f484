package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/gosimplepeer/simplepeer/signalclient"
	"github.com/gosimplepeer/simplepeer/signalserver"
)

// roomTimeout bounds the whole of TestRoomJSWithGoMembers.
const roomTimeout = 30 * time.Second

// TestRoomJSWithGoMembers runs examples/signalserver/js/room.js, the
// module a simple-peer page would use, in Node (js/room-peer.mjs,
// simple-peer 9.11.1 on @roamhq/wrtc) as member "m" of a room on our
// signalserver, with two Go members joined by signalclient, "a" and "z".
// The lower ID initiates, so the JS member is the initiator toward z and
// the non-initiator toward a. All three connect pairwise; each Go member
// sends the JS member a string and the JS member sends one to each Go
// member, all arriving exactly; then the JS member closes its room and
// both Go members see it leave. The JS member joins first, so it also
// hears (and must ignore) the signals between a and z.
func TestRoomJSWithGoMembers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), roomTimeout)
	defer cancel()
	start := time.Now()

	srv := signalserver.New(nil)
	hs := httptest.NewServer(srv) // 127.0.0.1, a free port
	t.Cleanup(hs.Close)
	t.Cleanup(func() { _ = srv.Close() }) // before hs.Close, after the members have gone
	url := "ws" + strings.TrimPrefix(hs.URL, "http")
	room := fmt.Sprintf("simplepeer-room-%d", time.Now().UnixNano())

	js := startRoomPeer(t, "m")
	ev := js.next(ctx, t, "ready")
	if ev.Ev != "ready" {
		t.Fatalf("room peer: first event %q, want ready", ev.Ev)
	}
	t.Logf("room peer ready: %s", ev.Versions)
	// m first, so that it hears a and z's signals to each other, which it
	// must ignore.
	js.send(t, map[string]any{"cmd": "join", "url": url, "room": room, "id": "m"})
	if ev := js.next(ctx, t, "subscribed"); ev.Ev != "subscribed" {
		t.Fatalf("room peer m: event %q (%v), want subscribed (see %s)", ev.Ev, ev.Error, js.log())
	}

	goIDs := []string{"a", "z"}
	toJS := func(id string) string { return id + " to m: grüße ✓ 😀" }
	fromJS := func(id string) string { return "m to " + id + ": ¡hola! ✓ 😀" }

	// Go members report on one channel; stop (closed at cleanup, before
	// the rooms close) keeps late callbacks from blocking.
	goEvents := make(chan goRoomEvent, 64)
	stop := make(chan struct{})
	for _, id := range goIDs {
		r, err := signalclient.Join(ctx, signalclient.Options{
			URL: url, Room: room, ID: id,
			PeerOptions: func() *simplepeer.Options { return goOptions(false, true) },
			OnPeer: func(other string, p *simplepeer.Peer) {
				report := func(e goRoomEvent) {
					select {
					case goEvents <- e:
					case <-stop:
					}
				}
				p.OnConnect(func() {
					report(goRoomEvent{member: id, kind: "connect", other: other})
					if other == "m" {
						if err := p.SendString(toJS(id)); err != nil {
							report(goRoomEvent{member: id, kind: "error", other: other, text: err.Error()})
						}
					}
				})
				p.OnData(func(b []byte) { report(goRoomEvent{member: id, kind: "data", other: other, text: string(b)}) })
				p.OnError(func(err error) { report(goRoomEvent{member: id, kind: "error", other: other, text: err.Error()}) })
			},
			OnLeave: func(other string) {
				select {
				case goEvents <- goRoomEvent{member: id, kind: "leave", other: other}:
				case <-stop:
				}
			},
		})
		if err != nil {
			t.Fatalf("Join %s: %v", id, err)
		}
		t.Cleanup(func() { _ = r.Close() })
	}
	t.Cleanup(func() { close(stop) })

	// What each side has seen so far.
	var (
		jsPeers     = map[string]bool{} // onPeer: member → initiator
		jsConnected = map[string]bool{} // 'connect': member → initiator
		jsGot       = map[string]string{}
		goConnected = map[[2]string]bool{} // {member, other}
		goGot       = map[string]string{}  // member → text from m
		goLeft      = map[string]bool{}    // member saw m leave
		jsClosed    = false
		closing     = false
	)
	// wait handles events from both sides, failing on anything unexpected,
	// until done says what it waits for has happened.
	wait := func(what string, done func() bool) {
		t.Helper()
		for !done() {
			select {
			case ev := <-js.events:
				switch ev.Ev {
				case "fault":
					t.Fatalf("room peer m: %v (see %s)", ev.Error, js.log())
				case "peer":
					if _, dup := jsPeers[ev.ID]; dup {
						t.Fatalf("room peer m: a second peer for %s", ev.ID)
					}
					jsPeers[ev.ID] = ev.Initiator
				case "connect":
					jsConnected[ev.ID] = ev.Initiator
					t.Logf("%v: m connected to %s (initiator %v)", time.Since(start).Round(time.Millisecond), ev.ID, ev.Initiator)
				case "data":
					if _, dup := jsGot[ev.From]; dup {
						t.Fatalf("room peer m: a second message from %s: %q", ev.From, ev.Text)
					}
					jsGot[ev.From] = ev.Text
				case "leave":
					t.Fatalf("room peer m: %s left", ev.ID)
				case "closed":
					if ev.Peers != 0 {
						t.Fatalf("room peer m: %d peers left after close, want 0", ev.Peers)
					}
					if ev.Foreign == 0 {
						t.Errorf("room peer m heard no signal between a and z: ignoring them went untested")
					}
					t.Logf("room peer m ignored %d signals between a and z", ev.Foreign)
					// Once on joining, once more on hearing a (a lower ID):
					// more means it answered its own announces.
					if ev.Announces > 2 {
						t.Errorf("room peer m announced itself %d times, want at most 2", ev.Announces)
					}
					jsClosed = true
				default:
					t.Fatalf("room peer m: unexpected event %q", ev.Ev)
				}
			case e := <-goEvents:
				switch e.kind {
				case "error":
					t.Fatalf("Go member %s, peer %s: %s", e.member, e.other, e.text)
				case "connect":
					goConnected[[2]string{e.member, e.other}] = true
					t.Logf("%v: %s connected to %s", time.Since(start).Round(time.Millisecond), e.member, e.other)
				case "data":
					if e.other != "m" {
						t.Fatalf("Go member %s: message from %s, which sends none: %q", e.member, e.other, e.text)
					}
					if _, dup := goGot[e.member]; dup {
						t.Fatalf("Go member %s: a second message from m: %q", e.member, e.text)
					}
					goGot[e.member] = e.text
				case "leave":
					if !closing || e.other != "m" {
						t.Fatalf("Go member %s: %s left while waiting for %s", e.member, e.other, what)
					}
					goLeft[e.member] = true
				}
			case <-js.gone:
				t.Fatalf("room peer m exited while waiting for %s: %v (see %s)", what, js.err(), js.log())
			case <-ctx.Done():
				t.Fatalf("no %s within %v (see %s)", what, roomTimeout, js.log())
			}
		}
	}

	wait("three members connected pairwise", func() bool {
		return len(jsConnected) == 2 && goConnected[[2]string{"a", "m"}] && goConnected[[2]string{"a", "z"}] &&
			goConnected[[2]string{"z", "m"}] && goConnected[[2]string{"z", "a"}]
	})
	for id, want := range map[string]bool{"a": false, "z": true} {
		if init, ok := jsConnected[id]; !ok || init != want || jsPeers[id] != want {
			t.Errorf("m's peer to %s: initiator %v, want %v (lower ID initiates)", id, init, want)
		}
	}
	if len(jsPeers) != 2 {
		t.Errorf("m created peers for %v, want a and z", jsPeers)
	}

	for _, id := range goIDs {
		js.send(t, map[string]any{"cmd": "send", "to": id, "text": fromJS(id)})
	}
	wait("the messages", func() bool { return len(jsGot) == 2 && len(goGot) == 2 })
	for _, id := range goIDs {
		if got := jsGot[id]; got != toJS(id) {
			t.Errorf("m got %q from %s, want %q", got, id, toJS(id))
		}
		if got := goGot[id]; got != fromJS(id) {
			t.Errorf("%s got %q from m, want %q", id, got, fromJS(id))
		}
	}

	closing = true
	js.send(t, map[string]any{"cmd": "close"})
	wait("m's close seen by a and z", func() bool { return jsClosed && goLeft["a"] && goLeft["z"] })
	t.Logf("%v: m closed its room; a and z saw it leave", time.Since(start).Round(time.Millisecond))

	m := gatherMetrics(t, srv)
	for name, want := range map[string]float64{
		"signalserver_clients_accepted_total":      3,
		"signalserver_clients_dropped_total":       0,
		"signalserver_subscriptions_refused_total": 0,
	} {
		if got := m[name]; got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

// goRoomEvent is what a Go member's callbacks report.
type goRoomEvent struct {
	member, kind, other, text string
}

// A roomPeer is one js/room-peer.mjs process.
type roomPeer struct{ *jsonProc[roomEvent] }

// roomEvent is every field a room-peer.mjs event may carry.
type roomEvent struct {
	Ev        string          `json:"ev"`
	Versions  json.RawMessage `json:"versions"`
	ID        string          `json:"id"`
	Initiator bool            `json:"initiator"`
	From      string          `json:"from"`
	Text      string          `json:"text"`
	Peers     int             `json:"peers"`
	Foreign   int             `json:"foreign"`
	Announces int             `json:"announces"`
	Error     *jsError        `json:"error"`
}

func startRoomPeer(t *testing.T, name string) *roomPeer {
	t.Helper()
	var env []string
	if goLog != nil { // INTEROP_DEBUG
		env = append(env, "DEBUG=simple-peer")
	}
	return &roomPeer{startJSONProc(t, "room-peer.mjs", "room peer", "room", name, env, roomTimeout,
		func(msg string) roomEvent { return roomEvent{Ev: "fault", Error: &jsError{Message: msg}} })}
}
