// Command mediafile streams a video file (VP8 in IVF) and an audio file (Opus
// in Ogg) from one simplepeer to another, in real time, and records what
// arrives to an IVF and an Ogg file. Both peers live in this process and
// need no network but loopback.
//
//	go run ./examples/mediafile [-video in.ivf] [-audio in.ogg] [-out dir] [-duration 2s] [-fast]
//
// The sender (the initiator) offers its two tracks with Options.Tracks,
// paces the frames by their timestamps once both peers are connected, and
// then tells the receiver over the data channel how many frames it sent.
// The receiver records each track from OnTrack with Pion's ivfwriter and
// oggwriter, and the run ends when every frame has arrived.
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"sync"
	"time"

	"github.com/pion/webrtc/v3"
)

// fixtures are the default inputs, embedded so that the example runs from
// any directory. testdata/generate.sh makes them.
//
//go:embed testdata/video.ivf testdata/audio.ogg
var fixtures embed.FS

const (
	fixtureVideo = "testdata/video.ivf"
	fixtureAudio = "testdata/audio.ogg"

	// connectTimeout bounds the wait for both peers to connect and for the
	// tracks to be ready to send.
	connectTimeout = 10 * time.Second
	// drainTimeout bounds the wait, after the last frame was sent, for the
	// receiver to have all of them. On loopback it takes milliseconds.
	drainTimeout = 5 * time.Second
	// closeTimeout bounds the wait for the peers' close events.
	closeTimeout = 10 * time.Second
)

// config is what to stream and where to record it.
type config struct {
	// Video and Audio are the input files: VP8 in IVF and Opus in Ogg. An
	// empty path means the embedded fixture.
	Video, Audio string
	// OutDir receives video.ivf and audio.ogg; it is created if missing.
	OutDir string
	// Limit stops sending at this much media time; 0 sends the whole files.
	Limit time.Duration
	// Fast sends every frame at once instead of pacing them in real time.
	Fast bool
}

// report is what run sent and recorded.
type report struct {
	Video, Audio trackReport
	// Streaming is the wall-clock time from the first frame sent to the last.
	Streaming time.Duration
}

// trackReport describes one track on both sides.
type trackReport struct {
	Codec          string
	Sent, Recorded tally
	// Path is the recording.
	Path string
}

// tally counts media frames (Opus packets for audio).
type tally struct {
	Frames int
	// Bytes is the sum of the frames' payload sizes, without container or
	// RTP overhead.
	Bytes int64
	// Duration is the media time the frames cover. Sent: the sum of the
	// durations the source file gives. Recorded: the RTP timestamp span,
	// plus one frame's worth for the last frame, whose length RTP does not
	// carry (the gap before it is used).
	Duration time.Duration
}

func main() {
	var cfg config
	flag.StringVar(&cfg.Video, "video", "", "VP8 video in IVF to send (default: the embedded "+fixtureVideo+")")
	flag.StringVar(&cfg.Audio, "audio", "", "Opus audio in Ogg to send (default: the embedded "+fixtureAudio+")")
	flag.StringVar(&cfg.OutDir, "out", "", "directory for the recordings (default: a new temporary directory)")
	flag.DurationVar(&cfg.Limit, "duration", 0, "stop after this much media time (default: the whole files)")
	flag.BoolVar(&cfg.Fast, "fast", false, "send as fast as possible instead of in real time")
	flag.Parse()
	log.SetFlags(0)

	if cfg.OutDir == "" {
		dir, err := os.MkdirTemp("", "mediafile-")
		if err != nil {
			log.Fatal(err)
		}
		cfg.OutDir = dir
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	rep, err := run(ctx, cfg)
	stop()
	printReport(os.Stdout, rep)
	if err != nil {
		log.Fatal(err)
	}
}

// printReport writes what was sent and recorded, one line each per track.
func printReport(w io.Writer, r report) {
	for _, tr := range []struct {
		kind, unit string
		r          trackReport
	}{{"video", "frames", r.Video}, {"audio", "packets", r.Audio}} {
		fmt.Fprintf(w, "%s (%s):\n", tr.kind, tr.r.Codec)
		for _, l := range []struct {
			what string
			t    tally
		}{{"sent", tr.r.Sent}, {"recorded", tr.r.Recorded}} {
			fmt.Fprintf(w, "  %-9s %4d %-7s %7d bytes %7.3f s\n", l.what, l.t.Frames, tr.unit, l.t.Bytes, l.t.Duration.Seconds())
		}
		if tr.r.Path != "" {
			fmt.Fprintf(w, "  -> %s\n", tr.r.Path)
		}
	}
	fmt.Fprintf(w, "streamed in %.3f s\n", r.Streaming.Seconds())
}

// run streams cfg's files from one peer to another and records them. It
// returns when every frame sent has been recorded and both peers are
// closed, or with an error after a bounded wait; the report holds what got
// done either way. No goroutine it started outlives it.
func run(ctx context.Context, cfg config) (rep report, err error) {
	video, err := openIVF(cfg.Video)
	if err != nil {
		return rep, err
	}
	defer video.Close()
	audio, err := openOgg(cfg.Audio)
	if err != nil {
		return rep, err
	}
	defer audio.Close()
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return rep, err
	}
	rep.Video.Codec, rep.Audio.Codec = "VP8", "Opus"

	videoTrack, err := newTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video")
	if err != nil {
		return rep, err
	}
	audioTrack, err := newTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio")
	if err != nil {
		return rep, err
	}

	rec := newRecorder(cfg.OutDir)
	s, err := newSession([]webrtc.TrackLocal{videoTrack, audioTrack}, rec)
	if err != nil {
		return rep, err
	}
	// Whatever happens next, close both peers, then stop the recorder
	// (its readers end with the receiving peer) and finalize the files.
	defer func() {
		if cerr := s.close(); err == nil {
			err = cerr
		}
		rec.stop()
		rep.Video.Recorded, rep.Video.Path, rep.Audio.Recorded, rep.Audio.Path = rec.results()
		if cerr := rec.err(); err == nil {
			err = cerr
		}
	}()

	// Send only once both peers are connected and Pion has bound the
	// tracks: before that, WriteSample drops samples silently.
	if err := s.waitReady(ctx, connectTimeout, videoTrack.bound, audioTrack.bound); err != nil {
		return rep, err
	}

	rep.Video.Sent, rep.Audio.Sent, rep.Streaming, err = stream(ctx, s, cfg, video, audio, videoTrack, audioTrack)
	if err != nil {
		return rep, err
	}

	// Tell the receiver what to expect, over the data channel, and wait
	// until it has recorded it all.
	sent := sentMessage{VideoFrames: rep.Video.Sent.Frames, AudioFrames: rep.Audio.Sent.Frames}
	if err := s.sendDone(sent); err != nil {
		return rep, err
	}
	return rep, s.waitRecorded(ctx, drainTimeout)
}

