package simplepeer_test

// Ports of simple-peer's test/stream.js: the duplex stream is Read/Write.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v3"
)

// readAllAsync reads p to the end in a goroutine and delivers the result.
func readAllAsync(p *simplepeer.Peer) <-chan readResult {
	ch := make(chan readResult, 1)
	go func() {
		b, err := io.ReadAll(p)
		ch <- readResult{b, err}
	}()
	return ch
}

type readResult struct {
	data []byte
	err  error
}

// pickPeers returns (writer, reader) from an initiator/non-initiator pair.
func pickPeers(p1, p2 *simplepeer.Peer, initiatorWrites bool) (w, r *simplepeer.Peer) {
	if initiatorWrites {
		return p1, p2
	}
	return p2, p1
}

// writeAndClose writes msg from w and closes w, and checks that r reads
// exactly msg and then io.EOF. The Write is bounded by a deadline, so a
// stalled transport fails the test instead of hanging it.
func writeAndClose(t *testing.T, w, r *simplepeer.Peer, msg []byte) {
	t.Helper()
	done := readAllAsync(r)
	_ = w.SetWriteDeadline(time.Now().Add(testTimeout))
	if n, err := w.Write(msg); n != len(msg) || err != nil {
		t.Fatalf("Write: %d of %d, %v (buffered %d)", n, len(msg), err, w.BufferedAmount())
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	res := recv(t, done, "reader EOF")
	if res.err != nil || !bytes.Equal(res.data, msg) {
		t.Fatalf("reader: %d of %d bytes, intact %v, err %v; want all of them, then io.EOF",
			len(res.data), len(msg), bytes.Equal(res.data, msg), res.err)
	}
}

// TestStreamSendBeforeConnect ports 'duplex stream: send data before
// "connect" event': data written before connect (beyond the 64 KiB
// pre-connect buffer, the write blocks until connect) is delivered after
// connect; closing right after the write still delivers it, and the reader
// then sees io.EOF.
func TestStreamSendBeforeConnect(t *testing.T) {
	tests := []struct {
		name            string
		initiatorWrites bool
		size            int
		closeEarly      bool // Close right after Write, before connect
	}{
		{"initiator writes abc", true, 3, false},
		{"non-initiator writes abc", false, 3, false},
		{"initiator writes 100 KiB", true, 100 << 10, false},
		{"initiator writes abc and closes", true, 3, true},
		{"non-initiator writes 100 KiB and closes", false, 100 << 10, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p1, p2 := newPeerPair(t, nil, nil)
			w, r := pickPeers(p1, p2, tt.initiatorWrites)
			msg := []byte("abc")
			if tt.size != len(msg) {
				msg = randomBytes(t, tt.size)
			}
			wrote := make(chan error, 1)
			go func() {
				n, err := w.Write(msg)
				if err == nil && n != len(msg) {
					err = io.ErrShortWrite
				}
				if err == nil && tt.closeEarly {
					err = w.Close()
				}
				wrote <- err
			}()
			if !tt.closeEarly {
				connected(t, p1, p2)
				got := make([]byte, len(msg))
				if _, err := io.ReadFull(r, got); err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("ReadFull: %v, equal %v", err, bytes.Equal(got, msg))
				}
				if err := recv(t, wrote, "Write"); err != nil {
					t.Fatalf("Write: %v", err)
				}
				_ = w.Close()
			}
			res := recv(t, readAllAsync(r), "reader EOF")
			if tt.closeEarly {
				if err := recv(t, wrote, "Write and Close"); err != nil {
					t.Fatalf("Write and Close: %v", err)
				}
			}
			if res.err != nil {
				t.Errorf("reader: %v after %d bytes, want io.EOF", res.err, len(res.data))
			}
			if tt.closeEarly && !bytes.Equal(res.data, msg) {
				t.Errorf("reader got %d bytes, want the %d written before connect", len(res.data), len(msg))
			}
			if !tt.closeEarly && len(res.data) != 0 {
				t.Errorf("reader got %d more bytes", len(res.data))
			}
			// The writer got no data and is finished.
			if n, err := w.Read(make([]byte, 8)); n != 0 || !errors.Is(err, net.ErrClosed) {
				t.Errorf("writer Read after Close: %d, %v; want 0, net.ErrClosed", n, err)
			}
		})
	}
}

