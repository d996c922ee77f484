package simplepeer_test

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/webrtc/v3"
	"github.com/pion/webrtc/v3/pkg/media"
)

// localOptions are options for two peers in one process: no STUN servers,
// loopback candidates allowed.
func localOptions(initiator bool) *simplepeer.Options {
	se := simplepeer.DefaultSettingEngine()
	se.SetIncludeLoopbackCandidate(true)
	return &simplepeer.Options{Initiator: initiator, Config: &webrtc.Configuration{}, SettingEngine: se}
}

// The README's first example: two peers, signals carried as JSON, one
// message, then close.
func Example() {
	peer1, _ := simplepeer.New(localOptions(true))
	peer2, _ := simplepeer.New(localOptions(false))

	// Carry each signal to the other peer as JSON, as an app would over
	// its own signalling channel.
	carry := func(to *simplepeer.Peer) func(simplepeer.Signal) {
		return func(s simplepeer.Signal) {
			msg, _ := json.Marshal(s)
			in, _ := simplepeer.ParseSignal(msg)
			_ = to.Signal(in)
		}
	}
	peer1.OnSignal(carry(peer2))
	peer2.OnSignal(carry(peer1))

	peer1.OnConnect(func() {
		_ = peer1.SendString("hey peer2, how is it going?")
	})
	got := make(chan string)
	peer2.OnData(func(data []byte) { got <- string(data) })

	fmt.Println("got a message from peer1:", <-got)
	closed := make(chan struct{})
	peer1.OnClose(func() { close(closed) })
	_ = peer2.Close()
	<-closed
	fmt.Println("closed")
	// Output:
	// got a message from peer1: hey peer2, how is it going?
	// closed
}

// A Peer is a net.Conn: Write before connect is buffered and sent once
// connected; Read sees the messages as one byte stream.
func ExamplePeer_Write() {
	peer1, _ := simplepeer.New(localOptions(true))
	peer2, _ := simplepeer.New(localOptions(false))
	peer1.OnSignal(func(s simplepeer.Signal) { _ = peer2.Signal(s) })
	peer2.OnSignal(func(s simplepeer.Signal) { _ = peer1.Signal(s) })

	_, _ = io.WriteString(peer1, "hello, ")
	_, _ = io.WriteString(peer1, "stream")
	_ = peer1.Close() // flushes, then closes

	all, err := io.ReadAll(peer2) // until peer1's close: io.EOF
	fmt.Printf("%s %v\n", all, err)
	_ = peer2.Close()
	// Output: hello, stream <nil>
}

// Video and voice: peer1 sends a VP8 track given in Options.Tracks, peer2
// gets it in OnTrack and reads its RTP.
func Example_video() {
	video, _ := webrtc.NewTrackLocalStaticSample(
		webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "cam")

	o1 := localOptions(true)
	o1.Tracks = []webrtc.TrackLocal{video}
	peer1, _ := simplepeer.New(o1)
	peer2, _ := simplepeer.New(localOptions(false))
	peer1.OnSignal(func(s simplepeer.Signal) { _ = peer2.Signal(s) })
	peer2.OnSignal(func(s simplepeer.Signal) { _ = peer1.Signal(s) })

	got := make(chan string, 1)
	peer2.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		go func() {
			pkt, _, err := t.ReadRTP() // the first packet; Pion already read it to announce the track
			if err == nil && len(pkt.Payload) >= 4 {
				frame := pkt.Payload[len(pkt.Payload)-4:] // after the VP8 payload descriptor
				got <- fmt.Sprintf("%s track %q of stream %q, frame % x",
					t.Codec().MimeType, t.ID(), t.StreamID(), frame)
			}
		}()
	})

	// Write a (fake) frame every 10 ms until the first one arrives: Pion
	// drops samples written before the connection is up.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case s := <-got:
			fmt.Println(s)
			done = true
		case <-tick.C:
			_ = video.WriteSample(media.Sample{Data: []byte{0xde, 0xad, 0xbe, 0xef}, Duration: 10 * time.Millisecond})
		}
	}
	_ = peer1.Close()
	_ = peer2.Close()
	// Output: video/VP8 track "video" of stream "cam", frame de ad be ef
}
