package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/pion/webrtc/v3"
)

// session is the two peers: the sender (initiator, with the tracks) and the
// receiver, which records. They signal to each other directly.
type session struct {
	sender, receiver *simplepeer.Peer
	rec              *recorder

	connected [2]chan struct{} // closed at each peer's connect
	closed    [2]chan struct{} // closed at each peer's close

	failOnce sync.Once
	failed   chan struct{} // closed at the first failure
	mu       sync.Mutex    // guards the fields below
	closing  bool          // errors from here on are the teardown's
	firstErr error
}

func newSession(tracks []webrtc.TrackLocal, rec *recorder) (*session, error) {
	s := &session{rec: rec, failed: make(chan struct{})}
	for i := range s.connected {
		s.connected[i] = make(chan struct{})
		s.closed[i] = make(chan struct{})
	}

	// Both peers live in this process: no STUN server is needed, and
	// loopback candidates let it work on a machine with no network at all.
	settings := simplepeer.DefaultSettingEngine()
	settings.SetIncludeLoopbackCandidate(true)
	var err error
	s.sender, err = simplepeer.New(&simplepeer.Options{
		Initiator:     true,
		Config:        &webrtc.Configuration{},
		SettingEngine: settings,
		Tracks:        tracks, // in the first offer
	})
	if err != nil {
		return nil, err
	}
	s.receiver, err = simplepeer.New(&simplepeer.Options{
		Config:        &webrtc.Configuration{},
		SettingEngine: settings,
	})
	if err != nil {
		s.sender.Destroy(err)
		return nil, err
	}

	for i, p := range []*simplepeer.Peer{s.sender, s.receiver} {
		p.OnConnect(func() { close(s.connected[i]) })
		p.OnClose(func() { close(s.closed[i]) })
		p.OnError(s.fail)
	}
	// Signalling: in a real application these messages travel as JSON
	// over a channel of your own (a WebSocket, HTTP, ...).
	s.sender.OnSignal(func(sig simplepeer.Signal) { s.signal(s.receiver, sig) })
	s.receiver.OnSignal(func(sig simplepeer.Signal) { s.signal(s.sender, sig) })

	s.receiver.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { rec.onTrack(t) })
	s.receiver.OnData(func(data []byte) {
		var m sentMessage
		if err := json.Unmarshal(data, &m); err != nil || m.Type != "sent" {
			s.fail(fmt.Errorf("unexpected message %q", data))
			return
		}
		rec.expect(m)
	})
	return s, nil
}

func (s *session) signal(to *simplepeer.Peer, sig simplepeer.Signal) {
	if err := to.Signal(sig); err != nil {
		s.fail(fmt.Errorf("signal %s: %w", sig.Type, err))
	}
}

// fail records the first error of a peer, unless the session is closing.
func (s *session) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return
	}
	s.failOnce.Do(func() {
		s.firstErr = err
		close(s.failed)
	})
}

// failure returns the first error, or nil.
func (s *session) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firstErr
}

// waitFor waits for every channel in chs, for at most timeout. It gives up
// early when a peer fails or ctx is done.
func (s *session) waitFor(ctx context.Context, timeout time.Duration, what string, chs ...<-chan struct{}) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for _, ch := range chs {
		select {
		case <-ch:
		case <-s.failed:
			return s.failure()
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return fmt.Errorf("timed out after %v waiting for %s", timeout, what)
		}
	}
	return nil
}

// waitReady waits until both peers are connected and every track is bound.
func (s *session) waitReady(ctx context.Context, timeout time.Duration, bound ...<-chan struct{}) error {
	chs := append([]<-chan struct{}{s.connected[0], s.connected[1]}, bound...)
	return s.waitFor(ctx, timeout, "the peers to connect", chs...)
}

// sendDone tells the receiver what the sender sent.
func (s *session) sendDone(m sentMessage) error {
	m.Type = "sent"
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return s.sender.Send(b)
}

// waitRecorded waits until the receiver has recorded every frame sent.
func (s *session) waitRecorded(ctx context.Context, timeout time.Duration) error {
	err := s.waitFor(ctx, timeout, "the recording", s.rec.complete)
	if err != nil {
		got, want := s.rec.progress()
		if want != nil {
			err = fmt.Errorf("%w: recorded %d of %d video frames and %d of %d audio packets",
				err, got.VideoFrames, want.VideoFrames, got.AudioFrames, want.AudioFrames)
		}
	}
	return err
}

// close closes both peers and waits for their close events, after which
// their event goroutines end.
func (s *session) close() error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	_ = s.sender.Close()
	_ = s.receiver.Close()
	timer := time.NewTimer(closeTimeout)
	defer timer.Stop()
	for _, ch := range s.closed {
		select {
		case <-ch:
		case <-timer.C:
			return errors.New("timed out waiting for the peers to close")
		}
	}
	return nil
}
