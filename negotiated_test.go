package simplepeer_test

// Port of the "negotiated channels" test of simple-peer's
// test/negotiation.js.

import (
	"testing"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/webrtc/v3"
)

// TestNegotiatedChannels ports "negotiated channels": with channelConfig
// {negotiated: true, id}, both peers create the data channel themselves
// (no in-band announcement), connect, and exchange data over it.
func TestNegotiatedChannels(t *testing.T) {
	tests := []struct {
		name         string
		id           uint16
		label        string
		trickleOff   bool
		wantSameName bool
	}{
		{name: "id 1", id: 1},
		{name: "id 0, named", id: 0, label: "chat", wantSameName: true},
		{name: "id 1023, no trickle", id: 1023, trickleOff: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o1, o2 := testOptions(true), testOptions(false)
			for _, o := range []*simplepeer.Options{o1, o2} {
				negotiated, id := true, tt.id
				o.ChannelConfig = &webrtc.DataChannelInit{Negotiated: &negotiated, ID: &id}
				o.ChannelName = tt.label
				o.DisableTrickle = tt.trickleOff
			}
			p1, p2 := newPeerPair(t, o1, o2)
			connected(t, p1, p2)
			if tt.wantSameName && (p1.ChannelName() != tt.label || p2.ChannelName() != tt.label) {
				t.Errorf("ChannelName: %q and %q, want %q", p1.ChannelName(), p2.ChannelName(), tt.label)
			}
			pingPong(t, p1, p2, sendText, []byte("over a negotiated channel"), []byte("right back"))
			pingPong(t, p1, p2, sendBinary, []byte{0, 1, 2}, []byte{3, 4, 5})
			closeAll(t, p1, p2)
		})
	}
}
