package simplepeer_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/webrtc/v3"
)

// A nil or zero Peer (not made by New) behaves as a destroyed one: every
// method returns an error with a code, or nothing, and never panics.
func TestZeroPeer(t *testing.T) {
	for name, p := range map[string]*simplepeer.Peer{"zero": {}, "nil": nil} {
		t.Run(name, func(t *testing.T) {
			isDestroyed := func(what string, err error) {
				t.Helper()
				if simplepeer.Code(err) != simplepeer.ErrCodeDestroyed || !errors.Is(err, simplepeer.ErrNotCreated) {
					t.Errorf("%s: %v, want ERR_DESTROYED wrapping ErrNotCreated", what, err)
				}
			}
			isDestroyed("Signal", p.Signal(simplepeer.Signal{Type: simplepeer.SignalRenegotiate, Renegotiate: true}))
			isDestroyed("Send", p.Send([]byte("x")))
			isDestroyed("SendString", p.SendString("x"))
			isDestroyed("AddTrack", p.AddTrack(newTestTrack(t, 1)))
			isDestroyed("RemoveTrack", p.RemoveTrack(newTestTrack(t, 2)))
			isDestroyed("ReplaceTrack", p.ReplaceTrack(newTestTrack(t, 3), nil))
			isDestroyed("AddStream", p.AddStream(newTestTrack(t, 4)))
			isDestroyed("RemoveStream", p.RemoveStream(newTestTrack(t, 5)))
			isDestroyed("AddTransceiver", p.AddTransceiver(webrtc.RTPCodecTypeAudio))
			isDestroyed("Negotiate", p.Negotiate())
			isDestroyed("WaitConnected", p.WaitConnected(context.Background()))
			_, err := p.Write([]byte("x"))
			isDestroyed("Write", err)
			if _, err := p.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
				t.Errorf("Read: %v, want net.ErrClosed", err)
			}
			for what, err := range map[string]error{
				"SetDeadline":      p.SetDeadline(time.Now()),
				"SetReadDeadline":  p.SetReadDeadline(time.Now()),
				"SetWriteDeadline": p.SetWriteDeadline(time.Now()),
			} {
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("%s: %v, want net.ErrClosed", what, err)
				}
			}
			p.OnSignal(func(simplepeer.Signal) {})
			p.OnConnect(func() {})
			p.OnData(func([]byte) {})
			p.OnClose(func() {})
			p.OnError(func(error) {})
			p.OnTrack(nil)
			p.OnStream(nil)
			p.OnNegotiated(nil)
			p.OnICEStateChange(nil)
			p.OnSignalingStateChange(nil)
			p.Destroy(errors.New("x"))
			if err := p.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if !p.Destroyed() || p.Connected() || p.Initiator() || p.ID() != "" || p.ChannelName() != "" ||
				p.BufferedAmount() != 0 || p.PeerConnection() != nil || len(p.GetStats()) != 0 {
				t.Error("a Peer not made by New reports state")
			}
			_ = p.LocalAddr().String()
			_ = p.RemoteAddr().String()
			recv(t, p.Done(), "Done")
		})
	}
}

// uncomparableTrack is a TrackLocal that cannot be a map key: passed by
// value, it would make a map lookup panic.
type uncomparableTrack struct {
	webrtc.TrackLocal
	tags []string
}

// Nil tracks, and tracks the peer cannot keep, are refused with an *Error
// with a code, never a panic (a panic on the peer's own goroutine would kill
// the process).
func TestNilAndUnusableTracks(t *testing.T) {
	p1, _ := connectedPair(t)
	good := newTestTrack(t, 1)
	odd := uncomparableTrack{TrackLocal: newTestTrack(t, 2)}
	cases := []struct {
		name string
		err  error
		code simplepeer.ErrorCode
		nil  bool
	}{
		{"AddTrack(nil)", p1.AddTrack(nil), simplepeer.ErrCodeAddTransceiver, true},
		{"AddStream(nil)", p1.AddStream(nil), simplepeer.ErrCodeAddTransceiver, true},
		{"RemoveTrack(nil)", p1.RemoveTrack(nil), simplepeer.ErrCodeTrackNotAdded, true},
		{"RemoveStream(nil)", p1.RemoveStream(nil), simplepeer.ErrCodeTrackNotAdded, true},
		{"ReplaceTrack(nil, good)", p1.ReplaceTrack(nil, good), simplepeer.ErrCodeTrackNotAdded, true},
		{"AddTrack(uncomparable)", p1.AddTrack(odd), simplepeer.ErrCodeAddTransceiver, false},
		{"RemoveTrack(uncomparable)", p1.RemoveTrack(odd), simplepeer.ErrCodeTrackNotAdded, false},
	}
	for _, c := range cases {
		if simplepeer.Code(c.err) != c.code || (c.nil && !errors.Is(c.err, simplepeer.ErrNilTrack)) {
			t.Errorf("%s: %v, want %s", c.name, c.err, c.code)
		}
	}
	if p1.Destroyed() {
		t.Fatal("a refused track destroyed the peer")
	}
	if err := p1.AddTrack(good); err != nil {
		t.Errorf("AddTrack after the refusals: %v", err)
	}
	if err := p1.ReplaceTrack(good, odd); simplepeer.Code(err) != simplepeer.ErrCodeUnsupportedReplaceTrack {
		t.Errorf("ReplaceTrack(good, uncomparable): %v, want ERR_UNSUPPORTED_REPLACETRACK", err)
	}
}

// Options with nil or odd fields give defaults or an *Error with a code,
// never a panic.
func TestOddOptions(t *testing.T) {
	yes := true
	cases := []struct {
		name string
		opts func() *simplepeer.Options
		code simplepeer.ErrorCode // "" when New must succeed
	}{
		{"nil track in Tracks", func() *simplepeer.Options {
			o := testOptions(true)
			o.Tracks = []webrtc.TrackLocal{nil}
			return o
		}, simplepeer.ErrCodeAddTransceiver},
		{"negotiated channel without an ID", func() *simplepeer.Options {
			o := testOptions(true)
			o.ChannelConfig = &webrtc.DataChannelInit{Negotiated: &yes}
			return o
		}, simplepeer.ErrCodeDataChannel},
		{"ICE server with a bad URL", func() *simplepeer.Options {
			o := testOptions(false)
			o.Config = &webrtc.Configuration{ICEServers: []webrtc.ICEServer{{URLs: []string{"nonsense:::"}}}}
			return o
		}, simplepeer.ErrCodePCConstructor},
		{"negative ICE complete timeout", func() *simplepeer.Options {
			o := testOptions(true)
			o.ICECompleteTimeout = -time.Second
			o.DisableTrickle = true
			return o
		}, ""},
		{"empty options but loopback", func() *simplepeer.Options {
			return &simplepeer.Options{Config: &webrtc.Configuration{}, SettingEngine: loopbackSettings()}
		}, ""},
		{"empty ChannelConfig", func() *simplepeer.Options {
			o := testOptions(true)
			o.ChannelConfig = &webrtc.DataChannelInit{}
			return o
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := simplepeer.New(c.opts())
			if c.code == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				_ = p.Close()
				return
			}
			if simplepeer.Code(err) != c.code {
				t.Fatalf("New: %v, want %s", err, c.code)
			}
			if p != nil {
				t.Error("New returned a peer with its error")
			}
		})
	}
}
