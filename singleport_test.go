package simplepeer_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/ice/v2"
	"github.com/pion/webrtc/v3"
)

func listenSinglePort(t *testing.T) *simplepeer.SinglePort {
	t.Helper()
	sp, err := simplepeer.ListenSinglePort(simplepeer.SinglePortOptions{UDP: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sp.Close() })
	return sp
}

// serverOptions: a peer on the single port, no ICE servers, no mDNS.
func serverOptions(sp *simplepeer.SinglePort, initiator bool) *simplepeer.Options {
	se := sp.SettingEngine()
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true) // ICE-TCP's candidates come from the interfaces, on the listener's port
	return &simplepeer.Options{Initiator: initiator, Config: &webrtc.Configuration{}, SettingEngine: se}
}

// spPair connects a peer on sp (the initiator) to an ordinary loopback
// peer and returns both.
func spPair(t *testing.T, sp *simplepeer.SinglePort) (server, client *simplepeer.Peer) {
	t.Helper()
	server, err := simplepeer.New(serverOptions(sp, true))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	client, err = simplepeer.New(testOptions(false))
	if err != nil {
		server.Destroy(nil)
		t.Fatalf("New: %v", err)
	}
	wire(t, server, client)
	connected(t, server, client)
	return server, client
}

func TestListenSinglePortErrors(t *testing.T) {
	for _, addr := range []string{"", "127.0.0.1", "127.0.0.1:x", "127.0.0.1:70000", "example.com:3478"} {
		if sp, err := simplepeer.ListenSinglePort(simplepeer.SinglePortOptions{UDP: addr}); err == nil {
			_ = sp.Close()
			t.Errorf("ListenSinglePort(%q) succeeded", addr)
		}
	}
	sp := listenSinglePort(t)
	taken := sp.UDPAddrs()[0].String()
	if sp2, err := simplepeer.ListenSinglePort(simplepeer.SinglePortOptions{UDP: taken}); err == nil {
		_ = sp2.Close()
		t.Errorf("a second ListenSinglePort on %s succeeded", taken)
	}
}

// Many peers on one UDP port at once, each connected to its own client:
// every server peer's candidate pair uses the port, and all pairs move
// data both ways at the same time, intact.
func TestSinglePortManyPeers(t *testing.T) {
	const n = 200
	sp := listenSinglePort(t)
	port := sp.UDPAddrs()[0].Port
	servers, clients := make([]*simplepeer.Peer, n), make([]*simplepeer.Peer, n)
	parallel(n, 16, func(i int) { servers[i], clients[i] = spPair(t, sp) })
	errs := make(chan error, n)
	parallel(n, n, func(i int) { errs <- exchangeOnPort(servers[i], clients[i], port, i) })
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	parallel(n, 16, func(i int) {
		_ = clients[i].Close()
		_ = servers[i].Close()
	})
	if u, a := simplepeer.SinglePortConns(sp); u != 0 || a != 0 {
		t.Errorf("after closing every peer the mux holds %d connections by ufrag and %d by address, want 0", u, a)
	}
}

// parallel runs f(0) ... f(n-1), at most width at a time.
func parallel(n, width int, f func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, width)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f(i)
		}()
	}
	wg.Wait()
}

// exchangeOnPort checks that pair i's server uses port and sends 32 KiB each way.
func exchangeOnPort(server, client *simplepeer.Peer, port, i int) error {
	if pair := server.SelectedCandidatePair(); pair == nil || int(pair.Local.Port) != port {
		return fmt.Errorf("pair %d: server's candidate pair %v does not use port %d", i, pair, port)
	}
	up := bytes.Repeat([]byte(fmt.Sprintf("client %d;", i)), 3000)
	down := bytes.Repeat([]byte(fmt.Sprintf("server %d;", i)), 3000)
	gotUp, gotDown := make(chan []byte, 1), make(chan []byte, 1)
	read := func(p *simplepeer.Peer, n int, got chan<- []byte) {
		b := make([]byte, n)
		if _, err := io.ReadFull(p, b); err != nil {
			b = nil
		}
		got <- b
	}
	go read(server, len(up), gotUp)
	go read(client, len(down), gotDown)
	if _, err := client.Write(up); err != nil {
		return fmt.Errorf("pair %d: client Write: %v", i, err)
	}
	if _, err := server.Write(down); err != nil {
		return fmt.Errorf("pair %d: server Write: %v", i, err)
	}
	if !bytes.Equal(<-gotUp, up) || !bytes.Equal(<-gotDown, down) {
		return fmt.Errorf("pair %d: data did not arrive intact", i)
	}
	return nil
}

