package simplepeer_test

import (
	"errors"
	"testing"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/webrtc/v3"
)

// TestCloseWaitsForRemoteChannelClose checks the last step of a user's
// Close or Destroy: the data channel is closed and the connection only once
// the remote has closed its end too (or 0.5 s later), so that the remote
// sees its channel close before its transport does. A remote that did not
// acknowledge what was sent is not waited for a second time, and a peer
// closed by its remote does not wait at all.
func TestCloseWaitsForRemoteChannelClose(t *testing.T) {
	tune := func(se *webrtc.SettingEngine) { se.SetICETimeouts(failDisconnected, failFailed, failKeepalive) }
	cases := []struct {
		name  string
		close func(t *testing.T) *simplepeer.Peer // returns the peer to look at
		want  string
	}{
		{"Close", func(t *testing.T) *simplepeer.Peer {
			a, b := connectedPair(t)
			_ = a.Close()
			recv(t, b.Done(), "remote's close")
			return a
		}, "remote"},
		{"Destroy", func(t *testing.T) *simplepeer.Peer {
			a, b := connectedPair(t)
			a.Destroy(errors.New("bye"))
			recv(t, b.Done(), "remote's close")
			return a
		}, "remote"},
		{"closed by the remote", func(t *testing.T) *simplepeer.Peer {
			a, b := connectedPair(t)
			_ = b.Close()
			recv(t, a.Done(), "close")
			return a
		}, "none"},
		{"remote vanished, nothing unacknowledged", func(t *testing.T) *simplepeer.Peer {
			n := newNATNet(t, natFullCone, natFullCone)
			a, b := n.pair(t, webrtc.Configuration{ICEServers: []webrtc.ICEServer{n.stunServer()}}, tune)
			connected(t, a, b)
			n.cut[1].Store(true)
			_ = a.Close()
			return a
		}, "timed out"},
		{"remote vanished, data unacknowledged", func(t *testing.T) *simplepeer.Peer {
			n := newNATNet(t, natFullCone, natFullCone)
			a, b := n.pair(t, webrtc.Configuration{ICEServers: []webrtc.ICEServer{n.stunServer()}}, tune)
			connected(t, a, b)
			n.cut[1].Store(true)
			if _, err := a.Write(make([]byte, 4096)); err != nil {
				t.Fatal(err)
			}
			a.Destroy(errors.New("bye"))
			return a
		}, "skipped"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := c.close(t)
			if got := simplepeer.ChannelCloseWait(p); got != c.want {
				t.Errorf("the teardown's wait for the remote's channel close: %q, want %q", got, c.want)
			}
		})
	}
}
