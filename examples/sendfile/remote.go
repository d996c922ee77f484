package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/gosimplepeer/simplepeer"
	"github.com/gosimplepeer/simplepeer/signalclient"
	"github.com/pion/webrtc/v3"
)

// Roles prefix the member IDs, so that a sender pairs only with a
// receiver. "recv" < "send", so the receiver is the one that initiates.
const (
	roleSend = "send"
	roleRecv = "recv"
)

var roleName = map[string]string{roleSend: "sender", roleRecv: "receiver"}

// meet joins c.room on c.signal as a member of role and returns the peer of
// the first member of the other role whose connection comes up, with the
// room (to be closed after the peer). Every other member (one of the same
// role, or of the other role once one is chosen) is ignored: its peer is
// closed as soon as it connects, so that it fails rather than waits. meet
// waits until ctx ends for a member of the other role to connect.
func meet(ctx context.Context, c config, role string, log io.Writer) (*simplepeer.Peer, *signalclient.Room, error) {
	other := roleRecv
	if role == roleRecv {
		other = roleSend
	}
	id := make([]byte, 6)
	_, _ = rand.Read(id)
	var (
		mu     sync.Mutex
		chosen *simplepeer.Peer
		peerID string
		ready  = make(chan struct{})
	)
	room, err := signalclient.Join(ctx, signalclient.Options{
		URL:         c.signal,
		Room:        c.room,
		ID:          role + "-" + hex.EncodeToString(id),
		PeerOptions: peerOptions(c.stun),
		OnPeer: func(id string, p *simplepeer.Peer) {
			p.OnConnect(func() {
				mu.Lock()
				defer mu.Unlock()
				switch {
				case !strings.HasPrefix(id, other+"-"):
					fmt.Fprintf(log, "sendfile: ignoring %s: not a %s\n", id, roleName[other])
				case chosen != nil:
					fmt.Fprintf(log, "sendfile: ignoring %s: connected to %s already\n", id, peerID)
				default:
					chosen, peerID = p, id
					close(ready)
					return
				}
				go p.Close()
			})
		},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("failed to join room %q on %s: %w", c.room, c.signal, err)
	}
	fmt.Fprintf(log, "sendfile: joined room %q on %s as %s, waiting for a %s\n",
		c.room, c.signal, room.ID(), roleName[other])
	select {
	case <-ready:
	case <-ctx.Done():
		_ = room.Close()
		return nil, nil, context.Cause(ctx)
	}
	mu.Lock()
	p := chosen
	mu.Unlock()
	fmt.Fprintf(log, "sendfile: connected to %s (%s -> %s)\n", peerID, p.LocalAddr(), p.RemoteAddr())
	return p, room, nil
}

// peerOptions returns the peers' options: no ICE server unless stun is
// given, so that nothing leaves the machine or the LAN; loopback
// candidates included, so that two processes on one machine connect even
// with no network interface up.
func peerOptions(stun string) func() *simplepeer.Options {
	return func() *simplepeer.Options {
		conf := &webrtc.Configuration{}
		if stun != "" {
			conf.ICEServers = []webrtc.ICEServer{{URLs: []string{stun}}}
		}
		se := simplepeer.DefaultSettingEngine()
		se.SetIncludeLoopbackCandidate(true)
		return &simplepeer.Options{Config: conf, SettingEngine: se}
	}
}

// sendRemote sends a file (or generated data) to the receiver in the room;
// the result's path is the name the receiver was given.
func sendRemote(ctx context.Context, c config, log io.Writer) (received, error) {
	src, n, err := source(c.send, c.size)
	if err != nil {
		return received{}, err
	}
	if f, ok := src.(io.Closer); ok {
		defer f.Close()
	}
	name := "generated-" + strings.ReplaceAll(c.size, " ", "") + ".bin"
	if c.send != "" {
		name = filepath.Base(c.send)
	}
	p, room, err := meet(ctx, c, roleSend, log)
	if err != nil {
		return received{}, err
	}
	defer room.Close()
	stop := context.AfterFunc(ctx, func() { _ = p.SetDeadline(aLongTimeAgo) })
	fmt.Fprintf(log, "sendfile: sending %s (%d bytes)\n", name, n)
	res, err := sendOver(p, name, src, n, newProgress(n, os.Stderr, "sending"))
	stop()
	return received{result: res, path: name}, closePeer(ctx, p, err)
}

// receiveRemote receives one file from the sender in the room into c.recv.
func receiveRemote(ctx context.Context, c config, log io.Writer) (received, error) {
	p, room, err := meet(ctx, c, roleRecv, log)
	if err != nil {
		return received{}, err
	}
	defer room.Close()
	stop := context.AfterFunc(ctx, func() { _ = p.SetDeadline(aLongTimeAgo) })
	res, err := receiveOver(p, c.recv, c.force, func(h header) io.WriteCloser {
		fmt.Fprintf(log, "sendfile: receiving %q (%d bytes) into %s\n", h.Name, h.Size, c.recv)
		return newProgress(h.Size, os.Stderr, "receiving")
	})
	stop()
	return res, closePeer(ctx, p, err)
}

// closePeer closes p, flushing what was written (the last reply, a
// refusal), and returns err. A transfer that failed because ctx ended (the
// timeout, Ctrl-C) destroys p instead and returns why ctx ended.
func closePeer(ctx context.Context, p *simplepeer.Peer, err error) error {
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%w (%v)", context.Cause(ctx), err)
		p.Destroy(err)
		return err
	}
	_ = p.Close()
	return err
}
