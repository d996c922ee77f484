package simplepeer

import (
	"strconv"
	"strings"

	"github.com/pion/webrtc/v3"
)

// Remote tracks ending: simple-peer has no 'removetrack' event (its issue
// 304); here a remote track ends when a remote description stops sending
// it, and OnTrackEnded says so.

// liveTrack is a remote track that has not ended, with where it is in the
// remote description.
type liveTrack struct {
	track *webrtc.TrackRemote
	mid   string
}

// trackStarted records t, received on r, as live.
func (p *Peer) trackStarted(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
	mid := ""
	for _, tr := range p.pc.GetTransceivers() {
		if tr.Receiver() == r {
			mid = tr.Mid()
			break
		}
	}
	p.actor.media.live = append(p.actor.media.live, liveTrack{track: t, mid: mid})
}

// endTracks emits track-ended for every live track the remote description
// sdp no longer sends, and drops it from its stream.
func (p *Peer) endTracks(sdp string) {
	m := &p.actor.media
	kept := m.live[:0]
	for _, lt := range m.live {
		if lt.mid == "" || sectionSends(sdp, lt.mid, uint32(lt.track.SSRC())) {
			kept = append(kept, lt)
			continue
		}
		if s := m.remoteStreams[lt.track.StreamID()]; s != nil {
			for i, t := range s.Tracks {
				if t == lt.track {
					s.Tracks = append(s.Tracks[:i], s.Tracks[i+1:]...)
					break
				}
			}
		}
		p.emit(event{kind: evTrackEnded, track: lt.track})
	}
	clear(m.live[len(kept):])
	m.live = kept
}

// sectionSends reports whether the media section of sdp with a=mid:mid is
// sending (sendrecv or sendonly, port not 0) and, if it lists SSRCs, lists
// ssrc: a section taken over by another track has ended the old one.
func sectionSends(sdp, mid string, ssrc uint32) bool {
	for _, section := range strings.Split(sdp, "\nm=")[1:] {
		lines := strings.Split(section, "\n")
		if !hasLine(lines, "a=mid:"+mid) {
			continue
		}
		if f := strings.Fields(lines[0]); len(f) > 1 && f[1] == "0" {
			return false // rejected
		}
		sending := true // sendrecv is the default
		ssrcs, listed := false, false
		want := "a=ssrc:" + strconv.FormatUint(uint64(ssrc), 10) + " "
		for _, l := range lines {
			l = strings.TrimSpace(l)
			switch {
			case l == "a=recvonly" || l == "a=inactive":
				sending = false
			case strings.HasPrefix(l, "a=ssrc:"):
				ssrcs = true
				listed = listed || ssrc == 0 || strings.HasPrefix(l+" ", want)
			}
		}
		return sending && (!ssrcs || listed)
	}
	return false // the section is gone
}

func hasLine(lines []string, want string) bool {
	for _, l := range lines {
		if strings.TrimSpace(l) == want {
			return true
		}
	}
	return false
}

// OnTrackEnded sets the handler called when a remote track ends because
// the remote stopped sending it (simple-peer's missing 'removetrack'): a
// RemoveTrack or RemoveStream on the other side, or a section it
// deactivated. The track's StreamID says which stream lost it. Tracks
// still live when the peer closes get no call: close says it all.
func (p *Peer) OnTrackEnded(f func(*webrtc.TrackRemote)) {
	p.setHandler(evTrackEnded, func(h *handlers) { h.trackEnded = f })
}
