// Command cat is netcat over WebRTC: what one side reads on stdin the
// other writes to stdout, both ways, with copy-paste signalling as in
// simple-peer's first README example (trickle off, so each side has exactly
// one signal to hand over).
//
// Run it in two terminals, one with -offer. Each prints one base64 line to
// stderr, to be pasted into the other's stdin: the first line of stdin is
// the remote's signal, the rest is data. When stdin ends the peer is closed
// (after the remote has acknowledged everything sent) and cat exits, unless
// -keep is given: then it goes on receiving until the remote closes. When
// the remote closes, cat exits once everything received is written out.
//
// With no -stun, only host candidates are used, loopback included, so two
// cats on one machine connect with no network at all. Across NATs pass a
// STUN server, e.g. -stun stun:stun.l.google.com:19302.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/webrtc/v3"
)

func main() {
	var c config
	flag.BoolVar(&c.offer, "offer", false, "be the initiator: print the offer first, then read the answer")
	flag.StringVar(&c.stun, "stun", "", "STUN server URL, e.g. stun:stun.l.google.com:19302 (default: host and loopback candidates only)")
	flag.BoolVar(&c.keep, "keep", false, "when stdin ends, keep receiving until the remote closes (default: close at once, after the remote has acknowledged what was sent)")
	flag.DurationVar(&c.timeout, "timeout", 30*time.Second, "how long to wait for the connection once the remote's signal is in")
	flag.Parse()

	if err := run(c, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "cat:", err)
		os.Exit(1)
	}
}

// config holds the command-line flags.
type config struct {
	offer   bool
	stun    string
	keep    bool
	timeout time.Duration
}

// errInterrupted is returned by run after Ctrl-C.
var errInterrupted = errors.New("interrupted")

// run connects to the remote cat and copies stdin to it and it to stdout
// until either side closes.
func run(c config, stdin io.Reader, stdout, stderr io.Writer) error {
	conf := webrtc.Configuration{}
	settings := simplepeer.DefaultSettingEngine()
	if c.stun != "" {
		conf.ICEServers = []webrtc.ICEServer{{URLs: []string{c.stun}}}
	} else {
		// Pion skips loopback addresses by default; with them two cats on
		// one machine connect even when it has no network interface up.
		settings.SetIncludeLoopbackCandidate(true)
	}
	peer, err := simplepeer.New(&simplepeer.Options{
		Initiator:      c.offer,
		DisableTrickle: true,
		Config:         &conf,
		SettingEngine:  settings,
	})
	if err != nil {
		return err
	}
	// With trickle off the peer signals once: the offer, or the answer.
	signals := make(chan simplepeer.Signal, 1)
	peer.OnSignal(func(s simplepeer.Signal) {
		select {
		case signals <- s:
		default:
		}
	})
	// No OnError: a failure reaches run anyway, from WaitConnected or Read.

	in := bufio.NewReader(stdin)
	if !c.offer {
		fmt.Fprintln(stderr, "cat: paste the line printed by 'cat -offer' here:")
		if err := readSignal(peer, in); err != nil {
			peer.Destroy(err)
			return err
		}
	}
	if err := printSignal(peer, signals, stderr, c.offer); err != nil {
		peer.Destroy(err)
		return err
	}
	if c.offer {
		if err := readSignal(peer, in); err != nil {
			peer.Destroy(err)
			return err
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	err = peer.WaitConnected(ctx)
	cancel()
	if err != nil {
		err = fmt.Errorf("failed to connect: %w", err)
		peer.Destroy(err)
		return err
	}
	fmt.Fprintln(stderr, "cat: connected")
	// Until now Ctrl-C just ends the process; from now on it closes the
	// peer first, so that the remote learns of it at once.
	interrupt := make(chan os.Signal, 1)
	signal.Notify(interrupt, os.Interrupt)
	defer signal.Stop(interrupt)
	return pump(peer, in, stdout, c.keep, interrupt)
}

// printSignal waits for the peer's one signal and prints it as a line to
// paste into the other side.
func printSignal(peer *simplepeer.Peer, signals <-chan simplepeer.Signal, stderr io.Writer, offer bool) error {
	var s simplepeer.Signal
	select {
	case s = <-signals:
	case <-peer.Done():
		return errors.New("peer closed before signalling")
	}
	line, err := encodeSignal(s)
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, "cat: paste this line into the other side:")
	fmt.Fprintln(stderr, line)
	if offer {
		fmt.Fprintln(stderr, "cat: then paste the other side's line here:")
	}
	return nil
}

// readSignal reads the first line of stdin and gives it to the peer.
func readSignal(peer *simplepeer.Peer, in *bufio.Reader) error {
	line, err := in.ReadString('\n')
	if err != nil && (line == "" || !errors.Is(err, io.EOF)) {
		return fmt.Errorf("failed to read the remote's signal from stdin: %w", err)
	}
	s, err := decodeSignal(line)
	if err != nil {
		return err
	}
	return peer.Signal(s)
}

// pump copies in to the peer and the peer to out. It returns when the
// remote has closed and everything received is written out, or when in has
// ended and the peer is closed (Close waits for the remote's
// acknowledgement of what was sent). With keep, the end of in does not
// close the peer: the peer has no half-close, so closing would also stop
// what the remote still sends.
func pump(peer *simplepeer.Peer, in io.Reader, out io.Writer, keep bool, interrupt <-chan os.Signal) error {
	sent := make(chan error, 1)
	go func() {
		_, err := io.Copy(peer, in)
		if err != nil || !keep {
			peer.Close() // flushes; ends the receiving copy too
		}
		sent <- err
	}()
	received := make(chan error, 1)
	go func() {
		_, err := io.Copy(out, peer)
		received <- err
	}()

	var sendErr, recvErr error
	select {
	case sendErr = <-sent:
		recvErr = <-received
	case recvErr = <-received:
		// The remote closed (or the peer failed): the sending copy may
		// still be blocked reading stdin, so it is not waited for.
		peer.Close()
	case <-interrupt:
		peer.Close()
		return errInterrupted
	}
	if recvErr != nil && !errors.Is(recvErr, net.ErrClosed) {
		return fmt.Errorf("failed to receive: %w", recvErr)
	}
	if sendErr != nil && !errors.Is(sendErr, net.ErrClosed) {
		return fmt.Errorf("failed to send: %w", sendErr)
	}
	return nil
}
