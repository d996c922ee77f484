package simplepeer_test

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/webrtc/v3"
)

// waitUntil polls cond every few milliseconds (it reads state no event
// announces) and fails the test after testTimeout.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		<-tick.C
	}
}

// A remote flooding a peer whose OnData handler is blocked cannot make it
// hold more than the receive budget, counted in bytes plus a fixed cost per
// message, however small the messages: the reader stops and SCTP's receive
// window slows the remote. Once the handler resumes, every message arrives,
// once, in order, including the 50,000 sent while it was blocked (more than
// an SCTP stream's 16-bit sequence numbers can tell apart in one queue).
func TestFloodOfTinyMessagesIsBounded(t *testing.T) {
	for _, size := range []int{0, 4} {
		t.Run(map[int]string{0: "empty", 4: "4 bytes"}[size], func(t *testing.T) {
			p1, p2 := connectedPair(t)
			const n = 50000
			gate := make(chan struct{})
			got := make(chan []byte, n+1)
			p2.OnData(func(b []byte) {
				<-gate
				got <- b
			})
			sent := make(chan error, 1)
			go func() {
				msg := make([]byte, size)
				for i := range n {
					if size > 0 {
						binary.BigEndian.PutUint32(msg, uint32(i))
					}
					if err := p1.Send(msg); err != nil {
						sent <- err
						return
					}
				}
				sent <- nil
			}()
			// The reader stops once the budget is spent.
			waitUntil(t, "the receiver's budget is spent", func() bool { return readerStopped(p2, size) })
			// Hold the handler until everything is sent: the rest waits
			// in SCTP's receive queue.
			if err := recv(t, sent, "the sender"); err != nil {
				t.Fatalf("Send: %v", err)
			}
			charged, events := simplepeer.InboxState(p2)
			if charged > simplepeer.RxBudget || events > simplepeer.RxBudget/simplepeer.RxMessageCost {
				t.Errorf("holding %d bytes of budget in %d messages; bounds are %d and %d",
					charged, events, simplepeer.RxBudget, simplepeer.RxBudget/simplepeer.RxMessageCost)
			}
			close(gate)
			for i := range n {
				b := recv(t, got, "a flooded message")
				if len(b) != size || (size > 0 && binary.BigEndian.Uint32(b) != uint32(i)) {
					t.Fatalf("message %d: got %x (%d bytes)", i, b, len(b))
				}
			}
			charged, events = simplepeer.InboxState(p2)
			if charged != 0 || events != 0 {
				t.Errorf("after delivery the peer still holds %d bytes of budget and %d events", charged, events)
			}
		})
	}
}

// The same bound holds for Read: a remote writing to a peer nobody reads
// fills at most the budget, and Read then gets every byte.
func TestUnreadStreamIsBounded(t *testing.T) {
	p1, p2 := connectedPair(t)
	msg := randomBytes(t, 8<<20)
	done := make(chan error, 1)
	go func() {
		_ = p1.SetWriteDeadline(time.Now().Add(testTimeout))
		_, err := p1.Write(msg)
		done <- err
	}()
	waitUntil(t, "the receiver's budget is spent", func() bool { return readerStopped(p2, 16<<10) })
	if charged, _ := simplepeer.InboxState(p2); charged > simplepeer.RxBudget {
		t.Errorf("holding %d bytes of budget, the bound is %d", charged, simplepeer.RxBudget)
	}
	buf := make([]byte, len(msg))
	_ = p2.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := io.ReadFull(p2, buf); err != nil {
		t.Fatalf("Read: %v", err)
	}
	if string(buf) != string(msg) {
		t.Fatal("Read returned other bytes than were written")
	}
	if err := recv(t, done, "Write"); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

// Send is bounded: against a remote that stopped reading it blocks once
// the send window (64 KiB on loopback) is unacknowledged, fails with ERR_DATA_CHANNEL wrapping
// os.ErrDeadlineExceeded when the write deadline passes, leaves the channel
// open, and resumes when the remote catches up.
func TestSendIsBounded(t *testing.T) {
	p1, p2 := connectedPair(t)
	release := fillWindow(t, p1, p2)
	if b, _, w := bufferedAndWindow(p1); b > w+16<<10 || w > simplepeer.MaxWindow {
		t.Errorf("BufferedAmount %d with Send blocked; the bound is the largest window %d (at most %d) plus one message", b, w, simplepeer.MaxWindow)
	}
	// A full remote may still take the last zero-window probe, a packet's
	// worth: a Send can get through then, and the next cannot. So up to
	// two 16 KiB messages may pass; the third blocks.
	var err error
	for i := 0; i < 3; i++ {
		_ = p1.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
		if err = p1.Send(make([]byte, 16<<10)); err != nil {
			break
		}
	}
	if simplepeer.Code(err) != simplepeer.ErrCodeDataChannel || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Send past the deadline: %v, want ERR_DATA_CHANNEL wrapping os.ErrDeadlineExceeded", err)
	}
	if !p1.Connected() || !p2.Connected() {
		t.Fatal("a Send timeout closed the connection")
	}
	_ = p1.SetWriteDeadline(time.Time{})
	release()
	if err := p1.SendString("after"); err != nil {
		t.Fatalf("Send after the remote caught up: %v", err)
	}
}

// Events held for handlers that are never set do not pile up: state
// changes and negotiated keep only the latest, and setting the handler
// delivers that one.
func TestHeldStateEventsKeepLatest(t *testing.T) {
	p1, p2 := connectedPair(t)
	negotiated := make(chan struct{}, 16)
	p1.OnNegotiated(func() { negotiated <- struct{}{} })
	for i := range 5 {
		if err := p1.AddTransceiver(webrtc.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
		recv(t, negotiated, "negotiation "+string(rune('1'+i)))
	}
	// Every event of p2's negotiations has been queued before its answer;
	// a signal it emits now is delivered after all of them.
	barrier := make(chan struct{})
	p2.OnSignal(func(s simplepeer.Signal) {
		if s.Type == simplepeer.SignalRenegotiate {
			close(barrier)
		}
	})
	if err := p2.Negotiate(); err != nil {
		t.Fatal(err)
	}
	recv(t, barrier, "p2's renegotiate signal")
	held := simplepeer.HeldEvents(p2)
	for _, kind := range []string{"iceState", "signalingState", "negotiated"} {
		if held[kind] != 1 {
			t.Errorf("%s: %d events held, want only the latest (%v)", kind, held[kind], held)
		}
	}
	states := make(chan webrtc.SignalingState, 16)
	p2.OnSignalingStateChange(func(s webrtc.SignalingState) { states <- s })
	if s := recv(t, states, "the held signaling state"); s != webrtc.SignalingStateStable {
		t.Errorf("held signaling state %s, want the latest, stable", s)
	}
	// Held events are flushed in the order their handlers were set: once
	// negotiated's arrives, every held signaling state has been delivered.
	done := make(chan struct{}, 1)
	p2.OnNegotiated(func() { done <- struct{}{} })
	recv(t, done, "the held negotiated event")
	select {
	case s := <-states:
		t.Errorf("a second held signaling state was delivered: %s", s)
	default:
	}
}

// bufferedAndWindow returns p's unacknowledged bytes and its send window,
// now and the largest so far: the window shrinks when the remote stops
// acknowledging, below what was sent while it was larger.
func bufferedAndWindow(p *simplepeer.Peer) (buffered, window, peak uint64) {
	window, peak = simplepeer.SendWindow(p)
	return p.BufferedAmount(), window, peak
}
