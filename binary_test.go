package simplepeer_test

// Ports of simple-peer's test/binary.js, plus message-size and
// send-state checks.

import (
	"bytes"
	"crypto/rand"
	"errors"
	"net"
	"testing"

	"github.com/gosimplepeer/simplepeer"
)

// randomBytes returns n random bytes.
func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDataSendReceiveBinary ports "data send/receive Buffer", "...
// Uint8Array" and "... ArrayBuffer": in Go every binary type is a []byte,
// sent with Send and received intact as a []byte.
func TestDataSendReceiveBinary(t *testing.T) {
	tests := []struct {
		name   string
		m1, m2 []byte
	}{
		{"Buffer", []byte{0, 1, 2}, []byte{0, 2, 4}},
		{"Uint8Array", []byte{0, 1, 2}, []byte{1, 2, 3}},
		{"all byte values", allBytes(), bytes.Repeat([]byte{0xff, 0}, 100)},
		{"one byte", []byte{0}, []byte{0xff}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p1, p2 := connectedPair(t)
			pingPong(t, p1, p2, sendBinary, tt.m1, tt.m2)
			closeAll(t, p1, p2)
		})
	}
}

func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// TestMaxMessageSize checks that a message of exactly 65,536 bytes (what an
// SDP without a=max-message-size allows, RFC 8841) crosses intact in both
// directions, as text and as binary.
func TestMaxMessageSize(t *testing.T) {
	const size = 65536
	tests := []struct {
		name string
		send sender
		msg  func(t testing.TB) []byte
	}{
		{"binary", sendBinary, func(t testing.TB) []byte { return randomBytes(t, size) }},
		{"text", sendText, func(testing.TB) []byte { return bytes.Repeat([]byte("0123456789abcdef"), size/16) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p1, p2 := connectedPair(t)
			pingPong(t, p1, p2, tt.send, tt.msg(t), tt.msg(t))
			// Both channels are still usable afterwards.
			pingPong(t, p1, p2, tt.send, []byte("after"), []byte("after too"))
		})
	}
}

// TestMessageTooLarge checks that a message one byte over the limit is
// refused by Send with ERR_DATA_CHANNEL and ErrMessageTooLarge, without
// harming the connection.
func TestMessageTooLarge(t *testing.T) {
	p1, p2 := connectedPair(t)
	big := randomBytes(t, 65537)
	tests := []struct {
		name string
		from *simplepeer.Peer
		send sender
	}{
		{"initiator binary", p1, sendBinary},
		{"initiator text", p1, sendText},
		{"non-initiator binary", p2, sendBinary},
		{"non-initiator text", p2, sendText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.send(tt.from, big)
			var e *simplepeer.Error
			if !errors.As(err, &e) || e.Code != simplepeer.ErrCodeDataChannel || !errors.Is(err, simplepeer.ErrMessageTooLarge) {
				t.Fatalf("send of %d bytes: %v; want *Error %s wrapping ErrMessageTooLarge", len(big), err, simplepeer.ErrCodeDataChannel)
			}
		})
	}
	pingPong(t, p1, p2, sendBinary, []byte("still"), []byte("connected"))
}

// TestSendBeforeConnect checks simple-peer's rule that send() before
// connect is an error: ERR_DATA_CHANNEL wrapping ErrNotConnected, on
// either side, before and after signalling starts; the peers still
// connect afterwards.
func TestSendBeforeConnect(t *testing.T) {
	tests := []struct {
		name      string
		wired     bool
		initiator bool
		send      sender
	}{
		{"lone initiator", false, true, sendBinary},
		{"lone non-initiator", false, false, sendText},
		{"wired initiator", true, true, sendText},
		{"wired non-initiator", true, false, sendBinary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p1, p2 *simplepeer.Peer
			if tt.wired {
				p1, p2 = newPeerPair(t, nil, nil)
			} else {
				p1, p2 = newPeer(t, testOptions(true)), newPeer(t, testOptions(false))
			}
			p, _ := pickPeers(p1, p2, tt.initiator)
			err := tt.send(p, []byte("too early"))
			if simplepeer.Code(err) != simplepeer.ErrCodeDataChannel || !errors.Is(err, simplepeer.ErrNotConnected) {
				t.Fatalf("send before connect: %v; want %s wrapping ErrNotConnected", err, simplepeer.ErrCodeDataChannel)
			}
			if tt.wired {
				// Also keeps the cleanup's Close out of the connecting
				// phase (see pion/webrtc#2940, a race in Pion v3).
				connected(t, p1, p2)
				pingPong(t, p1, p2, tt.send, []byte("on time"), []byte("indeed"))
			}
		})
	}
}

// TestSendAfterClose checks that Send and SendString fail with
// ERR_DESTROYED once a peer is destroyed: closed locally, destroyed with an
// error, or closed because the remote closed.
func TestSendAfterClose(t *testing.T) {
	tests := []struct {
		name string
		// end destroys one of the pair and returns the peer to send on
		// once its close event has fired.
		end func(t *testing.T, p1, p2 *simplepeer.Peer) *simplepeer.Peer
	}{
		{"Close", func(t *testing.T, p1, _ *simplepeer.Peer) *simplepeer.Peer {
			closeAll(t, p1)
			return p1
		}},
		{"Destroy with error", func(t *testing.T, p1, _ *simplepeer.Peer) *simplepeer.Peer {
			closed := closeChan(p1)
			p1.Destroy(errors.New("test"))
			recv(t, closed, "close")
			return p1
		}},
		{"remote closed", func(t *testing.T, p1, p2 *simplepeer.Peer) *simplepeer.Peer {
			closed := closeChan(p2)
			_ = p1.Close()
			recv(t, closed, "remote close")
			return p2
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p1, p2 := connectedPair(t)
			p := tt.end(t, p1, p2)
			for _, send := range []sender{sendBinary, sendText} {
				err := send(p, []byte("too late"))
				if simplepeer.Code(err) != simplepeer.ErrCodeDestroyed || !errors.Is(err, net.ErrClosed) {
					t.Errorf("send after destroy: %v; want %s wrapping net.ErrClosed", err, simplepeer.ErrCodeDestroyed)
				}
			}
		})
	}
}
