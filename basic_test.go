package simplepeer_test

// Ports of simple-peer's test/basic.js, plus the helpers the other ported
// test files share (dataChan, closeChan, closeAll, logSignals, pingPong).

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/webrtc/v3"
)

// dataChan sets p's OnData handler to pass each message on the returned
// channel.
func dataChan(p *simplepeer.Peer) <-chan []byte {
	ch := make(chan []byte, 64)
	p.OnData(func(b []byte) { ch <- b })
	return ch
}

// closeChan sets p's OnClose handler to close the returned channel.
func closeChan(p *simplepeer.Peer) <-chan struct{} {
	ch := make(chan struct{})
	p.OnClose(func() { close(ch) })
	return ch
}

// errChan sets p's OnError handler to pass each error on the returned
// channel.
func errChan(p *simplepeer.Peer) <-chan error {
	ch := make(chan error, 4)
	p.OnError(func(err error) { ch <- err })
	return ch
}

// closeAll closes every peer and waits for each one's close event, like
// simple-peer's "peerN destroyed" assertions.
func closeAll(t testing.TB, peers ...*simplepeer.Peer) {
	t.Helper()
	closed := make([]<-chan struct{}, len(peers))
	for i, p := range peers {
		closed[i] = closeChan(p)
	}
	for _, p := range peers {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	for _, c := range closed {
		recv(t, c, "close event")
	}
	for i, p := range peers {
		if !p.Destroyed() || p.Connected() {
			t.Errorf("peer %d after close: Destroyed %v, Connected %v", i+1, p.Destroyed(), p.Connected())
		}
	}
}

// signalLog records the signals one peer emitted.
type signalLog struct {
	mu   sync.Mutex
	sigs []simplepeer.Signal
}

func (l *signalLog) add(s simplepeer.Signal) {
	l.mu.Lock()
	l.sigs = append(l.sigs, s)
	l.mu.Unlock()
}

// signals returns a copy of what was recorded so far.
func (l *signalLog) signals() []simplepeer.Signal {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]simplepeer.Signal(nil), l.sigs...)
}

// logSignals wires a and b like wire, recording every signal each emits.
// Call it before either peer's OnSignal is set, so no signal is missed.
func logSignals(t testing.TB, a, b *simplepeer.Peer) (la, lb *signalLog) {
	la, lb = &signalLog{}, &signalLog{}
	a.OnSignal(func(s simplepeer.Signal) { la.add(s); forward(t, b, s) })
	b.OnSignal(func(s simplepeer.Signal) { lb.add(s); forward(t, a, s) })
	return la, lb
}

// sender sends one message on a peer: Send, SendString or Write.
type sender func(p *simplepeer.Peer, msg []byte) error

func sendBinary(p *simplepeer.Peer, msg []byte) error { return p.Send(msg) }
func sendText(p *simplepeer.Peer, msg []byte) error   { return p.SendString(string(msg)) }

// pingPong is simple-peer's exchange: a sends m1, b checks it and answers
// m2, a checks that. It takes over both peers' OnData handlers.
func pingPong(t *testing.T, a, b *simplepeer.Peer, send sender, m1, m2 []byte) {
	t.Helper()
	da, db := dataChan(a), dataChan(b)
	if err := send(a, m1); err != nil {
		t.Fatalf("peer1 send: %v", err)
	}
	if got := recv(t, db, "peer2 data"); !bytes.Equal(got, m1) {
		t.Fatalf("peer2 got %d bytes %.40q, want %d bytes %.40q", len(got), got, len(m1), m1)
	}
	if err := send(b, m2); err != nil {
		t.Fatalf("peer2 send: %v", err)
	}
	if got := recv(t, da, "peer1 data"); !bytes.Equal(got, m2) {
		t.Fatalf("peer1 got %d bytes %.40q, want %d bytes %.40q", len(got), got, len(m2), m2)
	}
}

