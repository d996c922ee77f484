package simplepeer_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/webrtc/v3"
)

// Helpers for the tests that connect peers across NATs and relays: move
// data through the connection and say which path it took.

// exchange writes size random bytes each way between connected peers a
// and b at once, with Write and Read, and checks both streams arrive
// intact within testTimeout.
func exchange(t testing.TB, a, b *simplepeer.Peer, size int) {
	t.Helper()
	ab, ba := randomBytes(t, size), randomBytes(t, size)
	written := make(chan error, 2)
	write := func(p *simplepeer.Peer, data []byte) {
		_, err := p.Write(data)
		written <- err
	}
	go write(a, ab)
	go write(b, ba)
	for _, r := range []struct {
		p    *simplepeer.Peer
		want []byte
		name string
	}{{b, ab, "a to b"}, {a, ba, "b to a"}} {
		_ = r.p.SetReadDeadline(time.Now().Add(testTimeout))
		got := make([]byte, size)
		if _, err := io.ReadFull(r.p, got); err != nil {
			t.Fatalf("%s: read: %v", r.name, err)
		}
		if !bytes.Equal(got, r.want) {
			t.Fatalf("%s: %d bytes differ from what was written", r.name, size)
		}
		_ = r.p.SetReadDeadline(time.Time{})
	}
	for range 2 {
		if err := recv(t, written, "write"); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
}

// selectedPair returns p's selected candidate pair, failing the test when
// there is none.
func selectedPair(t testing.TB, p *simplepeer.Peer) *webrtc.ICECandidatePair {
	t.Helper()
	pair := p.SelectedCandidatePair()
	if pair == nil {
		t.Fatal("connected peer has no selected candidate pair")
	}
	return pair
}

// describePair is "local typ addr:port -> remote typ addr:port".
func describePair(pair *webrtc.ICECandidatePair) string {
	return fmt.Sprintf("%s %s:%d -> %s %s:%d", pair.Local.Typ, pair.Local.Address, pair.Local.Port,
		pair.Remote.Typ, pair.Remote.Address, pair.Remote.Port)
}
