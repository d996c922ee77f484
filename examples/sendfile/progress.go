package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// newProgress returns a writer that shows how much of total has been
// written to it: a progress bar (bytes, rate, ETA) on a terminal, a plain
// line per 10 % otherwise (a log, a pipe, CI). what ("sending",
// "receiving") labels the bar. Close may be called more than once.
func newProgress(total int64, out *os.File, what string) io.WriteCloser {
	if st, err := out.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
		return &closeOnce{WriteCloser: progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(out),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(out) }),
			progressbar.OptionSetDescription(what),
		)}
	}
	return &lines{total: total, out: out, start: time.Now()}
}

// lines prints "progress: 30% (15.0 MB, 41.2 MB/s)" each time another
// tenth of the total has gone by.
type lines struct {
	total, done int64
	next        int64 // the next tenth to report
	out         io.Writer
	start       time.Time
}

func (l *lines) Write(b []byte) (int, error) {
	l.done += int64(len(b))
	for l.total > 0 && l.next < 10 && l.done*10 >= l.total*(l.next+1) {
		l.next++
		rate := float64(l.done) / time.Since(l.start).Seconds() / 1e6
		fmt.Fprintf(l.out, "progress: %d%% (%.1f MB, %.1f MB/s)\n", l.next*10, float64(l.done)/1e6, rate)
	}
	return len(b), nil
}

func (l *lines) Close() error { return nil }

// closeOnce passes on the first Close only.
type closeOnce struct {
	io.WriteCloser
	once sync.Once
}

func (c *closeOnce) Close() (err error) {
	c.once.Do(func() { err = c.WriteCloser.Close() })
	return err
}
