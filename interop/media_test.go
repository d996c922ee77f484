package interop

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v3"
	"github.com/pion/webrtc/v3/pkg/media"
	"github.com/pion/webrtc/v3/pkg/media/ivfreader"
)

// ivfFixture is the VP8 clip examples/mediafile streams: 3 s of ffmpeg's
// test pattern, 320x240 at 30 fps, a keyframe every second (see its
// generate.sh).
var ivfFixture = filepath.Join("..", "examples", "mediafile", "testdata", "video.ivf")

const (
	mediaTimeout     = 15 * time.Second
	wantFrames       = 30 // frames the page must decode from the Go track: 1 s of video
	wantVideoPackets = 30 // RTP packets from Chromium's fake camera
	wantAudioPackets = 25 // RTP packets from its fake microphone: 0.5 s of Opus
	statsInterval    = 200 * time.Millisecond
)

// testMedia (Chromium only): a Go VP8 track plays in the page, then the
// page's fake camera and microphone reach the Go peer. The order exercises
// both transceiverRequest paths: the non-initiator's first AddTrack finds no
// transceiver to use and asks the initiator for one.
func testMedia(t *testing.T, pr *pair, c *cellResult) {
	t.Run("go-video-to-page", func(t *testing.T) { testGoVideo(t, pr, c) })
	t.Run("camera-to-go", func(t *testing.T) { testCamera(t, pr, c) })
}

type ivfFrame struct {
	data []byte
}

func loadIVF(t *testing.T) ([]ivfFrame, time.Duration) {
	t.Helper()
	f, err := os.Open(ivfFixture)
	if err != nil {
		t.Fatalf("the VP8 fixture is missing (examples/mediafile makes it): %v", err)
	}
	defer f.Close()
	r, hdr, err := ivfreader.NewWith(f)
	if err != nil {
		t.Fatal(err)
	}
	if hdr.FourCC != "VP80" {
		t.Fatalf("%s: codec %q, want VP80", ivfFixture, hdr.FourCC)
	}
	var frames []ivfFrame
	for {
		data, _, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, ivfFrame{data: data})
	}
	if len(frames) == 0 {
		t.Fatalf("%s has no frames", ivfFixture)
	}
	// The IVF time base is the frame duration (1/30 s here).
	frameDur := time.Second * time.Duration(hdr.TimebaseNumerator) / time.Duration(hdr.TimebaseDenominator)
	return frames, frameDur
}

// pageStats is the summary js/page.html returns for "stats".
type pageStats struct {
	Inbound  []rtpStats `json:"inbound"`
	Outbound []rtpStats `json:"outbound"`
}

type rtpStats struct {
	Kind          string `json:"kind"`
	Mid           string `json:"mid"`
	Codec         string `json:"codec"`
	ClockRate     int    `json:"clockRate"`
	Fmtp          string `json:"fmtp"`
	Packets       int    `json:"packets"`
	FramesDecoded int    `json:"framesDecoded"`
	FramesEncoded int    `json:"framesEncoded"`
	Width         int    `json:"width"`
	Height        int    `json:"height"`
	Decoder       string `json:"decoder"`
	Encoder       string `json:"encoder"`
}

func (pr *pair) pageStats() (pageStats, error) {
	var s pageStats
	raw, err := pr.js.cmd("stats", nil)
	if err != nil {
		return s, err
	}
	err = json.Unmarshal(raw, &s)
	return s, err
}

// testGoVideo sends the VP8 clip to the page. It starts on a delta frame
// and sends keyframes only when asked: the page can show a picture only
// if its keyframe request (PLI or FIR) reaches OnRTCP and is answered.
func testGoVideo(t *testing.T, pr *pair, c *cellResult) {
	frames, frameDur := loadIVF(t)
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "go-video", "go-stream")
	if err != nil {
		t.Fatal(err)
	}
	goBase, jsBase := pr.g.negotiated.get(), pr.js.negotiated.get()
	sender, err := pr.g.p.AddTrackSender(track)
	if err != nil {
		t.Fatalf("AddTrackSender: %v", err)
	}
	var requests atomic.Int64
	keyframe := make(chan struct{}, 1)
	pr.g.p.OnRTCP(func(s *webrtc.RTPSender, pkts []rtcp.Packet) {
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				if s == sender {
					requests.Add(1)
					select {
					case keyframe <- struct{}{}:
					default:
					}
				}
			}
		}
	})
	defer pr.g.p.OnRTCP(nil)

	// Send the clip in a loop, at its frame rate, until the test ends,
	// skipping its keyframes but when one is asked for.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	var sent atomic.Int64
	go func() {
		defer wg.Done()
		tick := time.NewTicker(frameDur)
		defer tick.Stop()
		for i := 1; ; i = (i + 1) % len(frames) {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			select {
			case <-keyframe:
				i = 0 // the clip's first frame is a keyframe
			default:
				for isVP8Keyframe(frames[i].data) {
					i = (i + 1) % len(frames)
				}
			}
			if err := track.WriteSample(media.Sample{Data: frames[i].data, Duration: frameDur}); err != nil {
				return // the connection is closed
			}
			sent.Add(1)
		}
	}()
	defer func() {
		close(stop)
		wg.Wait()
	}()

	if !waitNegotiated(t, pr, "AddTrack", goBase, jsBase) {
		return
	}
	timer := time.NewTimer(mediaTimeout)
	defer timer.Stop()
	// Earlier negotiations may have left 'track' events for audio (see
	// checkNoPhantomTracks): wait for the video one.
	for video := false; !video; {
		select {
		case ev := <-pr.js.tracks:
			video = ev.Kind == "video"
		case <-timer.C:
			t.Fatalf("page got no video track within %v (JS errors: %v)", mediaTimeout, pr.js.errs())
		}
	}

	// Poll the page's stats until it has decoded a second of video.
	tick := time.NewTicker(statsInterval)
	defer tick.Stop()
	var last rtpStats
	for {
		s, err := pr.pageStats()
		if err != nil {
			t.Fatalf("stats: %v", err)
		}
		for _, in := range s.Inbound {
			if in.Kind == "video" && in.FramesDecoded >= last.FramesDecoded {
				last = in
			}
		}
		if last.FramesDecoded >= wantFrames {
			break
		}
		select {
		case <-tick.C:
		case <-timer.C:
			t.Fatalf("page decoded %d frames of the Go track within %v, want %d (Go sent %d, answered %d keyframe requests; stats %+v)",
				last.FramesDecoded, mediaTimeout, wantFrames, sent.Load(), requests.Load(), last)
		}
	}
	msg := fmt.Sprintf("Go VP8 track → page: %s, %d frames decoded, %dx%d, %d RTP packets, %d keyframe requests answered",
		last.Codec, last.FramesDecoded, last.Width, last.Height, last.Packets, requests.Load())
	t.Log(msg)
	c.media = append(c.media, msg)
	if !strings.EqualFold(last.Codec, webrtc.MimeTypeVP8) {
		t.Errorf("page decodes %q, want %s", last.Codec, webrtc.MimeTypeVP8)
	}
}

