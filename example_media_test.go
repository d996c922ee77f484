package simplepeer_test

import (
	"fmt"
	"sync"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v3"
	"github.com/pion/webrtc/v3/pkg/media"
)

// A keyframe request travels from the receiving app (WriteRTCP) to the
// sending app's OnRTCP, with the sender it is for.
func ExamplePeer_OnRTCP() {
	video, _ := webrtc.NewTrackLocalStaticSample(
		webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "cam")
	peer1, _ := simplepeer.New(localOptions(true))
	peer2, _ := simplepeer.New(localOptions(false))
	peer1.OnSignal(func(s simplepeer.Signal) { _ = peer2.Signal(s) })
	peer2.OnSignal(func(s simplepeer.Signal) { _ = peer1.Signal(s) })
	sender, _ := peer1.AddTrackSender(video)

	requested := make(chan struct{})
	var once sync.Once
	peer1.OnRTCP(func(s *webrtc.RTPSender, pkts []rtcp.Packet) {
		for _, pkt := range pkts {
			if _, ok := pkt.(*rtcp.PictureLossIndication); ok && s == sender {
				once.Do(func() { close(requested) }) // here: send a keyframe
			}
		}
	})
	peer2.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		// The receiver asks for a keyframe, as a browser does when it
		// cannot decode.
		_ = peer2.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.SSRC())}})
	})

	// Write frames until the request arrives (a track reaches OnTrack with
	// its first packet).
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	giveUp := time.After(10 * time.Second)
	for waiting := true; waiting; {
		select {
		case <-requested:
			waiting = false
		case <-giveUp:
			fmt.Println("no keyframe request")
			return
		case <-tick.C:
			_ = video.WriteSample(media.Sample{Data: []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a}, Duration: 20 * time.Millisecond})
		}
	}
	fmt.Println("keyframe requested")
	_ = peer1.Close()
	_ = peer2.Close()
	// Output: keyframe requested
}
