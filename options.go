package simplepeer

import (
	"time"

	"github.com/gosimplepeer/simplepeer/internal/udpbuf"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v3"
)

// Defaults mirrored from simple-peer.
const (
	// DefaultICECompleteTimeout is how long a peer with trickle disabled waits
	// for ICE gathering after the first candidate before it signals anyway.
	DefaultICECompleteTimeout = 5 * time.Second

	// socketBufferSize is the UDP send/receive buffer asked of the OS. Linux's
	// 208 KiB default drops datagrams under bulk transfer (see README).
	socketBufferSize = 4 << 20

	// relayWait is how long ICE holds back a relayed pair while a direct
	// one may still work: Pion v3 never switches pairs once one is chosen,
	// so a relay chosen at once would be kept though a direct path exists
	// (seen on vnet behind a restricted-cone and a symmetric NAT). Pion's
	// 2 s cost every connect through a relay 2 s.
	relayWait = 500 * time.Millisecond

	// sctpReceiveWindow is the SCTP receive window we advertise. It caps
	// any sender at window/RTT: Pion's 1 MiB allows ~13 MiB/s at 50 ms, this
	// 2 MiB 40 MiB/s at 50 ms and 10 MiB/s at 200 ms. On loopback a window
	// above the 1,000,000 bytes Pion's ICE and mux buffers hold let an
	// unpaced sender overrun them; our own sender's window stays at 64 KiB
	// there (window.go), and Node's did not overrun it (see README).
	sctpReceiveWindow = 2 << 20
)

// Options configures a Peer. The zero value (or a nil *Options) gives
// simple-peer's defaults: a non-initiator with trickle ICE and public STUN.
type Options struct {
	// Initiator makes this peer create the data channel and send every offer.
	Initiator bool
	// ChannelName is the data channel label (initiator only). Empty means 20
	// random bytes as 40 hex characters, as simple-peer does.
	ChannelName string
	// ChannelConfig configures the data channel. With Negotiated and ID set,
	// both peers create the channel themselves and it opens without an
	// in-band handshake.
	ChannelConfig *webrtc.DataChannelInit
	// Config is the RTCConfiguration. Nil means DefaultConfig().
	Config *webrtc.Configuration
	// OfferOptions is passed to CreateOffer.
	OfferOptions *webrtc.OfferOptions
	// AnswerOptions is passed to CreateAnswer.
	AnswerOptions *webrtc.AnswerOptions
	// SDPTransform edits every SDP this peer signals. Pion refuses an edited
	// SDP in SetLocalDescription, so only the signalled copy is changed.
	SDPTransform func(sdp string) string
	// DisableTrickle sends one offer/answer holding every candidate once ICE
	// gathering completes, instead of one signal per candidate (simple-peer's
	// trickle: false).
	DisableTrickle bool
	// AllowHalfTrickle keeps "a=ice-options:trickle" in the SDP when trickle
	// is disabled, telling the remote that it may still trickle to us.
	AllowHalfTrickle bool
	// AutoRestartICE restarts ICE (see RestartICE) when the ICE connection
	// has stayed disconnected this long; 0 never does. A disconnected
	// connection either comes back by itself or fails after the ICE failed
	// timeout (Pion's default 25 s after disconnected, which is 5 s; set
	// them with SettingEngine.SetICETimeouts), so a useful value is below
	// the failed timeout. Signals must still reach the remote: a restart
	// is an offer and an answer (and new candidates).
	AutoRestartICE time.Duration
	// ICECompleteTimeout bounds the wait for gathering when trickle is
	// disabled, counted from the first local candidate. Zero means 5 s.
	ICECompleteTimeout time.Duration
	// SettingEngine tunes Pion. Nil means DefaultSettingEngine(). A given
	// engine is used as given, plus DetachDataChannels, which the library
	// needs to read messages of every legal size.
	SettingEngine *webrtc.SettingEngine
	// MediaEngine lists the codecs. Nil means Pion's defaults (VP8, VP9,
	// H.264, Opus, ...) with Pion's default interceptors (NACK, RTCP reports).
	MediaEngine *webrtc.MediaEngine
	// Tracks are added before the first offer (simple-peer's streams option).
	Tracks []webrtc.TrackLocal
	// LoggerFactory receives the library's debug output (simple-peer's
	// DEBUG=simple-peer), and Pion's too unless the SettingEngine has its
	// own. Nil means no output at all.
	LoggerFactory logging.LoggerFactory
}

