// Command sendfile sends a file over a simplepeer connection with io.Copy,
// showing progress and checking the SHA-256 of what arrived.
//
// # In one process
//
//	go run ./examples/sendfile -size 200MB
//
// generates 200 MB of pseudo-random data and sends it between two peers in
// this process (loopback, no network needed), then prints the rate.
// `-send FILE` sends a file of yours the same way.
//
// # Between two processes (or machines)
//
// With -signal the two peers are two processes that meet in a room of a
// y-webrtc signalling server (go run ./examples/signalserver):
//
//	sendfile -signal ws://HOST:8090 -room NAME -recv DIR    # on one machine
//	sendfile -signal ws://HOST:8090 -room NAME -send FILE   # on another
//
// Either may start first. The sender sends the file's name and size, then
// its bytes, then their SHA-256; the receiver writes them to a temporary
// file in DIR, checks the size and the hash, renames it to DIR/NAME (the
// base name of FILE) and tells the sender, and both print the rate and exit
// 0. A bad hash or a short file exits 1 on both sides and leaves nothing in
// DIR. The receiver refuses a name with a directory part, "..", or one that
// exists in DIR (unless -force). -size SIZE instead of -send sends
// generated data as "generated-SIZE.bin".
//
// A room is for one sender and one receiver at a time. Member IDs say
// which role they have ("send-…", "recv-…"), a sender pairs only with a
// receiver, and the first pair to connect is the one used: any further
// member (a second sender or receiver) is ignored, its connection closed
// as soon as it is up. A member turned away that way exits 1 at once; one
// that never got connected keeps waiting for a partner until -timeout.
//
// No ICE server is used unless -stun is given, so only host candidates
// (loopback included) are tried: enough on one machine or a LAN, and
// nothing goes to the internet. -timeout bounds the whole run in both
// modes, the wait for the other side included.
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
	"os/signal"
	"syscall"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/webrtc/v3"
)

// config holds the command-line flags.
type config struct {
	size, send, recv string
	signal, room     string
	stun             string
	force            bool
	timeout          time.Duration
}

func main() {
	c, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		os.Exit(2) // parseFlags has printed why, and the usage
	}

	ctx, cancel := context.WithTimeoutCause(context.Background(), c.timeout, fmt.Errorf("timed out after %v", c.timeout))
	defer cancel()
	if c.signal == "" {
		if err := runLocal(ctx, c); err != nil {
			log.Fatal(err)
		}
		return
	}
	ctx, stop := interruptible(ctx)
	if c.recv != "" {
		var res received
		if res, err = receiveRemote(ctx, c, os.Stderr); err == nil {
			fmt.Printf("received %s: %s\n", res.path, res.result)
		}
	} else {
		var res received
		if res, err = sendRemote(ctx, c, os.Stderr); err == nil {
			fmt.Printf("sent %s: %s; the receiver has it\n", res.path, res.result)
		}
	}
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sendfile:", err)
		os.Exit(1)
	}
}

// parseFlags parses the command line. It prints what is wrong and the
// usage to errOut, and returns flag.ErrHelp after -h.
func parseFlags(args []string, errOut io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("sendfile", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.StringVar(&c.size, "size", "50MB", "send `SIZE` bytes of generated data (KB, MB, GB: powers of 1000; KiB, MiB, GiB: of 1024)")
	fs.StringVar(&c.send, "send", "", "send `FILE` instead of generated data")
	fs.StringVar(&c.signal, "signal", "", "signalling server `URL`, e.g. ws://127.0.0.1:8090: send to (-send, -size) or receive from (-recv) another sendfile in -room")
	fs.StringVar(&c.room, "room", "sendfile", "with -signal: the room `NAME` the sender and the receiver meet in")
	fs.StringVar(&c.recv, "recv", "", "with -signal: receive one file into `DIR`")
	fs.BoolVar(&c.force, "force", false, "with -recv: replace a file of the same name in DIR")
	fs.StringVar(&c.stun, "stun", "", "with -signal: STUN server `URL`, e.g. stun:stun.l.google.com:19302 (default: none, host and loopback candidates only)")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Minute, "give up after this long (with -signal: the wait for the other side included)")
	fs.Usage = func() {
		fmt.Fprintf(errOut, "Usage:\n"+
			"  sendfile [-size SIZE | -send FILE]                            two peers in this process\n"+
			"  sendfile -signal URL [-room NAME] -recv DIR [-force]          receive one file into DIR\n"+
			"  sendfile -signal URL [-room NAME] (-send FILE | -size SIZE)   send it\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, err // printed by fs
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if err := c.check(set, fs.Args()); err != nil {
		fmt.Fprintln(errOut, "sendfile:", err)
		fs.Usage()
		return c, err
	}
	return c, nil
}

// check reports a bad combination of flags; set holds the flags given,
// args the arguments after them.
func (c config) check(set map[string]bool, args []string) error {
	switch {
	case len(args) > 0:
		return fmt.Errorf("unexpected argument %q", args[0])
	case set["send"] && set["size"]:
		return errors.New("give -send or -size, not both")
	case c.timeout <= 0:
		return errors.New("-timeout must be positive")
	case c.signal == "":
		for _, f := range []string{"room", "recv", "force", "stun"} {
			if set[f] {
				return fmt.Errorf("-%s needs -signal", f)
			}
		}
	case c.recv != "" && (set["send"] || set["size"]):
		return errors.New("-recv receives: it takes no -send or -size")
	case c.recv == "" && !set["send"] && !set["size"]:
		return errors.New("with -signal, give -recv DIR to receive, or -send FILE (or -size SIZE) to send")
	case c.recv == "" && set["force"]:
		return errors.New("-force goes with -recv")
	case c.room == "":
		return errors.New("-room is empty")
	}
	if c.recv != "" {
		if st, err := os.Stat(c.recv); err != nil {
			return err
		} else if !st.IsDir() {
			return fmt.Errorf("-recv %s: not a directory", c.recv)
		}
	}
	if c.send != "" {
		if st, err := os.Stat(c.send); err != nil {
			return err
		} else if !st.Mode().IsRegular() {
			return fmt.Errorf("-send %s: not a regular file", c.send)
		}
	} else if _, err := parseSize(c.size); err != nil {
		return err
	}
	return nil
}

// interruptible returns ctx ended also by the first SIGINT or SIGTERM, with
// "interrupted" as its cause (a second one ends the process at once); stop
// releases the signals.
func interruptible(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			signal.Stop(sigs)
			cancel(errors.New("interrupted"))
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel(nil)
	}
}

// runLocal sends between two peers in this process.
func runLocal(ctx context.Context, c config) error {
	src, n, err := source(c.send, c.size)
	if err != nil {
		return err
	}
	res, err := sendLocal(ctx, src, n, newProgress(n, os.Stderr, "sending"))
	if err != nil {
		return err
	}
	fmt.Printf("sent %s: %s\n", res, map[bool]string{true: "match", false: "MISMATCH"}[res.ok])
	if !res.ok {
		os.Exit(1)
	}
	return nil
}

// aLongTimeAgo is a deadline in the past: it releases blocked Reads and
// Writes at once.
var aLongTimeAgo = time.Unix(1, 0)

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

// String reads "N bytes in T: R MB/s (R' MiB/s); sha256 H".
func (r result) String() string {
	s := r.elapsed.Seconds()
	return fmt.Sprintf("%d bytes in %v: %.1f MB/s (%.1f MiB/s); sha256 %x",
		r.bytes, r.elapsed.Round(time.Millisecond), float64(r.bytes)/s/1e6, float64(r.bytes)/s/(1<<20), r.sum)
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
