package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/pion/webrtc/v3"
	"github.com/pion/webrtc/v3/pkg/media"
	"github.com/pion/webrtc/v3/pkg/media/ivfreader"
)

// clip is a VP8 video held in memory, read once from an IVF file and sent
// in a loop to every page.
type clip struct {
	frames []frame
	// length is the clip's media time: the sum of the frame durations.
	length time.Duration
}

// frame is one VP8 frame and how long it shows.
type frame struct {
	data []byte
	dur  time.Duration
	key  bool // a keyframe (RFC 6386 9.1: bit 0 of the first byte is 0)
}

// loadClip reads a VP8 IVF file, or the embedded fixture when path is "".
func loadClip(path string) (*clip, error) {
	var r io.Reader = bytes.NewReader(fixtureVideo)
	name := "testdata/video.ivf (embedded)"
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r, name = f, path
	}
	c, err := readIVF(r)
	if err != nil {
		return nil, fmt.Errorf("video %s: %w", name, err)
	}
	return c, nil
}

func readIVF(r io.Reader) (*clip, error) {
	ivf, h, err := ivfreader.NewWith(r)
	if err != nil {
		return nil, err
	}
	if h.FourCC != "VP80" {
		return nil, fmt.Errorf("codec %q is not VP8", h.FourCC)
	}
	if h.TimebaseNumerator == 0 || h.TimebaseDenominator == 0 {
		return nil, errors.New("zero time base")
	}
	tick := func(n uint64) time.Duration { return ticksToDuration(n, h.TimebaseNumerator, h.TimebaseDenominator) }
	c := &clip{}
	var prev uint64
	for {
		data, fh, err := ivf.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if n := len(c.frames); n > 0 {
			// A frame lasts until the next one starts.
			c.frames[n-1].dur = tick(fh.Timestamp - prev)
		}
		prev = fh.Timestamp
		key := len(data) > 0 && data[0]&1 == 0
		c.frames = append(c.frames, frame{data: data, dur: tick(1), key: key}) // the last: one tick
	}
	if len(c.frames) == 0 {
		return nil, errors.New("no frames")
	}
	for _, f := range c.frames {
		c.length += f.dur
	}
	return c, nil
}

// play writes the clip to t in a loop, each frame at its media time, until
// ctx is done. It waits for t to be bound first: before that, Pion drops
// samples without a word, and starting at frame 0 (a keyframe) lets the
// page show a picture at once. A request on keyframe (the page lost a
// picture) makes the next frame the keyframe that starts the current
// group, so the page can decode again at once.
func (c *clip) play(ctx context.Context, t *sampleTrack, keyframe <-chan struct{}) error {
	select {
	case <-t.bound:
	case <-ctx.Done():
		return nil
	}
	timer := time.NewTimer(time.Hour) // reset before each wait
	defer timer.Stop()
	next := time.Now()
	for i := 0; ; i = (i + 1) % len(c.frames) {
		select {
		case <-keyframe:
			for i > 0 && !c.frames[i].key {
				i--
			}
		default:
		}
		f := c.frames[i]
		if err := t.WriteSample(media.Sample{Data: f.data, Duration: f.dur}); err != nil {
			return err
		}
		// Pace against the clock, not the previous wake-up, so that timer
		// lateness does not add up.
		next = next.Add(f.dur)
		timer.Reset(time.Until(next))
		select {
		case <-timer.C:
		case <-ctx.Done():
			return nil
		}
	}
}

// ticksToDuration converts ticks of num/den seconds, rounding up to the
// nanosecond: Pion turns a sample's Duration into RTP ticks by truncating
// Duration.Seconds()*clockRate, so 1/30 s rounded down to 33,333,333 ns
// would advance the 90 kHz RTP clock by 2,999 instead of 3,000.
func ticksToDuration(ticks uint64, num, den uint32) time.Duration {
	ns := ticks * uint64(num) * uint64(time.Second)
	return time.Duration((ns + uint64(den) - 1) / uint64(den))
}

// bindSignal closes bound the first time Pion binds a track to the
// connection, the moment from which what is written to it goes on the wire.
type bindSignal struct {
	once  sync.Once
	bound chan struct{}
}

func newBindSignal() bindSignal { return bindSignal{bound: make(chan struct{})} }

func (b *bindSignal) fire() { b.once.Do(func() { close(b.bound) }) }

// sampleTrack is a track written frame by frame (the clip), that reports
// when it is bound.
type sampleTrack struct {
	*webrtc.TrackLocalStaticSample
	bindSignal
}

func newSampleTrack(c webrtc.RTPCodecCapability, id, streamID string) (*sampleTrack, error) {
	t, err := webrtc.NewTrackLocalStaticSample(c, id, streamID)
	if err != nil {
		return nil, err
	}
	return &sampleTrack{TrackLocalStaticSample: t, bindSignal: newBindSignal()}, nil
}

// Bind is called by Pion once negotiation is complete.
func (t *sampleTrack) Bind(c webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	p, err := t.TrackLocalStaticSample.Bind(c)
	if err == nil {
		t.fire()
	}
	return p, err
}

// rtpTrack is a track written packet by packet (the echo), that reports
// when it is bound.
type rtpTrack struct {
	*webrtc.TrackLocalStaticRTP
	bindSignal
}

func newRTPTrack(c webrtc.RTPCodecCapability, id, streamID string) (*rtpTrack, error) {
	t, err := webrtc.NewTrackLocalStaticRTP(c, id, streamID)
	if err != nil {
		return nil, err
	}
	return &rtpTrack{TrackLocalStaticRTP: t, bindSignal: newBindSignal()}, nil
}

// Bind is called by Pion once negotiation is complete.
func (t *rtpTrack) Bind(c webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	p, err := t.TrackLocalStaticRTP.Bind(c)
	if err == nil {
		t.fire()
	}
	return p, err
}
