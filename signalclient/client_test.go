package signalclient_test

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/gosimplepeer/simplepeer/internal/leakcheck"
	"github.com/gosimplepeer/simplepeer/signalclient"
	"github.com/gosimplepeer/simplepeer/signalserver"
	"github.com/pion/ice/v2"
	"github.com/pion/webrtc/v3"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

const timeout = 20 * time.Second

// loopbackPeer: no STUN, loopback candidates only.
func loopbackPeer() *simplepeer.Options {
	se := simplepeer.DefaultSettingEngine()
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return &simplepeer.Options{Config: &webrtc.Configuration{}, SettingEngine: se}
}

// member is one joined room with what it saw.
type member struct {
	room   *signalclient.Room
	lines  chan string // messages received from other members
	joined chan string // members connected
	left   chan string
}

// join joins the room "mesh" on url (then fallbacks) as id.
func join(t *testing.T, url, id string, fallbacks ...string) *member {
	t.Helper()
	m := &member{lines: make(chan string, 16), joined: make(chan string, 16), left: make(chan string, 16)}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r, err := signalclient.Join(ctx, signalclient.Options{
		URL: url, Fallbacks: fallbacks, Room: "mesh", ID: id, PeerOptions: loopbackPeer,
		OnPeer: func(other string, p *simplepeer.Peer) {
			p.OnConnect(func() {
				m.joined <- other
				_ = p.SendString(id + " says hi to " + other)
			})
			p.OnData(func(b []byte) { m.lines <- string(b) })
		},
		OnLeave: func(other string) { m.left <- other },
	})
	if err != nil {
		t.Fatalf("Join %s: %v", id, err)
	}
	m.room = r
	return m
}

func recv(t *testing.T, ch <-chan string, what string) string {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(timeout):
		t.Fatalf("timed out waiting for %s", what)
		return ""
	}
}

// Three members join one room through the server and build a full mesh:
// each connects to the two others (who initiates follows the IDs, so there
// is no glare), each gets a message from both, and when one leaves the
// other two notice.
func TestMesh(t *testing.T) {
	srv := signalserver.New(nil)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(hs.URL, "http")

	ids := []string{"a", "b", "c"}
	members := map[string]*member{}
	for _, id := range ids {
		members[id] = join(t, url, id)
	}
	for _, id := range ids {
		m := members[id]
		var got []string
		for range 2 {
			recv(t, m.joined, id+"'s peers connecting")
			got = append(got, recv(t, m.lines, id+"'s messages"))
		}
		for _, other := range ids {
			if other != id && !contains(got, fmt.Sprintf("%s says hi to %s", other, id)) {
				t.Errorf("%s got %q, nothing from %s", id, got, other)
			}
		}
	}
	_ = members["c"].room.Close()
	for _, id := range []string{"a", "b"} {
		if who := recv(t, members[id].left, id+" noticing c leave"); who != "c" {
			t.Errorf("%s saw %s leave, want c", id, who)
		}
	}
	var wg sync.WaitGroup
	for _, id := range []string{"a", "b"} {
		wg.Add(1)
		go func() { defer wg.Done(); _ = members[id].room.Close() }()
	}
	wg.Wait()
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