// TestNewWithoutOptions ports "create peer without options": New(nil) gives
// a non-initiator with simple-peer's defaults. A non-initiator gathers no
// candidates until it gets an offer, so the default STUN servers are never
// contacted.
func TestNewWithoutOptions(t *testing.T) {
	p, err := simplepeer.New(nil)
	if err != nil {
		t.Fatalf("New(nil): %v", err)
	}
	if p.Initiator() || p.ID() == "" || p.Connected() || p.Destroyed() {
		t.Errorf("New(nil): Initiator %v, ID %q, Connected %v, Destroyed %v",
			p.Initiator(), p.ID(), p.Connected(), p.Destroyed())
	}
	closeAll(t, p)
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestNewPeerConnectionError ports "can detect error when
// RTCPeerConstructor throws": a configuration Pion's RTCPeerConnection
// constructor rejects makes New fail with ERR_PC_CONSTRUCTOR.
func TestNewPeerConnectionError(t *testing.T) {
	tests := []struct {
		name   string
		server webrtc.ICEServer
	}{
		{"unparseable url", webrtc.ICEServer{URLs: []string{"stun:"}}},
		{"unknown scheme", webrtc.ICEServer{URLs: []string{"bogus:example.org"}}},
		{"turn without credentials", webrtc.ICEServer{URLs: []string{"turn:127.0.0.1:3478"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := testOptions(true)
			o.Config = &webrtc.Configuration{ICEServers: []webrtc.ICEServer{tt.server}}
			p, err := simplepeer.New(o)
			if err == nil {
				_ = p.Close()
				t.Fatal("New succeeded")
			}
			var e *simplepeer.Error
			if !errors.As(err, &e) || e.Code != simplepeer.ErrCodePCConstructor {
				t.Fatalf("New: %v (code %q), want code %s", err, simplepeer.Code(err), simplepeer.ErrCodePCConstructor)
			}
		})
	}
}

// TestSignalEventEmitted ports "signal event gets emitted": an initiator
// signals its offer without any input, and closes when destroyed.
func TestSignalEventEmitted(t *testing.T) {
	p := newPeer(t, testOptions(true))
	sigs := make(chan simplepeer.Signal, 16)
	p.OnSignal(func(s simplepeer.Signal) { sigs <- s })
	s := recv(t, sigs, "signal")
	if s.Type != simplepeer.SignalOffer || !strings.HasPrefix(s.SDP, "v=0") {
		t.Errorf("first signal: type %q, sdp %.20q; want an offer", s.Type, s.SDP)
	}
	closeAll(t, p)
}

// TestNonInitiatorDoesNotSignal ports "signal event does not get emitted by
// non-initiator" (with and without a stream). Instead of waiting a second
// for nothing, it checks that whatever the non-initiator emits on its own
// would come first, and that its first signal is the answer to the
// initiator's offer, and it never offers or asks for a negotiation.
func TestNonInitiatorDoesNotSignal(t *testing.T) {
	tests := []struct {
		name   string
		tracks int
	}{
		{"no stream", 0},
		{"with stream", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o2 := testOptions(false)
			for i := 0; i < tt.tracks; i++ {
				o2.Tracks = append(o2.Tracks, newTestTrack(t, i))
			}
			p1 := newPeer(t, testOptions(true))
			p2 := newPeer(t, o2)
			_, l2 := logSignals(t, p1, p2)
			connected(t, p1, p2)
			sigs := l2.signals()
			if len(sigs) == 0 || sigs[0].Type != simplepeer.SignalAnswer {
				t.Fatalf("non-initiator's first signal is not the answer: %v", signalTypes(sigs))
			}
			for _, s := range sigs {
				if s.Type == simplepeer.SignalOffer || s.Type == simplepeer.SignalRenegotiate {
					t.Fatalf("non-initiator signalled %s: %v", s.Type, signalTypes(sigs))
				}
			}
		})
	}
}

// newTestTrack returns an Opus or VP8 sample track (a stream member) that
// nobody writes to.
func newTestTrack(t testing.TB, i int) webrtc.TrackLocal {
	t.Helper()
	codec := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	if i%2 == 1 {
		codec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	}
	tr, err := webrtc.NewTrackLocalStaticSample(codec, "track"+string(rune('a'+i)), "stream")
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func signalTypes(sigs []simplepeer.Signal) []simplepeer.SignalType {
	out := make([]simplepeer.SignalType, len(sigs))
	for i, s := range sigs {
		out[i] = s.Type
	}
	return out
}

// TestDataSendReceiveText ports "data send/receive text": both peers
// signal, connect with the right roles, exchange text messages (which
// arrive as []byte) and close.
func TestDataSendReceiveText(t *testing.T) {
	p1 := newPeer(t, testOptions(true))
	p2 := newPeer(t, testOptions(false))
	l1, l2 := logSignals(t, p1, p2)
	connected(t, p1, p2)
	if n1, n2 := len(l1.signals()), len(l2.signals()); n1 < 1 || n2 < 1 {
		t.Errorf("signals: peer1 %d, peer2 %d; want at least 1 each", n1, n2)
	}
	if !p1.Initiator() || p2.Initiator() {
		t.Errorf("Initiator: peer1 %v, peer2 %v", p1.Initiator(), p2.Initiator())
	}
	if !p1.Connected() || !p2.Connected() {
		t.Errorf("Connected: peer1 %v, peer2 %v", p1.Connected(), p2.Connected())
	}
	pingPong(t, p1, p2, sendText, []byte("sup peer2"), []byte("sup peer1"))
	closeAll(t, p1, p2)
}

// TestSDPTransform ports "sdpTransform function is called": the transform
// sees each SDP the peer signals as a string, and what it returns is what
// is signalled.
func TestSDPTransform(t *testing.T) {
	const mark = "a=x-sdp-transform-test\r\n"
	called := make(chan string, 8)
	o2 := testOptions(false)
	o2.SDPTransform = func(sdp string) string {
		called <- sdp
		return sdp + mark
	}
	p1 := newPeer(t, testOptions(true))
	p2 := newPeer(t, o2)
	_, l2 := logSignals(t, p1, p2)
	connected(t, p1, p2)
	if sdp := recv(t, called, "SDPTransform call"); !strings.HasPrefix(sdp, "v=0") {
		t.Errorf("SDPTransform got %.20q, want an SDP", sdp)
	}
	answer := l2.signals()[0]
	if answer.Type != simplepeer.SignalAnswer || !strings.HasSuffix(answer.SDP, mark) {
		t.Errorf("signalled %s does not end with the transform's edit: %.40q", answer.Type, answer.SDP)
	}
	closeAll(t, p1, p2)
}

// TestOfferAnswerOptions ports "old constraint formats are used" and "new
// constraint formats are used": offer/answer options, and receive-only
// audio and video transceivers (what offerToReceiveAudio/Video became),
// still connect.
func TestOfferAnswerOptions(t *testing.T) {
	tests := []struct {
		name         string
		options      bool
		transceivers bool
	}{
		{"offer and answer options", true, false},
		{"receive-only transceivers", false, true},
		{"both", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o1, o2 := testOptions(true), testOptions(false)
			if tt.options {
				o1.OfferOptions = &webrtc.OfferOptions{OfferAnswerOptions: webrtc.OfferAnswerOptions{VoiceActivityDetection: true}}
				o2.AnswerOptions = &webrtc.AnswerOptions{OfferAnswerOptions: webrtc.OfferAnswerOptions{VoiceActivityDetection: true}}
			}
			p1, p2 := newPeerPair(t, o1, o2)
			if tt.transceivers {
				recvonly := webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}
				for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
					if err := p1.AddTransceiver(kind, recvonly); err != nil {
						t.Fatalf("AddTransceiver(%s): %v", kind, err)
					}
				}
			}
			connected(t, p1, p2)
			closeAll(t, p1, p2)
		})
	}
}

