package simplepeer_test

import (
	"bytes"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/transport/v2/vnet"
	"github.com/pion/webrtc/v3"
)

// AddTrackSender returns the sender; the remote's RTCP for it reaches
// OnRTCP with that sender: a keyframe request the remote app sends with
// WriteRTCP, and the receiver reports Pion's interceptors send on their
// own (so they started with the media).
func TestRTCPReachesTheApp(t *testing.T) {
	m := newMedia(t)
	mp := m.pair(nil, nil)
	connected(t, mp.p1, mp.p2)
	type rtcpFrom struct {
		sender *webrtc.RTPSender
		pkt    rtcp.Packet
	}
	got := make(chan rtcpFrom, 256)
	mp.p1.OnRTCP(func(s *webrtc.RTPSender, pkts []rtcp.Packet) {
		for _, pkt := range pkts {
			select {
			case got <- rtcpFrom{s, pkt}:
			default:
			}
		}
	})
	v := m.newTrack(webrtc.RTPCodecTypeVideo, "p1")
	sender, err := mp.p1.AddTrackSender(v)
	if err != nil || sender == nil {
		t.Fatalf("AddTrackSender: %v, %v", sender, err)
	}
	if s := mp.p1.Sender(v); s != sender {
		t.Errorf("Sender(track) = %p, want the AddTrackSender's %p", s, sender)
	}
	if trs := mp.p1.Transceivers(); len(trs) != 1 || trs[0].Sender() != sender {
		t.Errorf("Transceivers() = %v, want the video track's", trs)
	}
	remote := mp.rx2.expectTracks(t, v)[0]
	remote.waitPackets(t, v.ID(), 10)

	ssrc := uint32(remote.track.SSRC())
	if err := mp.p2.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
		t.Fatalf("WriteRTCP: %v", err)
	}
	var pli, rr bool
	deadline := time.After(testTimeout)
	for !pli || !rr {
		select {
		case r := <-got:
			if r.sender != sender {
				t.Fatalf("RTCP %T came with sender %p, want %p", r.pkt, r.sender, sender)
			}
			switch pkt := r.pkt.(type) {
			case *rtcp.PictureLossIndication:
				pli = pli || pkt.MediaSSRC == ssrc
			case *rtcp.ReceiverReport:
				for _, rep := range pkt.Reports {
					rr = rr || rep.SSRC == ssrc
				}
			}
		case <-deadline:
			t.Fatalf("OnRTCP saw keyframe request %v, receiver report %v", pli, rr)
		}
	}
}

// A remote flooding RTCP while the OnRTCP handler is stuck: at most 256
// packets wait for it, the rest are dropped and counted.
func TestRTCPFloodIsBounded(t *testing.T) {
	m := newMedia(t)
	mp := m.pair(nil, nil)
	connected(t, mp.p1, mp.p2)
	release := make(chan struct{})
	var delivered int
	mp.p1.OnRTCP(func(*webrtc.RTPSender, []rtcp.Packet) {
		<-release
		delivered++
	})
	v := m.newTrack(webrtc.RTPCodecTypeVideo, "p1")
	if err := mp.p1.AddTrack(v); err != nil {
		t.Fatal(err)
	}
	remote := mp.rx2.expectTracks(t, v)[0]
	pli := []rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(remote.track.SSRC())}}
	sent := 0
	for mp.p1.Summary().RTCPDropped == 0 {
		if sent >= 100000 {
			t.Fatalf("%d keyframe requests sent and none dropped", sent)
		}
		if err := mp.p2.WriteRTCP(pli); err != nil {
			t.Fatal(err)
		}
		sent++
	}
	close(release)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = mp.p1.Close()
	}()
	recv(t, done, "close")
	if delivered > 256+1 {
		t.Errorf("%d RTCP packets reached the stuck handler, want at most 257", delivered)
	}
	t.Logf("%d requests sent, %d delivered, %d dropped", sent, delivered, mp.p1.Summary().RTCPDropped)
}

