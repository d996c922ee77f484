package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/ice/v2"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v3"
)

// The stream IDs of the Go peer's two tracks. The page shows the "clip"
// stream in its first <video> and the "echo" stream in its second.
const (
	clipStreamID = "clip"
	echoStreamID = "echo"
)

const (
	// maxSignalSize bounds one WebSocket message from the page. An SDP is
	// a few kilobytes.
	maxSignalSize = 1 << 20
	// writeTimeout bounds sending one signal to the page.
	writeTimeout = 10 * time.Second
)

// A session is one page: its WebSocket and its Go peer.
//
// The Go peer is the initiator. That puts the complicated half of
// simple-peer's protocol (making offers, batching and queueing
// renegotiations) in the library, and leaves the page a plain answerer
// that never has to deal with glare, which Pion v3 cannot roll back
// anyway. It also lets the first offer carry the clip's track
// (Options.Tracks). The page sends its camera the way a simple-peer
// non-initiator does: it adds the track and signals {"type":"renegotiate"},
// and the Go peer makes a new offer.
type session struct {
	ws     *websocket.Conn
	remote string // the page's address
	peer   *simplepeer.Peer
	log    *log.Logger

	ctx    context.Context // done when the session ends
	cancel context.CancelFunc
	closed chan struct{} // closed by the peer's close event

	// Touched only by the peer's event goroutine (handlers).
	echoing    bool
	clipSender *webrtc.RTPSender // the clip's, for the page's RTCP
	echoSender *webrtc.RTPSender // the echo's, once the camera arrived
	cameraSSRC webrtc.SSRC       // the page's camera, to ask it for keyframes
	keyframes  int               // keyframe requests answered

	clipKeyframe chan struct{} // capacity 1: the clip player sends a keyframe next

	// wg counts the session's goroutines: the clip player, the WebSocket
	// closer, and, once the camera arrives, its forwarder. run waits for
	// them all.
	wg sync.WaitGroup
}

// newSession creates the page's Go peer, which starts negotiating at once:
// its offer goes out over ws, which came from remote. It ends when parent is
// done, when the page closes the WebSocket, or when the peer closes.
func newSession(parent context.Context, ws *websocket.Conn, remote string, c *clip, logger *log.Logger) (*session, error) {
	video, err := newSampleTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "clip-video", clipStreamID)
	if err != nil {
		return nil, err
	}
	peer, err := simplepeer.New(&simplepeer.Options{
		Initiator:     true,
		Config:        &webrtc.Configuration{}, // no ICE servers: works offline
		SettingEngine: settingEngine(),
		Tracks:        []webrtc.TrackLocal{video}, // in the first offer
	})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(maxSignalSize)
	ctx, cancel := context.WithCancel(parent)
	s := &session{ws: ws, remote: remote, peer: peer, log: logger, ctx: ctx, cancel: cancel, closed: make(chan struct{}),
		clipSender: peer.Sender(video), clipKeyframe: make(chan struct{}, 1)}

	// Handlers run one at a time on the peer's event goroutine.
	peer.OnSignal(s.sendSignal)
	peer.OnConnect(func() {
		s.log.Printf("connected")
		s.chat("hello from Go peer " + peer.ID() + ": type a message, I'll answer")
	})
	peer.OnData(func(b []byte) {
		s.log.Printf("chat: %q", b)
		s.chat("go peer got: " + string(b))
	})
	peer.OnTrack(s.onTrack)
	peer.OnRTCP(s.onRTCP)
	peer.OnError(func(err error) { s.log.Printf("peer error: %v", err) })
	peer.OnClose(func() {
		s.log.Printf("peer closed")
		close(s.closed)
		s.cancel()
	})

	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		// Unblocks the signal reader in run when the session ends for
		// another reason than the page leaving: a close handshake, which
		// the page answers (or the connection is dropped after 5 s).
		<-ctx.Done()
		code, reason := websocket.StatusNormalClosure, "the Go peer closed"
		if parent.Err() != nil {
			code, reason = websocket.StatusGoingAway, "the server is shutting down"
		}
		_ = ws.Close(code, reason)
	}()
	go func() {
		defer s.wg.Done()
		if err := c.play(ctx, video, s.clipKeyframe); err != nil {
			s.log.Printf("clip: %v", err)
		}
	}()
	return s, nil
}

// settingEngine is the library's tuned defaults plus loopback candidates,
// so that a page on this machine connects even with no network at all, and
// with mDNS off: the library ignores .local candidates (as simple-peer
// does), so resolving them would only send multicast queries.
func settingEngine() *webrtc.SettingEngine {
	se := simplepeer.DefaultSettingEngine()
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return se
}

// run passes the page's signals to the peer until the WebSocket closes (the
// page left) or the session ends, then closes the peer and waits for every
// goroutine of the session.
func (s *session) run() {
	s.log.Printf("opened from %s: Go peer %s (initiator)", s.remote, s.peer.ID())
	s.readSignals()
	s.cancel()
	_ = s.peer.Close()
	<-s.closed // no handler runs after close: none can add to wg
	s.wg.Wait()
	s.log.Printf("closed")
}

