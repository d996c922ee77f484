package simplepeer

import (
	"sync"
	"sync/atomic"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v3"
)

// registerInterceptors registers Pion's default interceptors (NACK, RTCP
// reports, TWCC), as webrtc.RegisterDefaultInterceptors does, but with
// loggers from lf (Pion's defaults print errors to stdout; v3's TWCC sender
// takes no logger), and started only when the peer first sends or receives
// media: see lazyInterceptor.
func registerInterceptors(me *webrtc.MediaEngine, reg *interceptor.Registry, lf logging.LoggerFactory) error {
	inner := &interceptor.Registry{}
	generator, err := nack.NewGeneratorInterceptor(nack.GeneratorLog(lf.NewLogger("nack_generator")))
	if err != nil {
		return err
	}
	responder, err := nack.NewResponderInterceptor(nack.ResponderLog(lf.NewLogger("nack_responder")))
	if err != nil {
		return err
	}
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	inner.Add(responder)
	inner.Add(generator)
	receiver, err := report.NewReceiverInterceptor(report.ReceiverLog(lf.NewLogger("receiver_report")))
	if err != nil {
		return err
	}
	sender, err := report.NewSenderInterceptor(report.SenderLog(lf.NewLogger("sender_report")))
	if err != nil {
		return err
	}
	inner.Add(receiver)
	inner.Add(sender)
	if err := webrtc.ConfigureTWCCSender(me, inner); err != nil {
		return err
	}
	reg.Add(lazyFactory{inner})
	return nil
}

// lazyFactory builds the interceptors of inner for each PeerConnection,
// wrapped in a lazyInterceptor.
type lazyFactory struct{ inner *interceptor.Registry }

func (f lazyFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	i, err := f.inner.Build(id)
	if err != nil {
		return nil, err
	}
	return &lazyInterceptor{inner: i}, nil
}

// lazyInterceptor holds back the PeerConnection's RTCP writer from the
// interceptors it wraps until the first RTP or RTCP stream is bound. Pion
// binds that writer when the PeerConnection is created, and each of the
// NACK generator, the two RTCP reporters and the TWCC sender then starts a
// goroutine with a 10 ms to 1 s ticker: four goroutines and a few dozen
// wake-ups a second for every data-only peer, which never uses them.
// RTCP written before then goes straight to the PeerConnection.
type lazyInterceptor struct {
	inner interceptor.Interceptor

	mu     sync.Mutex
	writer interceptor.RTCPWriter // the PeerConnection's; guarded by mu

	bound atomic.Pointer[interceptor.RTCPWriter] // inner's writer, once started
}

func (l *lazyInterceptor) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	l.mu.Lock()
	l.writer = w
	l.mu.Unlock()
	return interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, a interceptor.Attributes) (int, error) {
		if b := l.bound.Load(); b != nil {
			return (*b).Write(pkts, a)
		}
		return w.Write(pkts, a)
	})
}

// start binds the PeerConnection's RTCP writer to the inner interceptors,
// once.
func (l *lazyInterceptor) start() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.bound.Load() != nil || l.writer == nil {
		return
	}
	w := l.inner.BindRTCPWriter(l.writer)
	l.bound.Store(&w)
}

func (l *lazyInterceptor) BindRTCPReader(r interceptor.RTCPReader) interceptor.RTCPReader {
	l.start()
	return l.inner.BindRTCPReader(r)
}

func (l *lazyInterceptor) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	l.start()
	return l.inner.BindLocalStream(info, w)
}

func (l *lazyInterceptor) UnbindLocalStream(info *interceptor.StreamInfo) {
	l.inner.UnbindLocalStream(info)
}

func (l *lazyInterceptor) BindRemoteStream(info *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	l.start()
	return l.inner.BindRemoteStream(info, r)
}

func (l *lazyInterceptor) UnbindRemoteStream(info *interceptor.StreamInfo) {
	l.inner.UnbindRemoteStream(info)
}

func (l *lazyInterceptor) Close() error { return l.inner.Close() }
