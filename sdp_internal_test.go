package simplepeer

import "testing"

// A section we answer without a track must not claim to send.
func TestWithoutPhantomSenders(t *testing.T) {
	in := "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendonly\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=msid:s t\r\na=sendonly\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=sendrecv\r\n" +
		"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:3\r\na=sendrecv\r\n"
	want := "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=inactive\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=msid:s t\r\na=sendonly\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=recvonly\r\n" +
		"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:3\r\na=sendrecv\r\n"
	if got := withoutPhantomSenders(in); got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}
