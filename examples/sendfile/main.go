// Command sendfile sends a file over a simplepeer connection with io.Copy,
// showing progress and checking the SHA-256 of what arrived.
//
//	go run ./examples/sendfile -size 200MB
//
// generates 200 MB of pseudo-random data and sends it between two peers in
// this process (loopback, no network needed), then prints the rate.
// `-send FILE` sends a file of yours the same way.
package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/webrtc/v3"
)

func main() {
	size := flag.String("size", "50MB", "how much generated data to send (KB, MB, GB: powers of 1000; KiB, MiB, GiB: of 1024)")
	file := flag.String("send", "", "send this file instead of generated data")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up after this long")
	flag.Parse()

	src, n, err := source(*file, *size)
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	res, err := sendLocal(ctx, src, n, newProgress(n, os.Stderr))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("sent %d bytes in %v: %.1f MB/s (%.1f MiB/s); sha256 %x: %s\n",
		res.bytes, res.elapsed.Round(time.Millisecond), float64(res.bytes)/res.elapsed.Seconds()/1e6,
		float64(res.bytes)/res.elapsed.Seconds()/(1<<20), res.sum, map[bool]string{true: "match", false: "MISMATCH"}[res.ok])
	if !res.ok {
		os.Exit(1)
	}
}

// source opens the file to send, or generates size bytes.
func source(file, size string) (io.Reader, int64, error) {
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, 0, err
		}
		st, err := f.Stat()
		if err != nil {
			return nil, 0, err
		}
		return f, st.Size(), nil
	}
	n, err := parseSize(size)
	if err != nil {
		return nil, 0, err
	}
	return io.LimitReader(chachaReader{rand.NewChaCha8([32]byte{7})}, n), n, nil
}

type chachaReader struct{ c *rand.ChaCha8 }

func (r chachaReader) Read(b []byte) (int, error) { return r.c.Read(b) }

// result is what one transfer measured.
type result struct {
	bytes   int64
	elapsed time.Duration
	sum     []byte
	ok      bool // the receiver's SHA-256 matches the sender's
}

// sendLocal connects two peers in this process and copies src from one to
// the other through their net.Conn, hashing both ends.
func sendLocal(ctx context.Context, src io.Reader, n int64, progress io.WriteCloser) (result, error) {
	se := simplepeer.DefaultSettingEngine()
	se.SetIncludeLoopbackCandidate(true) // works with no network at all
	opts := func(initiator bool) *simplepeer.Options {
		return &simplepeer.Options{Initiator: initiator, Config: &webrtc.Configuration{}, SettingEngine: se}
	}
	sender, err := simplepeer.New(opts(true))
	if err != nil {
		return result{}, err
	}
	defer sender.Destroy(nil)
	receiver, err := simplepeer.New(opts(false))
	if err != nil {
		return result{}, err
	}
	defer receiver.Destroy(nil)
	sender.OnSignal(func(s simplepeer.Signal) { _ = receiver.Signal(s) })
	receiver.OnSignal(func(s simplepeer.Signal) { _ = sender.Signal(s) })
	if err := sender.WaitConnected(ctx); err != nil {
		return result{}, err
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = sender.SetDeadline(deadline)
		_ = receiver.SetDeadline(deadline)
	}

	sent, got := sha256.New(), sha256.New()
	start := time.Now()
	copied := make(chan error, 1)
	go func() {
		_, err := io.Copy(sender, io.TeeReader(src, sent))
		if err == nil {
			err = sender.Close() // flushes: the receiver reads to io.EOF
		}
		copied <- err
	}()
	m, err := io.Copy(io.MultiWriter(got, progress), receiver)
	elapsed := time.Since(start)
	if err == nil {
		err = <-copied
	}
	if err == nil && m != n {
		err = fmt.Errorf("received %d of %d bytes", m, n)
	}
	_ = progress.Close()
	return result{bytes: m, elapsed: elapsed, sum: got.Sum(nil), ok: err == nil && sameSum(sent, got)}, err
}

func sameSum(a, b hash.Hash) bool { return string(a.Sum(nil)) == string(b.Sum(nil)) }

var errBadSize = errors.New("bad size: want a number with an optional KB, MB, GB, KiB, MiB or GiB")
