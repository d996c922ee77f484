package simplepeer_test

import (
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer"
)

// The send window follows the path: across a 50 ms round trip (vnet) it
// grows well past its 64 KiB floor, within its 4 MiB bound; on loopback it
// stays near the floor, which keeps bursts small for libwebrtc receivers.
// "Near": on a loaded machine (under -race, beside other tests) loopback's
// smallest round trip is a few milliseconds, and slow start may follow the
// congestion window up to four bandwidth-delay products: 269 KiB was seen
// so, against 1.5-2.2 MiB at 50 ms. The bound is the 50 ms case's floor.
func TestSendWindowFollowsRTT(t *testing.T) {
	const size = 8 << 20
	t.Run("vnet-50ms", func(t *testing.T) {
		lan := newCuttableLAN(t, 50*time.Millisecond)
		o1, o2 := lan.peerOn(t, true, "10.0.0.2"), lan.peerOn(t, false, "10.0.0.9")
		p1, p2 := newPeerPair(t, o1, o2)
		connected(t, p1, p2)
		if err := recv(t, transfer(t, p1, p2, randomBytes(t, size)), "the transfer"); err != nil {
			t.Fatal(err)
		}
		_, peak := simplepeer.SendWindow(p1)
		t.Logf("largest window %d KiB", peak>>10)
		if peak < 512<<10 || peak > simplepeer.MaxWindow {
			t.Errorf("largest window %d KiB at 50 ms RTT, want 512 KiB to %d KiB", peak>>10, simplepeer.MaxWindow>>10)
		}
	})
	t.Run("loopback", func(t *testing.T) {
		p1, p2 := connectedPair(t)
		if err := recv(t, transfer(t, p1, p2, randomBytes(t, size)), "the transfer"); err != nil {
			t.Fatal(err)
		}
		_, peak := simplepeer.SendWindow(p1)
		t.Logf("largest window %d KiB", peak>>10)
		if peak > 8*simplepeer.MinWindow {
			t.Errorf("largest window %d KiB on loopback, want at most %d KiB", peak>>10, 8*simplepeer.MinWindow>>10)
		}
	})
}
