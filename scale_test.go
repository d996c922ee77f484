package simplepeer_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/gosimplepeer/simplepeer"
	"github.com/gosimplepeer/simplepeer/internal/leakcheck"
)

// scalePeerGoroutines is the most goroutines a connected data-only peer
// may run, Pion's included (measured: 19 with one loopback candidate; raw
// Pion with its default interceptors runs 21). bench/scale measures
// 100-2,000 pairs; this is the small size that runs in go test.
const scalePeerGoroutines = 20

// 100 pairs connected at once, each moving a message, within the
// goroutine budget per peer; after closing them nothing is left.
func TestScale100Pairs(t *testing.T) {
	const pairs = 100
	before := leakcheck.Snapshot()
	g0 := runtime.NumGoroutine()
	p1s, p2s := make([]*simplepeer.Peer, pairs), make([]*simplepeer.Peer, pairs)
	parallel(pairs, 16, func(i int) {
		p1, err := simplepeer.New(testOptions(true))
		if err != nil {
			t.Error(err)
			return
		}
		p2, err := simplepeer.New(testOptions(false))
		if err != nil {
			p1.Destroy(nil)
			t.Error(err)
			return
		}
		got := make(chan string, 1)
		p2.OnData(func(b []byte) { got <- string(b) })
		wire(t, p1, p2)
		connected(t, p1, p2)
		want := fmt.Sprint("hello ", i)
		if err := p1.SendString(want); err != nil {
			t.Error(err)
		}
		if s := recv(t, got, "a message"); s != want {
			t.Errorf("pair %d got %q", i, s)
		}
		p1s[i], p2s[i] = p1, p2
	})
	if t.Failed() {
		return
	}
	perPeer := float64(runtime.NumGoroutine()-g0) / (2 * pairs)
	t.Logf("%d connected pairs: %.2f goroutines per peer", pairs, perPeer)
	if perPeer > scalePeerGoroutines {
		t.Errorf("%.2f goroutines per connected peer, want at most %d", perPeer, scalePeerGoroutines)
	}
	parallel(pairs, 16, func(i int) {
		_ = p1s[i].Close()
		_ = p2s[i].Close()
	})
	if left := leakcheck.Leaked(before); len(left) > 0 {
		t.Errorf("%d goroutines left after closing every pair; first:\n%s", len(left), left[0])
	}
}