// stream sends both files at once, on one clock so that audio and video
// stay in step. It returns once both senders are done; a sender's error or
// a peer's failure stops both.
func stream(parent context.Context, s *session, cfg config, video *ivfSource, audio *oggSource, videoTrack, audioTrack *boundTrack) (videoSent, audioSent tally, elapsed time.Duration, err error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	pace := newPacer(time.Now(), cfg.Fast)
	var videoErr, audioErr error
	var senders sync.WaitGroup
	senders.Add(2)
	go func() {
		defer senders.Done()
		if videoSent, videoErr = video.send(ctx, videoTrack, pace, cfg.Limit); videoErr != nil {
			cancel()
		}
	}()
	go func() {
		defer senders.Done()
		if audioSent, audioErr = audio.send(ctx, audioTrack, pace, cfg.Limit); audioErr != nil {
			cancel()
		}
	}()
	sent := make(chan struct{})
	go func() {
		senders.Wait()
		close(sent)
	}()
	select {
	case <-sent:
	case <-s.failed:
		cancel()
		<-sent
	}
	elapsed = pace.elapsed()

	// Report the cause, not the cancellations it led to.
	if err := s.failure(); err != nil {
		return videoSent, audioSent, elapsed, err
	}
	for _, err := range []error{videoErr, audioErr} {
		if err != nil && !errors.Is(err, context.Canceled) {
			return videoSent, audioSent, elapsed, err
		}
	}
	return videoSent, audioSent, elapsed, parent.Err()
}

// boundTrack is a sample track that reports when Pion binds it to a
// connection, the moment from which its samples go on the wire.
type boundTrack struct {
	*webrtc.TrackLocalStaticSample
	once  sync.Once
	bound chan struct{}
}

func newTrack(c webrtc.RTPCodecCapability, id string) (*boundTrack, error) {
	t, err := webrtc.NewTrackLocalStaticSample(c, id, "mediafile")
	if err != nil {
		return nil, err
	}
	return &boundTrack{TrackLocalStaticSample: t, bound: make(chan struct{})}, nil
}

// Bind is called by Pion once negotiation is complete.
func (t *boundTrack) Bind(c webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	params, err := t.TrackLocalStaticSample.Bind(c)
	if err == nil {
		t.once.Do(func() { close(t.bound) })
	}
	return params, err
}

// pacer releases frames at their media time, counted from a shared start.
type pacer struct {
	start time.Time
	fast  bool

	mu   sync.Mutex
	last time.Time // when the latest frame was released
}

func newPacer(start time.Time, fast bool) *pacer {
	return &pacer{start: start, fast: fast, last: start}
}

// wait blocks until media time at has come, or ctx is done.
func (p *pacer) wait(ctx context.Context, timer *time.Timer, at time.Duration) error {
	if p.fast {
		if err := ctx.Err(); err != nil {
			return err
		}
	} else {
		timer.Reset(time.Until(p.start.Add(at)))
		select {
		case <-timer.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	p.mu.Lock()
	if now := time.Now(); now.After(p.last) {
		p.last = now
	}
	p.mu.Unlock()
	return nil
}

// elapsed is the time from the start to the latest frame.
func (p *pacer) elapsed() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last.Sub(p.start)
}

// newPaceTimer returns a stopped timer for pacer.wait.
func newPaceTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

// openInput opens path, or the embedded fixture when path is empty.
func openInput(path, fixture string) (io.ReadCloser, error) {
	if path == "" {
		return fixtures.Open(fixture)
	}
	return os.Open(path)
}
