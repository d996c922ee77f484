package main

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/webrtc/v3"
)

// spPair is two simplepeer peers wired to each other's Signal.
type spPair struct {
	a, b   *simplepeer.Peer
	ab, ba *courier
}

func connectSimplePeer(v variant, o connOpts) (pair, error) {
	newPeer := func(initiator bool) (*simplepeer.Peer, error) {
		return simplepeer.New(&simplepeer.Options{
			Initiator:      initiator,
			Config:         &webrtc.Configuration{},
			SettingEngine:  v.settingEngine(),
			DisableTrickle: o.noTrickle,
		})
	}
	a, err := newPeer(true)
	if err != nil {
		return nil, err
	}
	b, err := newPeer(false)
	if err != nil {
		_ = a.Close()
		return nil, err
	}
	p, err := spConnectWith(a, b, o.delay)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// spConnect connects two simplepeer peers (signals carried in process,
// with -sigdelay), or closes both.
func spConnect(a, b *simplepeer.Peer) (*spPair, error) { return spConnectWith(a, b, sigDelay) }

func spConnectWith(a, b *simplepeer.Peer, delay time.Duration) (*spPair, error) {
	p, r := &spPair{a: a, b: b, ab: newCourier(delay), ba: newCourier(delay)}, newReady()
	a.OnSignal(func(s simplepeer.Signal) { p.ab.send(func() { r.fail(b.Signal(s)) }) })
	b.OnSignal(func(s simplepeer.Signal) { p.ba.send(func() { r.fail(a.Signal(s)) }) })
	for _, q := range []*simplepeer.Peer{a, b} {
		q.OnError(r.fail)
		q.OnConnect(r.done)
	}
	if err := r.wait(); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func (p *spPair) transfer(payload []byte, timeout time.Duration) (time.Duration, error) {
	gap := gapMeter{last: time.Now()}
	deadline := time.Now().Add(timeout)
	_ = p.a.SetWriteDeadline(deadline)
	_ = p.b.SetReadDeadline(deadline)
	written := make(chan error, 1)
	go func() {
		var err error
		for off := 0; off < len(payload) && err == nil; off += writeSize {
			_, err = p.a.Write(payload[off:min(off+writeSize, len(payload))])
		}
		written <- err
	}()
	buf := make([]byte, 64<<10)
	for got := 0; got < len(payload); {
		n, err := p.b.Read(buf)
		switch {
		case err != nil:
			return 0, fmt.Errorf("read after %d bytes: %w", got, err)
		case got+n > len(payload) || !bytes.Equal(buf[:n], payload[got:got+n]):
			return 0, fmt.Errorf("data corrupted at byte %d", got)
		}
		gap.tick()
		got += n
	}
	if err := <-written; err != nil {
		return 0, fmt.Errorf("write: %w", err)
	}
	return gap.max, nil
}

func (p *spPair) ends() (endpoint, endpoint) { return spEnd{p.a}, spEnd{p.b} }

func (p *spPair) close() {
	p.ab.close()
	p.ba.close()
	_ = p.a.Close()
	_ = p.b.Close()
}

// spEnd is a simplepeer peer as an endpoint: Send and OnData.
type spEnd struct{ p *simplepeer.Peer }

func (e spEnd) send(msg []byte) error    { return e.p.Send(msg) }
func (e spEnd) onMessage(f func([]byte)) { e.p.OnData(f) }

// spReadEnd receives with Read instead of OnData (no dispatcher in
// between): a goroutine reads the byte stream and calls the handler once
// per smallMsg bytes, so it serves only the messages section, whose
// messages all have that size. It ends when Read fails (the peer closed).
type spReadEnd struct {
	p       *simplepeer.Peer
	handler *atomic.Pointer[func([]byte)]
	start   *sync.Once
}

func newSPReadEnd(p *simplepeer.Peer) spReadEnd {
	return spReadEnd{p: p, handler: &atomic.Pointer[func([]byte)]{}, start: &sync.Once{}}
}

func (e spReadEnd) send(msg []byte) error { return e.p.Send(msg) }

func (e spReadEnd) onMessage(f func([]byte)) {
	e.handler.Store(&f)
	e.start.Do(func() { go e.readLoop() })
}

func (e spReadEnd) readLoop() {
	buf := make([]byte, 64<<10)
	have := 0
	for {
		n, err := e.p.Read(buf[have:])
		if err != nil {
			return
		}
		have += n
		f := *e.handler.Load()
		off := 0
		for ; have-off >= smallMsg; off += smallMsg {
			f(buf[off : off+smallMsg : off+smallMsg])
		}
		have = copy(buf, buf[off:have])
	}
}

// spReadPair is an spPair whose ends receive with Read.
type spReadPair struct{ *spPair }

func (p spReadPair) ends() (endpoint, endpoint) { return newSPReadEnd(p.a), newSPReadEnd(p.b) }
