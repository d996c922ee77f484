package simplepeer

import (
	"strconv"
	"strings"
)

// The SDP edits. Pion v3 refuses an edited SDP in SetLocalDescription, so
// edits of our own descriptions apply only to the copy we signal
// (sendLocalDescription); edits of the remote's apply only to the copy we
// give Pion (setRemote). Each works around one measured problem.

// guardDataOnlyAnswer works around Pion v3 (fixed in v4, pion/webrtc#3066):
// when the current remote description has a single media section, Pion
// gives any RTP stream it does not know yet to that section, even when it
// is the data channel's m=application. After a renegotiation that adds
// media, the remote starts sending as soon as it has answered, so its first
// packets reach us before its answer: Pion then made a bogus video track of
// them and the real track never fired. With an a=rid line in the section
// Pion leaves such streams to its MID-based routing, which finds the right
// transceiver. Only the description given to Pion is changed; a data
// section ignores rid.
func guardDataOnlyAnswer(sdp string) string {
	if strings.Count(sdp, "\nm=") != 1 || !strings.Contains(sdp, "\nm=application ") {
		return sdp
	}
	if strings.HasSuffix(sdp, "\n") {
		return sdp + "a=rid:simplepeer-data recv\r\n"
	}
	return sdp + "\r\na=rid:simplepeer-data recv\r\n"
}

// filterTrickle removes a=ice-options:trickle (simple-peer #354).
func filterTrickle(sdp string) string {
	return removeLines(sdp, func(l string) bool { return strings.TrimSpace(l) == "a=ice-options:trickle" })
}

func removeLines(sdp string, drop func(string) bool) string {
	lines := strings.SplitAfter(sdp, "\n")
	out := lines[:0]
	for _, l := range lines {
		if !drop(l) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

// withoutPhantomSenders fixes the direction of answered media sections in
// which we send nothing. Pion answers a remote recvonly transceiver with
// a=sendonly (and sendrecv with sendrecv) even with no track to send, so a
// browser would fire track and stream for media that never comes; a
// browser answers inactive (recvonly) there. A section with a track has an
// a=msid line.
func withoutPhantomSenders(sdp string) string {
	sections := strings.SplitAfter(sdp, "\nm=")
	for i, sec := range sections {
		if i == 0 || !(strings.HasPrefix(sec, "audio") || strings.HasPrefix(sec, "video")) ||
			strings.Contains(sec, "\na=msid:") {
			continue
		}
		sec = strings.Replace(sec, "\na=sendonly\r\n", "\na=inactive\r\n", 1)
		sections[i] = strings.Replace(sec, "\na=sendrecv\r\n", "\na=recvonly\r\n", 1)
	}
	return strings.Join(sections, "")
}

// addMaxMessageSize adds a=max-message-size (RFC 8841) after a=sctp-port in
// the data section when the SDP has none, so the remote knows what this peer
// can receive.
func addMaxMessageSize(sdp string, size int) string {
	if strings.Contains(sdp, "a=max-message-size:") || !strings.Contains(sdp, "a=sctp-port:") {
		return sdp
	}
	lines := strings.SplitAfter(sdp, "\n")
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		if strings.HasPrefix(l, "a=sctp-port:") {
			b.WriteString("a=max-message-size:" + strconv.Itoa(size) + "\r\n")
		}
	}
	return b.String()
}

// remoteMaxMessageSize returns the a=max-message-size in sdp: 65,536 when
// absent (RFC 8841 section 6.1), 0 for "no limit".
func remoteMaxMessageSize(sdp string) int {
	const key = "a=max-message-size:"
	i := strings.Index(sdp, key)
	if i < 0 {
		return 65536
	}
	v := sdp[i+len(key):]
	if j := strings.IndexAny(v, "\r\n"); j >= 0 {
		v = v[:j]
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 65536
	}
	return n
}

// countStreamTracks counts the media sections of sdp whose a=msid names the
// stream.
func countStreamTracks(sdp, streamID string) int {
	n := 0
	for _, l := range strings.Split(sdp, "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "a=msid:"))
		if strings.HasPrefix(strings.TrimSpace(l), "a=msid:") && len(f) > 0 && f[0] == streamID {
			n++
		}
	}
	return n
}

// iceUfrag returns the first a=ice-ufrag value in sdp, or "".
func iceUfrag(sdp string) string {
	const key = "a=ice-ufrag:"
	i := strings.Index(sdp, key)
	if i < 0 {
		return ""
	}
	v := sdp[i+len(key):]
	if j := strings.IndexAny(v, "\r\n"); j >= 0 {
		v = v[:j]
	}
	return strings.TrimSpace(v)
}

// sameSession reports whether two descriptions are the same version of the
// same session: the same o= line (RFC 3264 section 8: a changed
// description has a higher version).
func sameSession(a, b string) bool {
	oa, ob := originLine(a), originLine(b)
	return oa != "" && oa == ob
}

// originLine returns sdp's o= line, without its line ending.
func originLine(sdp string) string {
	for _, l := range strings.Split(sdp, "\n") {
		if strings.HasPrefix(l, "o=") {
			return strings.TrimSpace(l)
		}
	}
	return ""
}