// TestStreamRemoteGoneBeforeOpenHandled checks that data the remote wrote
// before closing is read even when the association ends before the reader's
// channel-open handler has run (the handler is held at its log line until
// the peer has seen the association close).
func TestStreamRemoteGoneBeforeOpenHandled(t *testing.T) {
	for _, initiatorWrites := range []bool{true, false} {
		name := map[bool]string{true: "initiator writes", false: "non-initiator writes"}[initiatorWrites]
		t.Run(name, func(t *testing.T) {
			gone := make(chan struct{})
			var goneOnce sync.Once
			or := testOptions(!initiatorWrites)
			or.LoggerFactory = stallingLogger{
				LeveledLogger: logging.NewDefaultLeveledLoggerForScope("test", logging.LogLevelDisabled, io.Discard),
				stall: func(format string) {
					switch {
					case strings.Contains(format, "SCTP association closed"):
						goneOnce.Do(func() { close(gone) })
					case strings.Contains(format, "channel %q open"):
						select {
						case <-gone:
						case <-time.After(testTimeout): // bounded: never hang
						}
					}
				},
			}
			ow := testOptions(initiatorWrites)
			var w, r *simplepeer.Peer
			if initiatorWrites {
				w, r = newPeerPair(t, ow, or)
			} else {
				r, w = newPeerPair(t, or, ow)
			}
			writeAndClose(t, w, r, []byte("abc"))
		})
	}
}

// TestStreamOneWay ports "duplex stream: send data one-way": after connect,
// one side writes "abc" and closes; the other reads "abc" and then io.EOF,
// and the writer reads nothing.
func TestStreamOneWay(t *testing.T) {
	for _, initiatorWrites := range []bool{true, false} {
		name := map[bool]string{true: "initiator writes", false: "non-initiator writes"}[initiatorWrites]
		t.Run(name, func(t *testing.T) {
			p1, p2 := connectedPair(t)
			w, r := pickPeers(p1, p2, initiatorWrites)
			writeAndClose(t, w, r, []byte("abc"))
			if n, err := r.Read(make([]byte, 8)); n != 0 || err != io.EOF {
				t.Errorf("Read after EOF: %d, %v; want 0, io.EOF", n, err)
			}
			if n, err := w.Read(make([]byte, 8)); n != 0 || !errors.Is(err, net.ErrClosed) {
				t.Errorf("writer Read: %d, %v; want 0, net.ErrClosed", n, err)
			}
			closeAll(t, r)
		})
	}
}

