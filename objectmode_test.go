package simplepeer_test

// Ports of simple-peer's test/object-mode.js. objectMode hands each
// message to 'data' whole; in Go OnData always does, so these check message
// boundaries and that text stays text on the wire.

import (
	"bytes"
	"fmt"
	"net"
	"testing"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/ice/v2"
	"github.com/pion/webrtc/v3"
)

// TestObjectModeSendReceive ports "data send/receive string", "... Buffer",
// "... Uint8Array" and "... ArrayBuffer" {objectMode: true}: each message
// arrives whole, as one OnData call, whatever its type.
func TestObjectModeSendReceive(t *testing.T) {
	tests := []struct {
		name   string
		send   sender
		m1, m2 []byte
	}{
		{"string", sendText, []byte("this is a string"), []byte("this is another string")},
		{"Buffer", sendBinary, []byte("this is a Buffer"), []byte("this is another Buffer")},
		{"Uint8Array", sendBinary, []byte{0, 1, 2}, []byte{1, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p1, p2 := connectedPair(t)
			pingPong(t, p1, p2, tt.send, tt.m1, tt.m2)
			closeAll(t, p1, p2)
		})
	}
}

// TestMessageBoundaries checks that messages sent back to back, of sizes
// from 1 byte to the 64 KiB limit, each arrive as exactly one OnData call,
// in order: the channel never merges or splits messages.
func TestMessageBoundaries(t *testing.T) {
	p1, p2 := connectedPair(t)
	sizes := []int{1, 2, 100, 1200, 16 << 10, 16<<10 + 1, 40000, 65535, 65536, 3}
	var msgs [][]byte
	for i, n := range sizes {
		msgs = append(msgs, bytes.Repeat([]byte{byte('a' + i)}, n))
	}
	data := dataChan(p2)
	for i, m := range msgs {
		send := sendBinary
		if i%2 == 1 {
			send = sendText
		}
		if err := send(p1, m); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	for i, m := range msgs {
		got := recv(t, data, fmt.Sprintf("message %d", i))
		if !bytes.Equal(got, m) {
			t.Fatalf("message %d: got %d bytes of %q, want %d bytes of %q", i, len(got), got[:1], len(m), m[:1])
		}
	}
}

// rawMessage is what a plain Pion data channel received.
type rawMessage struct {
	text bool
	data string
}

// rawPionPeer connects a plain Pion PeerConnection (no simplepeer) to the
// initiator p, which must have no OnSignal handler yet, and returns the
// data channel it receives once open, and its messages.
func rawPionPeer(t *testing.T, p *simplepeer.Peer) (*webrtc.DataChannel, <-chan rawMessage) {
	t.Helper()
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" || name == "lo0" })
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetPrflxAcceptanceMinWait(0)
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.GracefulClose() })

	open := make(chan *webrtc.DataChannel, 1)
	msgs := make(chan rawMessage, 16)
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		dc.OnOpen(func() { open <- dc })
		dc.OnMessage(func(m webrtc.DataChannelMessage) { msgs <- rawMessage{m.IsString, string(m.Data)} })
	})
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		init := c.ToJSON()
		if err := p.Signal(simplepeer.Signal{Type: simplepeer.SignalCandidate, Candidate: &init}); err != nil && !p.Destroyed() {
			t.Errorf("Signal(candidate): %v", err)
		}
	})
	p.OnSignal(func(s simplepeer.Signal) {
		var err error
		switch s.Type {
		case simplepeer.SignalOffer:
			err = pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: s.SDP})
			var answer webrtc.SessionDescription
			if err == nil {
				answer, err = pc.CreateAnswer(nil)
			}
			if err == nil {
				err = pc.SetLocalDescription(answer)
			}
			if err == nil {
				err = p.Signal(simplepeer.Signal{Type: simplepeer.SignalAnswer, SDP: answer.SDP})
			}
		case simplepeer.SignalCandidate:
			err = pc.AddICECandidate(*s.Candidate)
		}
		if err != nil && !p.Destroyed() {
			t.Errorf("raw Pion peer, %s: %v", s.Type, err)
		}
	})
	connected(t, p)
	return recv(t, open, "raw data channel open"), msgs
}

// TestTextAndBinaryOnTheWire checks what object mode relies on: SendString
// sends a text message and Send and Write binary ones, as a plain Pion peer
// (standing in for a browser) sees them; and both kinds it sends reach
// OnData intact.
func TestTextAndBinaryOnTheWire(t *testing.T) {
	p := newPeer(t, testOptions(true))
	dc, msgs := rawPionPeer(t, p)
	tests := []struct {
		name string
		send func() error
		want rawMessage
	}{
		{"SendString", func() error { return p.SendString("a string") }, rawMessage{true, "a string"}},
		{"Send", func() error { return p.Send([]byte("a Buffer")) }, rawMessage{false, "a Buffer"}},
		{"Write", func() error { _, err := p.Write([]byte("a stream")); return err }, rawMessage{false, "a stream"}},
		{"empty SendString", func() error { return p.SendString("") }, rawMessage{true, ""}},
		{"empty Send", func() error { return p.Send([]byte{}) }, rawMessage{false, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.send(); err != nil {
				t.Fatal(err)
			}
			if got := recv(t, msgs, "message"); got != tt.want {
				t.Errorf("remote got %+v, want %+v", got, tt.want)
			}
		})
	}

	data := dataChan(p)
	incoming := []struct {
		name string
		send func() error
		want string
	}{
		{"remote text", func() error { return dc.SendText("text from pion") }, "text from pion"},
		{"remote binary", func() error { return dc.Send([]byte{0, 1, 2}) }, "\x00\x01\x02"},
		{"remote empty text", func() error { return dc.SendText("") }, ""},
		{"remote empty binary", func() error { return dc.Send([]byte{}) }, ""},
	}
	for _, tt := range incoming {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.send(); err != nil {
				t.Fatal(err)
			}
			if got := recv(t, data, "data"); string(got) != tt.want {
				t.Errorf("OnData got %q, want %q", got, tt.want)
			}
		})
	}
}
