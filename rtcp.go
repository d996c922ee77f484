package simplepeer

import (
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v3"
)

// maxQueuedRTCP bounds the RTCP events waiting for the OnRTCP handler; past
// it packets are dropped (and counted in Summary.RTCPDropped), as RTCP is
// lossy by design: a remote sending a flood cannot grow the queue.
const maxQueuedRTCP = 256

// readRTCP reads a sender's RTCP until the sender stops. Pion needs the
// reads for its interceptors (NACK responses, reports) to see the packets;
// with an OnRTCP handler set they are also parsed and delivered.
func (p *Peer) readRTCP(sender *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		n, _, err := sender.Read(buf)
		if err != nil {
			return
		}
		if !p.ev.rtcpHandlerSet.Load() {
			continue
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		if p.ev.rtcpQueued.Add(1) > maxQueuedRTCP {
			p.ev.rtcpQueued.Add(-1)
			p.stats.rtcpDropped.Add(1)
			continue
		}
		p.emit(event{kind: evRTCP, sender: sender, rtcp: pkts})
	}
}

// OnRTCP sets the handler for the RTCP the remote sends about our tracks:
// each compound packet, parsed, with the sender of the track it came for
// (AddTrackSender, Sender). A keyframe request is a *rtcp.PictureLossIndication
// or *rtcp.FullIntraRequest; receiver reports (*rtcp.ReceiverReport) carry
// loss and jitter. Without a handler the library still reads and drops it.
// At most 256 packets wait for the handler (see Summary.RTCPDropped).
func (p *Peer) OnRTCP(f func(*webrtc.RTPSender, []rtcp.Packet)) {
	p.setHandler(evRTCP, func(h *handlers) {
		h.rtcp = f
		p.ev.rtcpHandlerSet.Store(f != nil)
	})
}

// WriteRTCP sends RTCP packets to the remote, e.g. a
// &rtcp.PictureLossIndication{MediaSSRC: uint32(track.SSRC())} asking for a
// keyframe of a remote track. ERR_DESTROYED after destroy.
func (p *Peer) WriteRTCP(pkts []rtcp.Packet) error {
	if !p.usable() {
		return errNotCreated()
	}
	if p.Destroyed() {
		return errDestroyed()
	}
	if err := p.pc.WriteRTCP(pkts); err != nil {
		return wrapError(ErrCodeConnectionFailure, err)
	}
	return nil
}
