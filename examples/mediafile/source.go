package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pion/webrtc/v3/pkg/media"
	"github.com/pion/webrtc/v3/pkg/media/ivfreader"
	"github.com/pion/webrtc/v3/pkg/media/oggreader"
)

// Sources: the files to send, read frame by frame with Pion's readers and
// written to a track as samples at their media time.

const (
	// opusGranuleRate is the rate of Ogg Opus granule positions, whatever
	// the input's sample rate (RFC 7845, section 4).
	opusGranuleRate = 48000
	// maxOpusPacket is the longest Opus packet (RFC 6716, section 3.2.5).
	maxOpusPacket = 120 * time.Millisecond
	// noGranule marks an Ogg page on which no packet ends (RFC 3533).
	noGranule = ^uint64(0)
)

// ivfSource is a VP8 video in an IVF file.
type ivfSource struct {
	io.Closer
	r        *ivfreader.IVFReader
	num, den uint32 // seconds per timestamp tick: num/den
}

func openIVF(path string) (*ivfSource, error) {
	f, err := openInput(path, fixtureVideo)
	if err != nil {
		return nil, err
	}
	r, h, err := ivfreader.NewWith(f)
	if err == nil && h.FourCC != "VP80" {
		err = fmt.Errorf("codec %q is not VP8", h.FourCC)
	}
	if err == nil && (h.TimebaseNumerator == 0 || h.TimebaseDenominator == 0) {
		err = errors.New("zero time base")
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("video %s: %w", displayPath(path, fixtureVideo), err)
	}
	return &ivfSource{Closer: f, r: r, num: h.TimebaseNumerator, den: h.TimebaseDenominator}, nil
}

// send writes the frames to t, each at its media time, until the file ends
// or the next frame starts at or after limit (0: no limit).
func (s *ivfSource) send(ctx context.Context, t *boundTrack, pace *pacer, limit time.Duration) (tally, error) {
	var sent tally
	timer := newPaceTimer()
	defer timer.Stop()

	frame, h, err := s.r.ParseNextFrame()
	if errors.Is(err, io.EOF) {
		return sent, nil
	} else if err != nil {
		return sent, fmt.Errorf("video: %w", err)
	}
	first := h.Timestamp
	for {
		at := ticksToDuration(h.Timestamp-first, s.num, s.den)
		if limit > 0 && at >= limit {
			return sent, nil
		}
		// A frame lasts until the next one starts; the last, one tick.
		next, nh, nerr := s.r.ParseNextFrame()
		dur := ticksToDuration(1, s.num, s.den)
		switch {
		case nerr == nil:
			dur = ticksToDuration(nh.Timestamp-h.Timestamp, s.num, s.den)
		case !errors.Is(nerr, io.EOF):
			return sent, fmt.Errorf("video: %w", nerr)
		}
		if err := pace.wait(ctx, timer, at); err != nil {
			return sent, err
		}
		if err := t.WriteSample(media.Sample{Data: frame, Duration: dur}); err != nil {
			return sent, fmt.Errorf("video: %w", err)
		}
		sent.add(len(frame), dur)
		if nerr != nil {
			return sent, nil
		}
		frame, h = next, nh
	}
}

// oggSource is an Opus audio in an Ogg file with one packet per page, as
// ffmpeg writes with -page_duration 20000: oggreader returns whole pages,
// and a page with several packets would go out as one broken packet.
type oggSource struct {
	io.Closer
	r    *oggreader.OggReader
	path string
}

func openOgg(path string) (*oggSource, error) {
	f, err := openInput(path, fixtureAudio)
	if err != nil {
		return nil, err
	}
	r, _, err := oggreader.NewWith(f) // reads the OpusHead page
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("audio %s: %w", displayPath(path, fixtureAudio), err)
	}
	return &oggSource{Closer: f, r: r, path: displayPath(path, fixtureAudio)}, nil
}

// send writes the packets to t, each at its media time, until the file ends
// or the next packet starts at or after limit (0: no limit). A packet lasts
// from the previous page's granule position to its own.
func (s *oggSource) send(ctx context.Context, t *boundTrack, pace *pacer, limit time.Duration) (tally, error) {
	var sent tally
	timer := newPaceTimer()
	defer timer.Stop()

	var prev uint64 // granule position where the next packet starts
	audioStarted := false
	for {
		payload, h, err := s.r.ParseNextPage()
		if errors.Is(err, io.EOF) {
			return sent, nil
		} else if err != nil {
			return sent, fmt.Errorf("audio: %w", err)
		}
		g := h.GranulePosition
		if !audioStarted && (g == 0 || g == noGranule) {
			continue // the OpusTags comment header
		}
		audioStarted = true
		if g == noGranule || g <= prev {
			return sent, fmt.Errorf("audio %s: a packet spans Ogg pages, which oggreader cannot split", s.path)
		}
		at := ticksToDuration(prev, 1, opusGranuleRate)
		if limit > 0 && at >= limit {
			return sent, nil
		}
		dur := ticksToDuration(g-prev, 1, opusGranuleRate)
		if dur > maxOpusPacket {
			return sent, fmt.Errorf("audio %s: an Ogg page holds %v of audio, more than one Opus packet; remux with ffmpeg -page_duration 20000", s.path, dur)
		}
		prev = g
		if err := pace.wait(ctx, timer, at); err != nil {
			return sent, err
		}
		if err := t.WriteSample(media.Sample{Data: payload, Duration: dur}); err != nil {
			return sent, fmt.Errorf("audio: %w", err)
		}
		sent.add(len(payload), dur)
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

func (t *tally) add(n int, d time.Duration) {
	t.Frames++
	t.Bytes += int64(n)
	t.Duration += d
}

func displayPath(path, fixture string) string {
	if path == "" {
		return fixture + " (embedded)"
	}
	return path
}
