package simplepeer_test

import (
	"strings"
	"testing"

	"github.com/gosimplepeer/simplepeer/internal/leakcheck"
	"github.com/pion/webrtc/v3"
)

// interceptorLoops counts the goroutines running one of Pion's interceptor
// loops (NACK generator, RTCP reports, TWCC).
func interceptorLoops() int {
	count := 0
	for _, g := range leakcheck.Stacks() {
		if strings.Contains(g, "github.com/pion/interceptor/pkg/") && strings.Contains(g, "loop(") {
			count++
		}
	}
	return count
}

// A data-only peer never starts Pion's interceptors (four goroutines with
// tickers per peer); a peer with media starts them when its first stream
// is bound, and media flows.
func TestInterceptorsStartWithMedia(t *testing.T) {
	before := interceptorLoops()
	p1, p2 := connectedPair(t)
	if err := p1.SendString("hello"); err != nil {
		t.Fatal(err)
	}
	if n := interceptorLoops() - before; n != 0 {
		t.Errorf("a connected data-only pair runs %d interceptor loops, want 0", n)
	}
	p1.Destroy(nil)
	p2.Destroy(nil)

	m := newMedia(t)
	mp := m.pair(nil, nil)
	connected(t, mp.p1, mp.p2)
	v := m.newTrack(webrtc.RTPCodecTypeVideo, "p1")
	if err := mp.p1.AddTrack(v); err != nil {
		t.Fatal(err)
	}
	got := mp.rx2.expectTracks(t, v)
	got[0].waitPackets(t, v.ID(), 10)
	// Sender: NACK generator, both reporters, TWCC; receiver the same.
	if n := interceptorLoops() - before; n < 8 {
		t.Errorf("a pair sending video runs %d interceptor loops, want 8 (4 per peer)", n)
	}
}
