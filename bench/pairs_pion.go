package main

import (
	"bytes"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/gosimplepeer/simplepeer/bench/internal/pionapi"
	"github.com/gosimplepeer/simplepeer/bench/internal/trickle"
	"github.com/pion/webrtc/v3"
)

// pionPair is two raw Pion connections; a created the data channel dc, b
// received it as bdc.
type pionPair struct {
	a, b    *webrtc.PeerConnection
	dc, bdc *webrtc.DataChannel
	ab, ba  *courier
}

// candidates trickles ICE candidates to a connection, holding them until
// it has a remote description.
type candidates = trickle.Candidates

// newPionPC creates a connection the way webrtc.NewPeerConnection does
// (default codecs and interceptors), with the variant's settings.
func newPionPC(v variant) (*webrtc.PeerConnection, error) {
	api, err := pionapi.Default(*v.settingEngine())
	if err != nil {
		return nil, err
	}
	return api.NewPeerConnection(webrtc.Configuration{})
}

func connectPion(v variant, o connOpts) (pair, error) {
	a, err := newPionPC(v)
	if err != nil {
		return nil, err
	}
	b, err := newPionPC(v)
	if err != nil {
		_ = a.Close()
		return nil, err
	}
	return pionConnectWith(a, b, o)
}

// pionConnect connects two raw Pion peers with a data channel from a to b
// (signals carried in process, trickled, with -sigdelay), or closes both.
func pionConnect(a, b *webrtc.PeerConnection) (*pionPair, error) {
	return pionConnectWith(a, b, defaultConn())
}

// pionConnectWith connects a and b. With o.noTrickle each side waits for
// ICE gathering to complete (GatheringCompletePromise) and signals one
// description holding every candidate; otherwise candidates trickle.
func pionConnectWith(a, b *webrtc.PeerConnection, o connOpts) (*pionPair, error) {
	p, r := &pionPair{a: a, b: b, ab: newCourier(o.delay), ba: newCourier(o.delay)}, newReady()
	toA, toB := &candidates{PC: a}, &candidates{PC: b}
	if !o.noTrickle {
		a.OnICECandidate(func(c *webrtc.ICECandidate) {
			if c != nil {
				p.ab.send(func() { r.fail(toB.Add(c.ToJSON())) })
			}
		})
		b.OnICECandidate(func(c *webrtc.ICECandidate) {
			if c != nil {
				p.ba.send(func() { r.fail(toA.Add(c.ToJSON())) })
			}
		})
	}
	b.OnDataChannel(func(dc *webrtc.DataChannel) {
		p.bdc = dc // read after r.wait
		dc.OnOpen(r.done)
	})
	var err error
	if p.dc, err = a.CreateDataChannel("bench", nil); err == nil {
		p.dc.OnOpen(r.done)
		err = p.negotiate(toA, toB, o.noTrickle, r.fail)
	}
	if err == nil {
		err = r.wait()
	}
	if err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// setLocal sets d as pc's local description and returns what to signal:
// d itself when trickling, else the description with every candidate once
// gathering is complete.
func setLocal(pc *webrtc.PeerConnection, d webrtc.SessionDescription, noTrickle bool) (webrtc.SessionDescription, error) {
	var gathered <-chan struct{}
	if noTrickle {
		gathered = webrtc.GatheringCompletePromise(pc)
	}
	if err := pc.SetLocalDescription(d); err != nil {
		return d, err
	}
	if !noTrickle {
		return d, nil
	}
	select {
	case <-gathered:
	case <-time.After(setupTimeout):
		return d, fmt.Errorf("ICE gathering not complete after %v", setupTimeout)
	}
	return *pc.LocalDescription(), nil
}

// negotiate makes a's offer and carries it to b, and b's answer back, over
// the couriers; errors on the far sides go to fail.
func (p *pionPair) negotiate(toA, toB *candidates, noTrickle bool, fail func(error)) error {
	offer, err := p.a.CreateOffer(nil)
	if err == nil {
		offer, err = setLocal(p.a, offer, noTrickle)
	}
	if err != nil {
		return err
	}
	p.ab.send(func() { fail(p.answer(offer, toA, toB, noTrickle, fail)) })
	return nil
}

// answer runs on b's side: take the offer, answer it, send the answer.
func (p *pionPair) answer(offer webrtc.SessionDescription, toA, toB *candidates, noTrickle bool, fail func(error)) error {
	if err := p.b.SetRemoteDescription(offer); err != nil {
		return err
	}
	if err := toB.Flush(); err != nil {
		return err
	}
	answer, err := p.b.CreateAnswer(nil)
	if err == nil {
		answer, err = setLocal(p.b, answer, noTrickle)
	}
	if err != nil {
		return err
	}
	p.ba.send(func() {
		err := p.a.SetRemoteDescription(answer)
		if err == nil {
			err = toA.Flush()
		}
		fail(err)
	})
	return nil
}

// transfer sends payload in msgSize messages, waiting while more than
// highWater bytes are buffered until OnBufferedAmountLow reports lowWater.
func (p *pionPair) transfer(payload []byte, timeout time.Duration) (time.Duration, error) {
	gap := gapMeter{last: time.Now()} // touched only by b's read loop until done
	done := make(chan error, 1)
	finish := func(err error) {
		select {
		case done <- err:
		default:
		}
	}
	var got atomic.Int64
	failed := false // touched only by b's read loop
	p.bdc.OnMessage(func(m webrtc.DataChannelMessage) {
		data := m.Data
		n := int(got.Load())
		gap.tick()
		switch {
		case failed:
		case n+len(data) > len(payload) || !bytes.Equal(data, payload[n:n+len(data)]):
			failed = true
			finish(fmt.Errorf("data corrupted at byte %d", n))
		case n+len(data) == len(payload):
			got.Store(int64(len(payload)))
			finish(nil)
		default:
			got.Store(int64(n + len(data)))
		}
	})

	low := make(chan struct{}, 1)
	p.dc.SetBufferedAmountLowThreshold(lowWater)
	p.dc.OnBufferedAmountLow(func() {
		select {
		case low <- struct{}{}:
		default:
		}
	})
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	timedOut := func() error {
		return fmt.Errorf("timeout: %d of %d bytes received", got.Load(), len(payload))
	}
	for off := 0; off < len(payload); off += msgSize {
		for p.dc.BufferedAmount() > highWater {
			select {
			case <-low:
			case err := <-done:
				return 0, errors.Join(err, errors.New("receiver finished before the sender"))
			case <-timer.C:
				return 0, timedOut()
			}
		}
		if err := p.dc.Send(payload[off:min(off+msgSize, len(payload))]); err != nil {
			return 0, fmt.Errorf("send: %w", err)
		}
	}
	select {
	case err := <-done:
		return gap.max, err
	case <-timer.C:
		return 0, timedOut()
	}
}

func (p *pionPair) ends() (endpoint, endpoint) { return pionEnd{p.dc}, pionEnd{p.bdc} }

func (p *pionPair) close() {
	p.ab.close()
	p.ba.close()
	_ = p.a.GracefulClose()
	_ = p.b.GracefulClose()
}

// pionEnd is a raw Pion data channel as an endpoint: Send and OnMessage.
type pionEnd struct{ dc *webrtc.DataChannel }

func (e pionEnd) send(msg []byte) error { return e.dc.Send(msg) }
func (e pionEnd) onMessage(f func([]byte)) {
	e.dc.OnMessage(func(m webrtc.DataChannelMessage) { f(m.Data) })
}