// TestAddressesAfterConnect ports "ensure remote address and port are
// available right after connection": inside the connect handler both
// peers know the selected pair's loopback UDP addresses, and they mirror
// each other.
func TestAddressesAfterConnect(t *testing.T) {
	p1, p2 := newPeerPair(t, nil, nil)
	type addrs struct{ local, remote net.Addr }
	got := make(chan addrs, 2)
	for _, p := range []*simplepeer.Peer{p1, p2} {
		p.OnConnect(func() { got <- addrs{p.LocalAddr(), p.RemoteAddr()} })
	}
	a1 := recv(t, got, "connect")
	a2 := recv(t, got, "connect")
	for _, a := range []addrs{a1, a2} {
		for _, addr := range []net.Addr{a.local, a.remote} {
			u, ok := addr.(*net.UDPAddr)
			if !ok || !u.IP.IsLoopback() || u.Port == 0 {
				t.Errorf("address %v (%T): want a loopback *net.UDPAddr with a port", addr, addr)
			}
		}
	}
	if a1.local.String() != a2.remote.String() || a1.remote.String() != a2.local.String() {
		t.Errorf("addresses do not mirror: %v->%v and %v->%v", a1.local, a1.remote, a2.local, a2.remote)
	}
}

// TestICEStateChange ports "ensure iceStateChange fires when connection
// failed", which destroys a peer while an ICE state change is being
// handled: ICE states are reported while connecting, and destroying the
// peer from inside that handler is safe and ends with error then close.
func TestICEStateChange(t *testing.T) {
	t.Run("reported while connecting", func(t *testing.T) {
		p1, p2 := newPeerPair(t, nil, nil)
		states := make(chan webrtc.ICEConnectionState, 32)
		p1.OnICEStateChange(func(s webrtc.ICEConnectionState, _ webrtc.ICEGatheringState) { states <- s })
		connected(t, p1, p2)
		for {
			s := recv(t, states, "ICE state connected")
			if s == webrtc.ICEConnectionStateConnected || s == webrtc.ICEConnectionStateCompleted {
				break
			}
		}
	})
	t.Run("destroy inside the handler", func(t *testing.T) {
		p1, _ := newPeerPair(t, nil, nil)
		boom := errors.New("boom")
		var once sync.Once
		p1.OnICEStateChange(func(webrtc.ICEConnectionState, webrtc.ICEGatheringState) {
			once.Do(func() { p1.Destroy(boom) })
		})
		errs := errChan(p1)
		closed := closeChan(p1)
		if err := recv(t, errs, "error event"); !errors.Is(err, boom) {
			t.Errorf("error event: %v, want %v", err, boom)
		}
		recv(t, closed, "close event")
		if !p1.Destroyed() {
			t.Error("not destroyed")
		}
	})
}
