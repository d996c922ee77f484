package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v3"
	"github.com/pion/webrtc/v3/pkg/media"
	"github.com/pion/webrtc/v3/pkg/media/ivfreader"
	"github.com/pion/webrtc/v3/pkg/media/ivfwriter"
	"github.com/pion/webrtc/v3/pkg/media/oggreader"
	"github.com/pion/webrtc/v3/pkg/media/oggwriter"
)

// recorder writes each remote track to a file with Pion's writers: VP8 to
// video.ivf, Opus to audio.ogg. One goroutine per track reads its RTP; they
// end when the receiving peer closes, and stop waits for them.
type recorder struct {
	dir string
	wg  sync.WaitGroup

	mu       sync.Mutex // guards the fields below
	stopped  bool
	tracks   map[string]*trackRecording // by kind: "video", "audio"
	expected *sentMessage
	complete chan struct{} // closed when every expected frame is recorded
	errs     []error
}

// trackRecording is one track's file and what has arrived so far.
type trackRecording struct {
	path      string
	w         media.Writer
	clockRate uint32
	frames    int    // completed frames (Opus: packets)
	first     uint32 // RTP timestamp of the first frame
	last, gap uint32 // of the last frame, and since the one before
}

// sentMessage is what the sender says over the data channel once it has
// sent everything: the receiver then knows when its recording is complete.
type sentMessage struct {
	Type        string `json:"type"` // "sent"
	VideoFrames int    `json:"videoFrames"`
	AudioFrames int    `json:"audioFrames"`
}

func newRecorder(dir string) *recorder {
	return &recorder{dir: dir, tracks: map[string]*trackRecording{}, complete: make(chan struct{})}
}

// onTrack starts recording a remote track. It runs on the receiving peer's
// event goroutine, so the reading happens in a goroutine of its own.
func (r *recorder) onTrack(t *webrtc.TrackRemote) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return // the run is over; the track is closed with its peer
	}
	codec := t.Codec()
	var kind, path string
	var w media.Writer
	var err error
	switch {
	case strings.EqualFold(codec.MimeType, webrtc.MimeTypeVP8):
		kind, path = "video", filepath.Join(r.dir, "video.ivf")
		w, err = ivfwriter.New(path, ivfwriter.WithCodec(codec.MimeType))
	case strings.EqualFold(codec.MimeType, webrtc.MimeTypeOpus):
		kind, path = "audio", filepath.Join(r.dir, "audio.ogg")
		w, err = oggwriter.New(path, codec.ClockRate, codec.Channels)
	default:
		r.errs = append(r.errs, fmt.Errorf("unexpected %s track", codec.MimeType))
		return
	}
	if r.tracks[kind] != nil {
		r.errs = append(r.errs, fmt.Errorf("a second %s track", kind))
		return
	}
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s: %w", kind, err))
		return
	}
	tr := &trackRecording{path: path, w: w, clockRate: codec.ClockRate}
	r.tracks[kind] = tr
	r.wg.Add(1)
	go r.record(t, kind, tr)
}

// record copies a track's RTP into its writer until the track ends.
func (r *recorder) record(t *webrtc.TrackRemote, kind string, tr *trackRecording) {
	defer r.wg.Done()
	for {
		pkt, _, err := t.ReadRTP()
		if err != nil {
			return // io.EOF once the connection is closed
		}
		if err := tr.w.WriteRTP(pkt); err != nil {
			r.fail(fmt.Errorf("recording %s: %w", kind, err))
			return
		}
		// A VP8 frame ends with the packet that has the marker bit; an
		// Opus packet is a frame of its own.
		if kind == "audio" || pkt.Marker {
			r.mu.Lock()
			if tr.frames == 0 {
				tr.first = pkt.Timestamp
			} else {
				tr.gap = pkt.Timestamp - tr.last
			}
			tr.last = pkt.Timestamp
			tr.frames++
			r.checkComplete()
			r.mu.Unlock()
		}
	}
}

// expect records the sender's totals. It runs on the receiving peer's event
// goroutine.
func (r *recorder) expect(m sentMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expected = &m
	r.checkComplete()
}

// checkComplete closes complete once the sender's totals are known and
// reached. r.mu must be held.
func (r *recorder) checkComplete() {
	if r.expected == nil || r.progressLocked() != *r.expected {
		return
	}
	select {
	case <-r.complete:
	default:
		close(r.complete)
	}
}

// progress returns the frames recorded so far, and the totals expected (nil
// until the sender has said).
func (r *recorder) progress() (got sentMessage, want *sentMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.progressLocked(), r.expected
}

func (r *recorder) progressLocked() sentMessage {
	m := sentMessage{Type: "sent"}
	if t := r.tracks["video"]; t != nil {
		m.VideoFrames = t.frames
	}
	if t := r.tracks["audio"]; t != nil {
		m.AudioFrames = t.frames
	}
	return m
}

func (r *recorder) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
}

// stop waits for the track readers, which end when the receiving peer is
// closed, and finalizes the files. Tracks arriving later are ignored.
func (r *recorder) stop() {
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
	r.wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	for kind, t := range r.tracks {
		if err := t.w.Close(); err != nil {
			r.errs = append(r.errs, fmt.Errorf("closing %s recording: %w", kind, err))
		}
	}
}

// err returns what went wrong while recording.
func (r *recorder) err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return errors.Join(r.errs...)
}

// results reads the finished recordings back, after stop, and returns what
// they hold. The durations come from the RTP timestamps.
func (r *recorder) results() (video tally, videoPath string, audio tally, audioPath string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t := r.tracks["video"]; t != nil {
		video, videoPath = r.readBack(t, readIVFFrames)
	}
	if t := r.tracks["audio"]; t != nil {
		audio, audioPath = r.readBack(t, readOggPackets)
	}
	return video, videoPath, audio, audioPath
}

func (r *recorder) readBack(t *trackRecording, read func(io.Reader) ([][]byte, error)) (tally, string) {
	var res tally
	f, err := os.Open(t.path)
	if err == nil {
		var frames [][]byte
		frames, err = read(f)
		_ = f.Close()
		for _, fr := range frames {
			res.Frames++
			res.Bytes += int64(len(fr))
		}
	}
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("reading back %s: %w", t.path, err))
	}
	if t.frames > 0 {
		span := uint64(t.last-t.first) + uint64(t.gap)
		res.Duration = time.Duration(span * uint64(time.Second) / uint64(t.clockRate))
	}
	return res, t.path
}

// readIVFFrames returns the frames of an IVF file, read with ivfreader.
func readIVFFrames(in io.Reader) ([][]byte, error) {
	r, _, err := ivfreader.NewWith(in)
	if err != nil {
		return nil, err
	}
	var frames [][]byte
	for {
		f, _, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			return frames, nil
		} else if err != nil {
			return frames, err
		}
		frames = append(frames, f)
	}
}

// readOggPackets returns the audio pages of an Ogg Opus file, read with
// oggreader: every page after the ID and comment headers. Each holds one
// Opus packet in the files this example reads and writes.
func readOggPackets(in io.Reader) ([][]byte, error) {
	r, _, err := oggreader.NewWith(in)
	if err != nil {
		return nil, err
	}
	var pages [][]byte
	audio := false
	for {
		p, h, err := r.ParseNextPage()
		if errors.Is(err, io.EOF) {
			return pages, nil
		} else if err != nil {
			return pages, err
		}
		if !audio && (h.GranulePosition == 0 || h.GranulePosition == noGranule) {
			continue // OpusTags
		}
		audio = true
		pages = append(pages, p)
	}
}