// A remote RemoveTrack and RemoveStream end those tracks on this side, and
// only those.
func TestTrackEnded(t *testing.T) {
	m := newMedia(t)
	mp := m.pair(nil, nil)
	connected(t, mp.p1, mp.p2)
	ended := make(chan *webrtc.TrackRemote, 8)
	mp.p2.OnTrackEnded(func(tr *webrtc.TrackRemote) { ended <- tr })
	keep, drop := m.newTrack(webrtc.RTPCodecTypeAudio, "keep"), m.newTrack(webrtc.RTPCodecTypeVideo, "drop")
	stream := m.newStream()
	before := mp.neg.counts()
	if err := mp.p1.AddTrack(keep); err != nil {
		t.Fatal(err)
	}
	if err := mp.p1.AddTrack(drop); err != nil {
		t.Fatal(err)
	}
	if err := mp.p1.AddStream(stream...); err != nil {
		t.Fatal(err)
	}
	mp.neg.waitNegotiated(t, before.negotiated[0]+1, before.negotiated[1]+1)
	mp.rx2.expectTracks(t, append([]webrtc.TrackLocal{keep, drop}, stream...)...)

	removed := func(what string, do func() error, want ...webrtc.TrackLocal) {
		t.Helper()
		before := mp.neg.counts()
		if err := do(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		mp.neg.waitNegotiated(t, before.negotiated[0]+1, before.negotiated[1]+1)
		ids := map[string]bool{}
		for range want {
			tr := recv(t, ended, what+": a track ending")
			ids[tr.ID()] = true
		}
		for _, w := range want {
			if !ids[w.ID()] {
				t.Errorf("%s: ended %v, want %s among them", what, ids, w.ID())
			}
		}
	}
	removed("RemoveTrack", func() error { return mp.p1.RemoveTrack(drop) }, drop)
	removed("RemoveStream", func() error { return mp.p1.RemoveStream(stream...) }, stream...)
	select {
	case tr := <-ended:
		t.Errorf("track %s ended, but only %s, and the stream, were removed", tr.ID(), drop.ID())
	default:
	}
}

// Summary counts the data channel's messages and bytes both ways, for
// Send and Write, OnData and Read alike, and reports the path.
func TestSummary(t *testing.T) {
	p1, p2 := connectedPair(t)
	for _, n := range []int{10, 20, 30} {
		if err := p1.Send(make([]byte, n)); err != nil {
			t.Fatal(err)
		}
	}
	big := bytes.Repeat([]byte{7}, 40000) // three chunks of at most 16 KiB
	if _, err := p1.Write(big); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(p2, make([]byte, 60+len(big))); err != nil {
		t.Fatal(err)
	}
	s1, s2 := p1.Summary(), p2.Summary()
	if s1.MessagesSent != 6 || s1.BytesSent != 40060 {
		t.Errorf("sender: %d messages, %d bytes sent; want 6, 40060", s1.MessagesSent, s1.BytesSent)
	}
	if s2.MessagesReceived != 6 || s2.BytesReceived != 40060 {
		t.Errorf("receiver: %d messages, %d bytes received; want 6, 40060", s2.MessagesReceived, s2.BytesReceived)
	}
	if s1.Pair == nil || s1.Pair.Local.Typ != webrtc.ICECandidateTypeHost || s1.SendWindow < 64<<10 {
		t.Errorf("sender summary %+v: want a host pair and a window of at least 64 KiB", s1)
	}
	p1.Destroy(nil)
	if s := p1.Summary(); s.Pair != nil || s.MessagesSent != 6 {
		t.Errorf("after destroy: %+v, want the counters only", s)
	}
}

// On a path that loses packets SCTP retransmits, and Summary counts it
// (from Pion's own log calls: this fails if pion/sctp changes their
// formats).
func TestSummaryCountsRetransmissions(t *testing.T) {
	lan := newCuttableLAN(t, 10*time.Millisecond)
	var lossy atomic.Bool
	var n atomic.Int64
	lan.router.AddChunkFilter(func(vnet.Chunk) bool { return !lossy.Load() || n.Add(1)%25 != 0 })
	p1, p2 := newPeerPair(t, lan.peerOn(t, true, "10.0.0.2"), lan.peerOn(t, false, "10.0.0.9"))
	connected(t, p1, p2)
	lossy.Store(true)
	if err := recv(t, transfer(t, p1, p2, randomBytes(t, 1<<20)), "the transfer"); err != nil {
		t.Fatal(err)
	}
	lossy.Store(false)
	s := p1.Summary()
	t.Logf("sender: %d retransmissions, %d timeouts, %d messages sent", s.Retransmissions, s.Timeouts, s.MessagesSent)
	if s.Retransmissions == 0 {
		t.Errorf("1 MiB across a path dropping 1 packet in 25: Summary counts no retransmission")
	}
}