func (s *session) readSignals() {
	for {
		// Not s.ctx: a read whose context ends drops the connection; the
		// closer in newSession ends this read with a close handshake.
		_, msg, err := s.ws.Read(context.Background())
		if err != nil {
			if s.ctx.Err() == nil && (websocket.CloseStatus(err) != -1 || errors.Is(err, io.EOF)) {
				s.log.Printf("page left")
			}
			return
		}
		sig, err := simplepeer.ParseSignal(msg)
		if err != nil {
			s.log.Printf("ignoring signal: %v", err)
			continue
		}
		if err := s.peer.Signal(sig); err != nil {
			s.log.Printf("signal %s: %v", sig.Type, err)
			if s.peer.Destroyed() {
				return
			}
		}
	}
}

// sendSignal carries one of the peer's signals to the page as a JSON text
// message, in simple-peer's format.
func (s *session) sendSignal(sig simplepeer.Signal) {
	b, err := json.Marshal(sig)
	if err != nil {
		s.log.Printf("signal: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if err := s.ws.Write(ctx, websocket.MessageText, b); err != nil && s.ctx.Err() == nil {
		// The page is gone: the reader in run sees it too and ends the
		// session.
		s.log.Printf("send signal: %v", err)
	}
}

// chat sends a text message to the page over the data channel.
func (s *session) chat(text string) {
	if err := s.peer.SendString(text); err != nil && !closing(err) {
		s.log.Printf("chat: %v", err)
	}
}

// closing reports whether err only says that the peer is closing, which is
// no news while a session ends.
func closing(err error) bool {
	return simplepeer.Code(err) == simplepeer.ErrCodeDestroyed
}

// onTrack echoes the page's camera: it adds a second local track with the
// camera's codec, which makes the Go peer renegotiate, and forwards every
// RTP packet of the camera to it. Other tracks are left alone.
func (s *session) onTrack(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	codec := remote.Codec()
	if remote.Kind() != webrtc.RTPCodecTypeVideo || s.echoing {
		s.log.Printf("%s track (%s) from the page: not echoed", remote.Kind(), codec.MimeType)
		return
	}
	echo, err := newRTPTrack(codec.RTPCodecCapability, "echo-video", echoStreamID)
	if err != nil {
		s.log.Printf("echo: %v", err)
		return
	}
	sender, err := s.peer.AddTrackSender(echo)
	if err != nil {
		if !closing(err) {
			s.log.Printf("echo: %v", err)
		}
		return
	}
	s.echoing, s.echoSender, s.cameraSSRC = true, sender, remote.SSRC()
	s.log.Printf("camera arrived (%s), echoing it back", codec.MimeType)
	s.wg.Add(1)
	go s.forward(remote, echo)
}

// onRTCP answers the page's keyframe requests (its decoder lost a picture,
// or, for the echo, started on a packet that is not a keyframe): the clip
// sends its nearest keyframe next; for the echo, which forwards the
// camera's packets, the request goes on to the page's camera.
func (s *session) onRTCP(sender *webrtc.RTPSender, pkts []rtcp.Packet) {
	if !keyframeRequested(pkts) {
		return
	}
	var what string
	switch {
	case sender == s.clipSender:
		select {
		case s.clipKeyframe <- struct{}{}:
		default: // one is on its way
		}
		what = "clip: sending a keyframe"
	case sender == s.echoSender && s.echoSender != nil:
		pli := []rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(s.cameraSSRC)}}
		if err := s.peer.WriteRTCP(pli); err != nil {
			return // the peer closed
		}
		what = "echo: asked the camera for one"
	default:
		return
	}
	s.keyframes++
	s.log.Printf("page asked for a keyframe (%d so far), %s", s.keyframes, what)
	if s.keyframes <= 3 {
		s.chat(fmt.Sprintf("keyframe request #%d answered (%s)", s.keyframes, what))
	}
}

// keyframeRequested reports whether pkts ask for a keyframe: a Picture
// Loss Indication or a Full Intra Request.
func keyframeRequested(pkts []rtcp.Packet) bool {
	for _, pkt := range pkts {
		switch pkt.(type) {
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			return true
		}
	}
	return false
}

// forward copies the camera's RTP packets to the echo track until the peer
// closes. TrackLocalStaticRTP rewrites each packet's SSRC and payload type
// for the page's side; until the echo is bound, packets are dropped.
func (s *session) forward(remote *webrtc.TrackRemote, echo *rtpTrack) {
	defer s.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, _, err := remote.Read(buf)
		if err != nil {
			return // the peer closed
		}
		if _, err := echo.Write(buf[:n]); err != nil && !errors.Is(err, io.ErrClosedPipe) {
			s.log.Printf("echo: %v", err)
		}
	}
}