// isVP8Keyframe reports whether a VP8 frame is a keyframe (RFC 6386
// section 9.1: bit 0 of the first byte is 0).
func isVP8Keyframe(frame []byte) bool { return len(frame) > 0 && frame[0]&1 == 0 }

// trackCount counts the RTP packets of one remote track.
type trackCount struct {
	codec   webrtc.RTPCodecParameters
	packets atomic.Int64
	reached chan struct{} // closed at the wanted count
}

func testCamera(t *testing.T, pr *pair, c *cellResult) {
	raw, err := pr.js.cmd("addMedia", nil)
	if err != nil {
		t.Fatalf("getUserMedia / addStream: %v", err)
	}
	t.Logf("page added its fake camera and microphone: %s", raw)

	counts := map[string]*trackCount{}
	timer := time.NewTimer(mediaTimeout)
	defer timer.Stop()
	for len(counts) < 2 {
		select {
		case tr := <-pr.g.tracks:
			kind := tr.Kind().String()
			if counts[kind] != nil {
				t.Errorf("a second %s track arrived", kind)
				continue
			}
			want := int64(wantVideoPackets)
			if tr.Kind() == webrtc.RTPCodecTypeAudio {
				want = wantAudioPackets
			}
			tc := &trackCount{codec: tr.Codec(), reached: make(chan struct{})}
			counts[kind] = tc
			// The reader ends when the connection closes; the pair waits
			// for it on close.
			pr.wg.Add(1)
			go func() {
				defer pr.wg.Done()
				for {
					if _, _, err := tr.ReadRTP(); err != nil {
						return
					}
					if tc.packets.Add(1) == want {
						close(tc.reached)
					}
				}
			}()
		case <-timer.C:
			t.Fatalf("Go peer got %d of 2 tracks within %v (Go errors: %v, JS errors: %v)", len(counts), mediaTimeout, pr.g.errs(), pr.js.errs())
		}
	}
	for _, kind := range []string{"video", "audio"} {
		tc := counts[kind]
		if tc == nil {
			t.Errorf("no %s track arrived", kind)
			continue
		}
		select {
		case <-tc.reached:
		case <-timer.C:
			t.Errorf("%s track: %d RTP packets within %v", kind, tc.packets.Load(), mediaTimeout)
		}
	}
	// What Chromium says it sends, for the report.
	s, err := pr.pageStats()
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	sending := map[string]rtpStats{}
	for _, out := range s.Outbound {
		if out.Packets > 0 {
			sending[out.Kind] = out
		}
	}
	for _, kind := range []string{"video", "audio"} {
		tc := counts[kind]
		if tc == nil {
			continue
		}
		out := sending[kind]
		msg := fmt.Sprintf("Chromium %s → Go: %s/%d %q, %d RTP packets at Go (Chromium's stats: sends %s%s)",
			kind, tc.codec.MimeType, tc.codec.ClockRate, tc.codec.SDPFmtpLine, tc.packets.Load(), out.Codec, encoderNote(out.Encoder))
		t.Log(msg)
		c.media = append(c.media, msg)
		if out.Codec != "" && !strings.EqualFold(out.Codec, tc.codec.MimeType) {
			t.Errorf("%s: Go's track says %s, Chromium sends %s", kind, tc.codec.MimeType, out.Codec)
		}
	}
}

func encoderNote(enc string) string {
	if enc == "" {
		return ""
	}
	return ", encoder " + enc
}
