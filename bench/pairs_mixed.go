package main

import (
	"errors"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/webrtc/v3"
)

// mixedPair is a simplepeer initiator a and a raw Pion answerer b (the
// same settings as sp-tuned and pion-tuned), signalling in process with no
// delay. Sending a → b costs the library's send path and Pion's receive
// path; b → a Pion's send path and the library's receive path. The allocs
// section uses it to tell the library's send cost from its receive cost.
type mixedPair struct {
	a   *simplepeer.Peer
	b   *webrtc.PeerConnection
	bdc *webrtc.DataChannel
}

func connectMixed() (*mixedPair, error) {
	a, err := simplepeer.New(&simplepeer.Options{
		Initiator:     true,
		Config:        &webrtc.Configuration{},
		SettingEngine: spTuned.settingEngine(),
	})
	if err != nil {
		return nil, err
	}
	b, err := newPionPC(pionTuned)
	if err != nil {
		_ = a.Close()
		return nil, err
	}
	p, r := &mixedPair{a: a, b: b}, newReady()
	toB := &candidates{PC: b}
	a.OnError(r.fail)
	a.OnConnect(r.done)
	b.OnDataChannel(func(dc *webrtc.DataChannel) {
		p.bdc = dc // read after r.wait
		dc.OnOpen(r.done)
	})
	b.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			ci := c.ToJSON()
			r.fail(a.Signal(simplepeer.Signal{Type: simplepeer.SignalCandidate, Candidate: &ci}))
		}
	})
	// Signals from a arrive in order on a's dispatcher goroutine.
	a.OnSignal(func(s simplepeer.Signal) {
		switch s.Type {
		case simplepeer.SignalOffer:
			go func() { r.fail(p.answer(s.SDP, toB)) }() // not on a's dispatcher
		case simplepeer.SignalCandidate:
			if s.Candidate != nil {
				r.fail(toB.Add(*s.Candidate))
			}
		}
	})
	if err := r.wait(); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// answer is the Pion side of the offer/answer exchange.
func (p *mixedPair) answer(sdp string, toB *candidates) error {
	if err := p.b.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return err
	}
	if err := toB.Flush(); err != nil {
		return err
	}
	answer, err := p.b.CreateAnswer(nil)
	if err == nil {
		err = p.b.SetLocalDescription(answer)
	}
	if err != nil {
		return err
	}
	return p.a.Signal(simplepeer.Signal{Type: simplepeer.SignalAnswer, SDP: answer.SDP})
}

func (p *mixedPair) transfer([]byte, time.Duration) (time.Duration, error) {
	return 0, errors.New("mixed pairs only carry messages")
}

func (p *mixedPair) ends() (endpoint, endpoint) { return spEnd{p.a}, pionEnd{p.bdc} }

func (p *mixedPair) close() {
	_ = p.a.Close()
	_ = p.b.GracefulClose()
}
