package simplepeer_test

import (
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/logging"
	"github.com/pion/transport/v2/vnet"
)

// cuttableLAN is a vnet LAN with a given round trip on which the test can
// cut one address off: every packet from or to it is dropped.
type cuttableLAN struct {
	router *vnet.Router
	cut    atomic.Value // string: the IP cut off, "" for none
}

func newCuttableLAN(t *testing.T, rtt time.Duration) *cuttableLAN {
	t.Helper()
	r, err := vnet.NewRouter(&vnet.RouterConfig{
		CIDR:          "10.0.0.0/24",
		MinDelay:      rtt / 2,
		LoggerFactory: logging.NewDefaultLoggerFactory(),
	})
	if err != nil {
		t.Fatal(err)
	}
	lan := &cuttableLAN{router: r}
	lan.cut.Store("")
	r.AddChunkFilter(func(c vnet.Chunk) bool {
		ip := lan.cut.Load().(string)
		return ip == "" || (c.SourceAddr().(*net.UDPAddr).IP.String() != ip && c.DestinationAddr().(*net.UDPAddr).IP.String() != ip)
	})
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Stop() })
	return lan
}

// peerOn returns options for a peer on this LAN with the given addresses,
// short ICE timeouts (disconnected after 500 ms, failed after 15 s more) and
// an automatic ICE restart after 200 ms disconnected.
func (l *cuttableLAN) peerOn(t *testing.T, initiator bool, ips ...string) *simplepeer.Options {
	t.Helper()
	n, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: ips})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.router.AddNet(n); err != nil {
		t.Fatal(err)
	}
	o := testOptions(initiator)
	se := simplepeer.DefaultSettingEngine()
	se.SetVNet(n)
	se.SetICETimeouts(500*time.Millisecond, 15*time.Second, 100*time.Millisecond)
	se.LoggerFactory = o.SettingEngine.LoggerFactory
	o.SettingEngine = se
	o.AutoRestartICE = 200 * time.Millisecond
	return o
}

// The path a transfer uses dies mid-transfer (the initiator's address in
// use is cut off; it has another): ICE goes disconnected, AutoRestartICE
// restarts it, the new session finds the other address, and the transfer
// completes intact without a close. Run from both sides: a non-initiator
// restarts through the initiator.
func TestAutoRestartICEAfterPathCut(t *testing.T) {
	for _, who := range []string{"initiator", "non-initiator"} {
		t.Run(who+"-restarts", func(t *testing.T) {
			lan := newCuttableLAN(t, 10*time.Millisecond)
			o1 := lan.peerOn(t, true, "10.0.0.2", "10.0.0.3")
			o2 := lan.peerOn(t, false, "10.0.0.9")
			if who == "initiator" {
				o2.AutoRestartICE = 0
			} else {
				o1.AutoRestartICE = 0
			}
			p1 := newPeer(t, o1)
			p2 := newPeer(t, o2)
			log := wireLogged(t, p1, p2)
			connected(t, p1, p2)
			noClose(t, p1)
			noClose(t, p2)
			before := p1.SelectedCandidatePair()
			if before == nil {
				t.Fatal("no selected pair after connect")
			}
			restarted := restartDone(p1)
			data := randomBytes(t, 2<<20)
			res := transfer(t, p1, p2, data)
			lan.cut.Store(before.Local.Address)
			start := time.Now()

			recv(t, restarted, "ICE connected again after the cut")
			t.Logf("cut %s: ICE back on a new pair after %v", before.Local.Address, time.Since(start).Round(time.Millisecond))
			if err := recv(t, res, "the transfer"); err != nil {
				t.Fatalf("transfer across the cut: %v", err)
			}
			t.Logf("transfer complete %v after the cut", time.Since(start).Round(time.Millisecond))
			after := p1.SelectedCandidatePair()
			if after == nil || after.Local.Address == before.Local.Address {
				t.Errorf("selected pair after the restart: %v, want one not on the cut address %s", after, before.Local.Address)
			}
			if got := p1.LocalAddr().String(); after != nil && got != net.JoinHostPort(after.Local.Address, strconv.Itoa(int(after.Local.Port))) {
				t.Errorf("LocalAddr %s after the restart, want the new pair's %s:%d", got, after.Local.Address, after.Local.Port)
			}
			if u := log.offerUfrags(); len(u) < 2 {
				t.Errorf("offers' ufrags %q: want a restart offer", u)
			}
		})
	}
}
