package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gosimplepeer/simplepeer/internal/leakcheck"
	"time"
)

// TestMain fails when a goroutine started by the tests outlives them: run
// promises to leave none behind.
func TestMain(m *testing.M) { leakcheck.Main(m) }

// TestRecordingMatchesSource streams both fixtures without pacing and
// checks that the recordings hold every frame, byte for byte.
func TestRecordingMatchesSource(t *testing.T) {
	dir := t.TempDir()
	rep, err := run(context.Background(), config{OutDir: dir, Fast: true})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, reportString(rep))
	}
	video, audio := readFixtures(t)
	checkTrack(t, "video", rep.Video, video, filepath.Join(dir, "video.ivf"), readIVFFrames)
	checkTrack(t, "audio", rep.Audio, audio, filepath.Join(dir, "audio.ogg"), readOggPackets)

	// The last video frame lasts one frame, as the recorder assumes; the
	// last audio packet is trimmed in the source, which RTP cannot say.
	if d := rep.Video.Recorded.Duration - rep.Video.Sent.Duration; d < -time.Millisecond || d > time.Millisecond {
		t.Errorf("video: recorded %v, sent %v", rep.Video.Recorded.Duration, rep.Video.Sent.Duration)
	}
	if d := rep.Audio.Recorded.Duration - rep.Audio.Sent.Duration; d < 0 || d > 20*time.Millisecond {
		t.Errorf("audio: recorded %v, sent %v", rep.Audio.Recorded.Duration, rep.Audio.Sent.Duration)
	}
}

// TestPacedWithLimit streams the first 400 ms in real time: frames go out
// no sooner than their media time, and -duration cuts the files.
func TestPacedWithLimit(t *testing.T) {
	const limit = 400 * time.Millisecond
	dir := t.TempDir()
	rep, err := run(context.Background(), config{OutDir: dir, Limit: limit})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, reportString(rep))
	}
	video, audio := readFixtures(t)
	// 30 fps video: frames at 0, 33.3, ..., 366.7 ms; 20 ms audio packets
	// at 0, 20, ..., 380 ms.
	if rep.Video.Sent.Frames != 12 || rep.Audio.Sent.Frames != 20 {
		t.Errorf("sent %d video frames and %d audio packets, want 12 and 20",
			rep.Video.Sent.Frames, rep.Audio.Sent.Frames)
	}
	checkTrack(t, "video", rep.Video, video, filepath.Join(dir, "video.ivf"), readIVFFrames)
	checkTrack(t, "audio", rep.Audio, audio, filepath.Join(dir, "audio.ogg"), readOggPackets)
	if lastAt := 380 * time.Millisecond; rep.Streaming < lastAt {
		t.Errorf("streamed in %v, want at least %v (the last packet's media time)", rep.Streaming, lastAt)
	}
}

// TestBadInput fails before connecting, and cleanly.
func TestBadInput(t *testing.T) {
	ogg := filepath.Join(t.TempDir(), "audio.ogg")
	b, err := fixtures.ReadFile(fixtureAudio)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ogg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []config{
		{Video: ogg}, // not an IVF file
		{Audio: filepath.Join(t.TempDir(), "nope")}, // missing
	} {
		cfg.OutDir = t.TempDir()
		if _, err := run(context.Background(), cfg); err == nil {
			t.Errorf("run(%+v) succeeded", cfg)
		}
	}
}

// checkTrack compares a track's report and recording with the source frames.
func checkTrack(t *testing.T, kind string, r trackReport, source [][]byte, path string, read func(io.Reader) ([][]byte, error)) {
	t.Helper()
	if r.Path != path {
		t.Errorf("%s: recorded to %q, want %q", kind, r.Path, path)
	}
	if r.Sent.Frames == 0 || r.Recorded != (tally{r.Sent.Frames, r.Sent.Bytes, r.Recorded.Duration}) {
		t.Errorf("%s: sent %+v, recorded %+v", kind, r.Sent, r.Recorded)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := read(f)
	if err != nil {
		t.Fatalf("%s: reading the recording: %v", kind, err)
	}
	if len(got) != r.Sent.Frames || len(got) > len(source) {
		t.Fatalf("%s: recorded %d frames, sent %d of %d", kind, len(got), r.Sent.Frames, len(source))
	}
	for i := range got {
		if !bytes.Equal(got[i], source[i]) {
			t.Fatalf("%s: frame %d differs: %d bytes recorded, %d sent", kind, i, len(got[i]), len(source[i]))
		}
	}
}

// readFixtures returns the frames of the embedded inputs.
func readFixtures(t *testing.T) (video, audio [][]byte) {
	t.Helper()
	for _, in := range []struct {
		name string
		read func(io.Reader) ([][]byte, error)
		out  *[][]byte
	}{{fixtureVideo, readIVFFrames, &video}, {fixtureAudio, readOggPackets, &audio}} {
		f, err := fixtures.Open(in.name)
		if err != nil {
			t.Fatal(err)
		}
		*in.out, err = in.read(f)
		_ = f.Close()
		if err != nil || len(*in.out) == 0 {
			t.Fatalf("%s: %d frames, %v", in.name, len(*in.out), err)
		}
	}
	return video, audio
}

func reportString(r report) string {
	var b strings.Builder
	printReport(&b, r)
	return b.String()
}