// Connecting and closing many peers on one port leaves nothing behind in
// the mux, and the process's goroutines and heap do not grow with the
// number of cycles.
func TestSinglePortCyclesReleaseState(t *testing.T) {
	const cycles = 1000
	sp := listenSinglePort(t)
	run := func(count int) {
		parallel(count, 8, func(int) {
			server, client := spPair(t, sp)
			_ = client.Close()
			_ = server.Close()
		})
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	run(cycles / 10) // warm up: pools, caches
	g0, h0 := runtime.NumGoroutine(), heap()
	run(cycles - cycles/10)
	u, a := simplepeer.SinglePortConns(sp)
	g1, h1 := runtime.NumGoroutine(), heap()
	t.Logf("%d cycles: goroutines %d -> %d, heap %.1f -> %.1f MiB, mux connections %d/%d",
		cycles, g0, g1, float64(h0)/(1<<20), float64(h1)/(1<<20), u, a)
	if u != 0 || a != 0 {
		t.Errorf("the mux holds %d connections by ufrag and %d by address after %d cycles, want 0", u, a, cycles)
	}
	if g1 > g0+20 {
		t.Errorf("goroutines grew from %d to %d over %d cycles", g0, g1, cycles)
	}
	// A leak of one peer's state (~100 KiB) per cycle would be ~90 MiB.
	if h1 > h0+16<<20 {
		t.Errorf("heap grew from %.1f to %.1f MiB over %d cycles", float64(h0)/(1<<20), float64(h1)/(1<<20), cycles)
	}
}

// With a TCP address too, a client that can only use TCP connects through
// the shared listener.
func TestSinglePortICETCP(t *testing.T) {
	sp, err := simplepeer.ListenSinglePort(simplepeer.SinglePortOptions{UDP: "127.0.0.1:0", TCP: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	server, err := simplepeer.New(serverOptions(sp, true))
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	o := testOptions(false)
	o.SettingEngine.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	client, err := simplepeer.New(o)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	wire(t, server, client)
	connected(t, server, client)
	pair := server.SelectedCandidatePair()
	if pair == nil || pair.Local.Protocol != webrtc.ICEProtocolTCP || pair.Local.Port != uint16(sp.TCPAddr().(*net.TCPAddr).Port) {
		t.Fatalf("server's pair %v, want TCP on %v", pair, sp.TCPAddr())
	}
	if err := exchangeOnPort(client, server, int(pairPort(client)), 0); err != nil {
		t.Fatal(err)
	}
}

func pairPort(p *simplepeer.Peer) uint16 {
	if pair := p.SelectedCandidatePair(); pair != nil {
		return pair.Local.Port
	}
	return 0
}

// An unspecified host opens the one port on every interface address but
// loopback; a client reaching one of them connects.
func TestSinglePortEveryInterface(t *testing.T) {
	sp, err := simplepeer.ListenSinglePort(simplepeer.SinglePortOptions{UDP: ":0"})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	addrs := sp.UDPAddrs()
	if len(addrs) == 0 {
		t.Skip("no non-loopback interface address to listen on")
	}
	for _, a := range addrs {
		if a.Port != addrs[0].Port || a.IP.IsLoopback() || a.IP.IsUnspecified() {
			t.Fatalf("listen addresses %v: want one port on interface addresses", addrs)
		}
	}
	server, err := simplepeer.New(serverOptions(sp, true))
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	se := simplepeer.DefaultSettingEngine()
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	client, err := simplepeer.New(&simplepeer.Options{Config: &webrtc.Configuration{}, SettingEngine: se})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	wire(t, server, client)
	connected(t, server, client)
	if err := exchangeOnPort(server, client, addrs[0].Port, 0); err != nil {
		t.Fatal(err)
	}
}
