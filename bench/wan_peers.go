package main

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/transport/v2/vnet"
	"github.com/pion/webrtc/v3"
)

// The peers of the WAN bench: two in-process peers, each on its own host
// of a wanNet.

// wanVariant is one way of moving data between two peers on a wanNet.
type wanVariant struct {
	name  string
	about string
	// connect joins a peer on na (the sender) to one on nb; logs gets
	// Pion's log lines.
	connect func(na, nb *vnet.Net, logs *sctpCounter) (wanPair, error)
}

// wanPair is a connected pair: pair's transfer and close, plus the
// sender's stats.
type wanPair interface {
	pair
	stats() webrtc.StatsReport
}

// wanVariants returns the rows of the WAN table; rb is the SCTP receive
// window of pion-fc-rb.
func wanVariants(rb uint32) []wanVariant {
	return []wanVariant{
		{"sp-write", "simplepeer, DefaultSettingEngine + SetVNet; Write 64 KiB calls / Read",
			func(na, nb *vnet.Net, logs *sctpCounter) (wanPair, error) {
				return connectSimpleVNet(na, nb, logs)
			}},
		{"sp-send", "simplepeer, DefaultSettingEngine + SetVNet; Send 16 KiB messages / OnData",
			func(na, nb *vnet.Net, logs *sctpCounter) (wanPair, error) {
				p, err := connectSimpleVNet(na, nb, logs)
				if err != nil {
					return nil, err
				}
				return &spSendPair{p}, nil
			}},
		{"pion-fc", "raw Pion, default settings + SetVNet + prflx wait 0; Send 16 KiB, 1 MiB high / 512 KiB low, OnMessage",
			func(na, nb *vnet.Net, logs *sctpCounter) (wanPair, error) {
				return connectPionVNet(na, nb, logs, 0)
			}},
		{"pion-fc-rb", fmt.Sprintf("pion-fc + SetSCTPMaxReceiveBufferSize(%d), the library's window", rb),
			func(na, nb *vnet.Net, logs *sctpCounter) (wanPair, error) {
				return connectPionVNet(na, nb, logs, rb)
			}},
	}
}

// connectSimpleVNet connects two simplepeer peers with the library's
// DefaultSettingEngine, its network replaced by the vnet host.
func connectSimpleVNet(na, nb *vnet.Net, logs *sctpCounter) (*spWANPair, error) {
	newPeer := func(initiator bool, n *vnet.Net) (*simplepeer.Peer, error) {
		se := simplepeer.DefaultSettingEngine()
		se.SetVNet(n)
		se.LoggerFactory = logs
		return simplepeer.New(&simplepeer.Options{
			Initiator:     initiator,
			Config:        &webrtc.Configuration{}, // host candidates only
			SettingEngine: se,
		})
	}
	a, err := newPeer(true, na)
	if err != nil {
		return nil, err
	}
	b, err := newPeer(false, nb)
	if err != nil {
		_ = a.Close()
		return nil, err
	}
	p, err := spConnect(a, b)
	if err != nil {
		return nil, err
	}
	return &spWANPair{p}, nil
}

// spWANPair is sp-write: spPair's Write/Read transfer.
type spWANPair struct{ *spPair }

func (p *spWANPair) stats() webrtc.StatsReport { return p.a.GetStats() }

// spSendPair is sp-send: Send of msgSize messages, which blocks while the
// library's send window is full, and an OnData receiver.
type spSendPair struct{ *spWANPair }

func (p *spSendPair) transfer(payload []byte, timeout time.Duration) (time.Duration, error) {
	var got atomic.Int64
	done := make(chan error, 1)
	gap := gapMeter{last: time.Now()} // touched only by the OnData handler
	p.b.OnData(func(data []byte) {    // on b's dispatcher goroutine, in order
		n := int(got.Load())
		gap.tick()
		switch {
		case n < 0: // already failed
		case n+len(data) > len(payload) || !bytes.Equal(data, payload[n:n+len(data)]):
			got.Store(-1)
			done <- fmt.Errorf("data corrupted at byte %d", n)
		default:
			got.Store(int64(n + len(data)))
			if n+len(data) == len(payload) {
				done <- nil
			}
		}
	})
	_ = p.a.SetWriteDeadline(time.Now().Add(timeout))
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for off := 0; off < len(payload); off += msgSize {
		if err := p.a.Send(payload[off:min(off+msgSize, len(payload))]); err != nil {
			return 0, fmt.Errorf("send after %d of %d bytes received: %w", got.Load(), len(payload), err)
		}
	}
	select {
	case err := <-done:
		return gap.max, err
	case <-timer.C:
		return 0, fmt.Errorf("timeout: %d of %d bytes received", got.Load(), len(payload))
	}
}

// connectPionVNet connects two raw Pion peers with Pion's default settings
// on the vnet hosts, plus SetPrflxAcceptanceMinWait(0) (the answerer may
// see the offerer's checks before its candidate and would otherwise wait
// 1 s to use the pair), plus an SCTP receive window of rb unless 0.
func connectPionVNet(na, nb *vnet.Net, logs *sctpCounter, rb uint32) (*pionWANPair, error) {
	newPC := func(n *vnet.Net) (*webrtc.PeerConnection, error) {
		se := webrtc.SettingEngine{LoggerFactory: logs}
		se.SetVNet(n)
		se.SetPrflxAcceptanceMinWait(0)
		if rb > 0 {
			se.SetSCTPMaxReceiveBufferSize(rb)
		}
		// Data channels only: no codecs or interceptors, which act on RTP.
		return webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	}
	a, err := newPC(na)
	if err != nil {
		return nil, err
	}
	b, err := newPC(nb)
	if err != nil {
		_ = a.Close()
		return nil, err
	}
	p, err := pionConnect(a, b)
	if err != nil {
		return nil, err
	}
	return &pionWANPair{p}, nil
}

// pionWANPair is pion-fc and pion-fc-rb: pionPair's transfer, Send with
// the highWater/lowWater flow control of Pion's data-channels-flow-control
// example, and OnMessage.
type pionWANPair struct{ *pionPair }

func (p *pionWANPair) stats() webrtc.StatsReport { return p.a.GetStats() }