// TestStreamBackpressure ports "backpressure (large files)": ten writes of
// 64 KiB arrive intact. Then, with the reader stalled, Write blocks instead
// of buffering without bound (shown by a write deadline, after which the
// peer stays usable), and everything arrives once the reader reads.
func TestStreamBackpressure(t *testing.T) {
	p1, p2 := connectedPair(t)

	large := bytes.Repeat([]byte("a"), 64<<10)
	done := make(chan readResult, 1)
	go func() {
		b := make([]byte, 10*len(large))
		_, err := io.ReadFull(p2, b)
		done <- readResult{b, err}
	}()
	for i := 0; i < 10; i++ {
		if n, err := p1.Write(large); n != len(large) || err != nil {
			t.Fatalf("Write %d: %d, %v", i, n, err)
		}
	}
	res := recv(t, done, "10 x 64 KiB")
	if res.err != nil || !bytes.Equal(res.data, bytes.Repeat(large, 10)) {
		t.Fatalf("ReadFull: %v; data intact: %v", res.err, bytes.Equal(res.data, bytes.Repeat(large, 10)))
	}

	// Nobody reads p2 now. 8 MiB is more than the sender's, the SCTP
	// association's and the receiver's buffers together hold.
	total := randomBytes(t, 8<<20)
	if err := p1.SetWriteDeadline(time.Now().Add(300 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	n, err := p1.Write(total)
	if err != os.ErrDeadlineExceeded || n >= len(total) {
		t.Fatalf("Write to a stalled reader: %d of %d bytes, %v; want it blocked until os.ErrDeadlineExceeded", n, len(total), err)
	}
	if b := p1.BufferedAmount(); b > 2<<20 {
		t.Errorf("BufferedAmount %d while blocked: Write queued without bound", b)
	}
	if err := p1.SetWriteDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	go func() {
		b := make([]byte, len(total))
		_, err := io.ReadFull(p2, b)
		done <- readResult{b, err}
	}()
	if m, err := p1.Write(total[n:]); err != nil || m != len(total)-n {
		t.Fatalf("Write after the deadline was cleared: %d, %v", m, err)
	}
	res = recv(t, done, "8 MiB")
	if res.err != nil || !bytes.Equal(res.data, total) {
		t.Fatalf("ReadFull: %v; data intact: %v", res.err, bytes.Equal(res.data, total))
	}
}

// TestReadShortBuffer checks the byte-stream view: a Read with a buffer
// shorter than the message returns what fits and keeps the rest for the
// next Read, and messages are concatenated.
func TestReadShortBuffer(t *testing.T) {
	p1, p2 := connectedPair(t)
	if err := p1.SendString("hello world"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"hello", " wo", "rl", "d"} {
		buf := make([]byte, len(want))
		if want == "d" {
			buf = make([]byte, 64) // the rest, in a big buffer
		}
		n, err := p2.Read(buf)
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("Read(%d bytes): %q, %v; want %q", len(buf), buf[:n], err, want)
		}
	}
	for _, m := range []string{"abc", "defg", "h"} {
		if err := p1.Send([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	got := make([]byte, 8)
	if _, err := io.ReadFull(p2, got); err != nil || string(got) != "abcdefgh" {
		t.Fatalf("ReadFull over three messages: %q, %v", got, err)
	}
	if n, err := p2.Read(nil); n != 0 || err != nil {
		t.Errorf("Read(nil): %d, %v; want 0, nil", n, err)
	}
}

// TestCloseFlushes checks that Close right after a large Write delivers
// everything before the connection goes: the remote reads all 1 MiB and
// then io.EOF.
func TestCloseFlushes(t *testing.T) {
	for _, initiatorWrites := range []bool{true, false} {
		name := map[bool]string{true: "initiator writes", false: "non-initiator writes"}[initiatorWrites]
		t.Run(name, func(t *testing.T) {
			p1, p2 := connectedPair(t)
			w, r := pickPeers(p1, p2, initiatorWrites)
			writeAndClose(t, w, r, randomBytes(t, 1<<20))
		})
	}
}

// TestDataGoesToOnDataOrRead checks that each message goes exactly once to
// OnData (while set) or to Read, when the handler is set and unset while
// messages keep arriving.
func TestDataGoesToOnDataOrRead(t *testing.T) {
	p1, p2 := connectedPair(t)
	const perPhase = 200
	seen := make(chan uint64, 3*perPhase)
	viaHandler := make(chan struct{}, 3*perPhase)
	handler := func(b []byte) {
		if len(b) != 8 {
			t.Errorf("OnData got %d bytes, want 8", len(b))
			return
		}
		seen <- binary.BigEndian.Uint64(b)
		viaHandler <- struct{}{}
	}
	viaRead := make(chan struct{}, 3*perPhase)
	readerDone := make(chan error, 1)
	go func() {
		buf := make([]byte, 8)
		for {
			if _, err := io.ReadFull(p2, buf); err != nil {
				readerDone <- err
				return
			}
			seen <- binary.BigEndian.Uint64(buf)
			viaRead <- struct{}{}
		}
	}()
	next := uint64(0)
	sendPhase := func() {
		for i := 0; i < perPhase; i++ {
			var b [8]byte
			binary.BigEndian.PutUint64(b[:], next)
			next++
			if err := p1.Send(b[:]); err != nil {
				t.Fatalf("Send %d: %v", next-1, err)
			}
		}
	}

	sendPhase() // to Read
	recv(t, viaRead, "a message via Read")
	p2.OnData(handler)
	sendPhase() // the rest of phase 1 to Read, then to OnData
	recv(t, viaHandler, "a message via OnData")
	p2.OnData(nil)
	sendPhase() // some to OnData, then to Read

	count := map[uint64]int{}
	for len(count) < 3*perPhase {
		count[recv(t, seen, "every message")]++
	}
	// Wake the reader and make sure nothing else is buffered.
	if err := p2.SetReadDeadline(time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, readerDone, "reader"); err != os.ErrDeadlineExceeded {
		t.Errorf("reader ended with %v, want os.ErrDeadlineExceeded (no partial or extra data)", err)
	}
	for len(seen) > 0 {
		count[<-seen]++
	}
	for id, n := range count {
		if id >= 3*perPhase || n != 1 {
			t.Errorf("message %d delivered %d times", id, n)
		}
	}
	t.Logf("%d messages via Read, %d via OnData", len(viaRead)+1, len(viaHandler)+1)
}

// TestRemoteChannelWatchedBeforeOpen checks that the non-initiator's
// bufferedAmountLow threshold (32 KiB, which wakes a Write waiting for the
// window) is in place when Pion opens the remote's channel. Pion copies the
// threshold and handler it holds to the channel as it opens it; one set
// while it is opening could be overwritten by that copy, leaving a Write
// beyond the 64 KiB window blocked forever.
func TestRemoteChannelWatchedBeforeOpen(t *testing.T) {
	p1, p2 := newPeerPair(t, nil, nil)
	threshold := make(chan uint64, 1)
	p2.PeerConnection().SCTP().OnDataChannelOpened(func(dc *webrtc.DataChannel) {
		threshold <- dc.BufferedAmountLowThreshold()
	})
	connected(t, p1, p2)
	if got := recv(t, threshold, "channel opened"); got != 32<<10 {
		t.Fatalf("threshold when Pion opened the channel: %d, want %d", got, 32<<10)
	}
	// And a write well beyond the window completes.
	writeAndClose(t, p2, p1, randomBytes(t, 256<<10))
}