// DefaultConfig returns simple-peer's default RTCConfiguration: two public
// STUN servers. Pass a webrtc.Configuration{} for host candidates only.
func DefaultConfig() webrtc.Configuration {
	return webrtc.Configuration{
		ICEServers: []webrtc.ICEServer{
			{URLs: []string{"stun:stun.l.google.com:19302"}},
			{URLs: []string{"stun:global.stun.twilio.com:3478"}},
		},
	}
}

// DefaultSettingEngine returns the library's tuned Pion settings, each one
// measured (see the README's "Tuned defaults"):
//   - peer-reflexive and server-reflexive candidate pairs are used as soon
//     as they are the best that works, not after Pion's waits (1 s and
//     0.5 s), which a browser connect or one through NATs otherwise pays in
//     full; a relayed pair after 0.5 s, not 2 s;
//   - UDP sockets get 4 MiB send and receive buffers where the OS allows, so
//     bulk transfers on a fast link do not drop datagrams;
//   - the SCTP receive window is 2 MiB, twice Pion's, so that a far
//     sender is not capped at 1 MiB per round trip;
//   - data channels are detached, so messages are read with a buffer of the
//     size this peer advertises (Pion's default reader holds 65,535 bytes
//     and breaks on a legal 65,536-byte message).
//
// A program that needs its own engine (a vnet, a UDP mux, a custom net, ICE
// timeouts) should start from DefaultSettingEngine() and change what it
// needs, so that it keeps these gains: SetVNet or SetNet replace only the
// socket layer (and so the socket buffers), the rest stays.
func DefaultSettingEngine() *webrtc.SettingEngine {
	se := &webrtc.SettingEngine{}
	se.SetPrflxAcceptanceMinWait(0)
	se.SetSrflxAcceptanceMinWait(0)
	se.SetRelayAcceptanceMinWait(relayWait)
	se.SetNet(udpbuf.NewNet(socketBufferSize))
	se.SetSCTPMaxReceiveBufferSize(sctpReceiveWindow)
	se.DetachDataChannels()
	return se
}

// options is Options with defaults filled in.
type options struct {
	Options
	config   webrtc.Configuration
	trickle  bool
	channel  webrtc.DataChannelInit
	settings webrtc.SettingEngine
}

func newOptions(o *Options) *options {
	out := &options{}
	if o != nil {
		out.Options = *o
	}
	out.Tracks = append([]webrtc.TrackLocal(nil), out.Tracks...)
	out.trickle = !out.DisableTrickle
	if out.Config != nil {
		out.config = *out.Config
	} else {
		out.config = DefaultConfig()
	}
	if out.ChannelConfig != nil {
		out.channel = *out.ChannelConfig
	}
	if out.ICECompleteTimeout <= 0 {
		out.ICECompleteTimeout = DefaultICECompleteTimeout
	}
	if out.SettingEngine != nil {
		out.settings = *out.SettingEngine
	} else {
		out.settings = *DefaultSettingEngine()
	}
	out.settings.DetachDataChannels()
	if out.SDPTransform == nil {
		out.SDPTransform = func(sdp string) string { return sdp }
	}
	if out.LoggerFactory == nil {
		out.LoggerFactory = nopLoggerFactory{}
	} else {
		out.LoggerFactory = redactingFactory{out.LoggerFactory}
	}
	if lf := out.settings.LoggerFactory; lf != nil {
		out.settings.LoggerFactory = redactingFactory{lf}
	} else {
		// Pion would otherwise print its warnings to stderr.
		out.settings.LoggerFactory = out.LoggerFactory
	}
	return out
}
