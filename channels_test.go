package simplepeer_test

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/pion/datachannel"
	"github.com/pion/webrtc/v3"
)

// A data channel the remote opens beyond the peer's own never stalls the
// peer's channel: all channels share one SCTP receive window, so the peer
// closes the extra one and drains what the remote sends on it, while its own
// channel carries 4 MiB intact. Either side may be the one that opens it.
func TestExtraRemoteChannelsDoNotStall(t *testing.T) {
	for _, byInitiator := range []bool{true, false} {
		t.Run(map[bool]string{true: "initiator opens it", false: "non-initiator opens it"}[byInitiator], func(t *testing.T) {
			p1, p2 := connectedPair(t)
			opener, other := pickPeers(p1, p2, byInitiator)

			extraClosed := make(chan int, 1)
			dc, err := opener.PeerConnection().CreateDataChannel("extra", nil)
			if err != nil {
				t.Fatal(err)
			}
			dc.OnOpen(func() {
				ch, err := dc.Detach()
				if err != nil {
					t.Errorf("Detach: %v", err)
					extraClosed <- 0
					return
				}
				go floodUntilClosed(ch, extraClosed)
			})

			msg := randomBytes(t, 4<<20)
			done := readAllAsync(other)
			_ = opener.SetWriteDeadline(time.Now().Add(testTimeout))
			if n, err := opener.Write(msg); n != len(msg) || err != nil {
				t.Fatalf("Write on the peer's channel beside the extra one: %d of %d, %v", n, len(msg), err)
			}
			sent := recv(t, extraClosed, "the refused channel to close")
			t.Logf("the remote sent %d bytes on the extra channel before it was closed", sent)
			if err := opener.Close(); err != nil {
				t.Fatal(err)
			}
			res := recv(t, done, "the peer's channel to the end")
			if res.err != nil || !bytes.Equal(res.data, msg) {
				t.Fatalf("read %d of %d bytes (intact %v), err %v", len(res.data), len(msg), bytes.Equal(res.data, msg), res.err)
			}
		})
	}
}

// floodUntilClosed writes 16 KiB messages on ch until a write fails (the
// remote closed the channel), then reports how much it wrote.
func floodUntilClosed(ch datachannel.ReadWriteCloser, closed chan<- int) {
	chunk := make([]byte, 16<<10)
	sent := 0
	// Reading sees the remote's close; writes alone could succeed into
	// Pion's queue for a while after it.
	go func() { _, _ = io.Copy(io.Discard, readerOf(ch)) }()
	for {
		if _, err := ch.Write(chunk); err != nil {
			closed <- sent
			return
		}
		sent += len(chunk)
		if sent > 64<<20 {
			closed <- sent // never closed: the test fails on the read
			return
		}
	}
}

type channelReader struct{ ch datachannel.ReadWriteCloser }

func (r channelReader) Read(b []byte) (int, error) {
	n, _, err := r.ch.ReadDataChannel(b)
	return n, err
}

func readerOf(ch datachannel.ReadWriteCloser) io.Reader { return channelReader{ch} }

// The extra channel's open does not replace the peer's channel: a message
// sent on the peer's own channel after it still arrives at OnData.
func TestExtraRemoteChannelKeepsFirst(t *testing.T) {
	p1, p2 := connectedPair(t)
	got := dataChan(p2)
	opened := make(chan struct{})
	dc, err := p1.PeerConnection().CreateDataChannel("extra", &webrtc.DataChannelInit{})
	if err != nil {
		t.Fatal(err)
	}
	dc.OnOpen(func() { close(opened) })
	recv(t, opened, "the extra channel to open")
	if err := p1.SendString("still here"); err != nil {
		t.Fatal(err)
	}
	if b := recv(t, got, "data on the first channel"); string(b) != "still here" {
		t.Fatalf("got %q", b)
	}
	if name := p2.ChannelName(); name == "extra" {
		t.Errorf("ChannelName is %q: the extra channel replaced the peer's", name)
	}
}
