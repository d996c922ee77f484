package simplepeer

import (
	"net"
	"time"

	"github.com/pion/webrtc/v3"
)

// This file holds the Peer's ICE extras: the selected candidate pair and
// ICE restarts (manual and automatic). All but the exported methods run on
// the actor.

// RestartICE starts a new ICE session on the same connection, for when the
// network changed (a new address, a dead path): ICE gathers candidates
// again and checks them while the data channel stays open; what is sent
// meanwhile is delivered once the new path works, and no close or connect
// event is emitted. On the initiator it sends an offer with new ICE
// credentials, which any simple-peer (or browser) answers unchanged. On a
// non-initiator it sends a renegotiate signal with "iceRestart": true,
// which makes a Go initiator restart; a JavaScript simple-peer initiator
// ignores the field and only renegotiates. During a negotiation the restart
// is queued, as Negotiate is. It fails with ERR_DESTROYED after destroy.
//
// The restart offer drops the old path at once (Pion's ICE agent forgets
// its candidate pairs), so a remote that cannot restart ICE and closes
// instead, as libdatachannel does (node-datachannel and webrtc-polyfill in
// Node: libdatachannel issue 545), is not heard from again: the peer fails
// with ERR_ICE_CONNECTION_FAILURE once the ICE timeouts pass (30 s with
// Pion's defaults; SettingEngine.SetICETimeouts shortens them).
func (p *Peer) RestartICE() error {
	return p.call(func() error {
		if p.Destroyed() {
			return errDestroyed()
		}
		p.restartICE()
		return nil
	})
}

func (p *Peer) restartICE() {
	p.log.Debugf("%s restarting ICE", p.id)
	p.actor.iceRestart = true
	p.negotiate()
}

// newGathering readies the peer for a new ICE session: a non-trickle peer
// waits for its candidates before it signals its description, and the send
// window measures the (maybe new) path anew.
func (p *Peer) newGathering() {
	p.window.newPath()
	p.actor.iceComplete = false
	if p.actor.iceTimer != nil {
		p.actor.iceTimer.Stop()
		p.actor.iceTimer = nil
	}
}

// watchDisconnected runs AutoRestartICE's timer while ICE is disconnected.
func (p *Peer) watchDisconnected(ice webrtc.ICEConnectionState) {
	if ice != webrtc.ICEConnectionStateDisconnected {
		p.stopRestartTimer()
		return
	}
	if p.opts.AutoRestartICE <= 0 || p.actor.restartTimer != nil || !p.actor.connectEmitted {
		return
	}
	p.actor.restartTimer = time.AfterFunc(p.opts.AutoRestartICE, func() {
		p.post(func() {
			p.actor.restartTimer = nil
			if !p.Destroyed() && p.actor.ice == webrtc.ICEConnectionStateDisconnected {
				p.restartICE()
			}
		})
	})
}

func (p *Peer) stopRestartTimer() {
	if p.actor.restartTimer != nil {
		p.actor.restartTimer.Stop()
		p.actor.restartTimer = nil
	}
}

// refreshAddrs updates LocalAddr and RemoteAddr when ICE (re)connects on
// another pair after connect.
func (p *Peer) refreshAddrs() {
	if !p.actor.connectEmitted {
		return
	}
	if local, remote, ok := p.selectedAddrs(); ok {
		p.mu.Lock()
		p.localAddr, p.remoteAddr = local, remote
		p.mu.Unlock()
	}
}

// SelectedCandidatePair returns the candidate pair ICE is using: its Local
// and Remote candidates tell how the peers are connected (Typ host, srflx,
// prflx or relay; Address and Port). It is nil before ICE has selected a
// pair and after the peer is destroyed. After an ICE restart it is the new
// pair.
func (p *Peer) SelectedCandidatePair() *webrtc.ICECandidatePair {
	if !p.usable() || p.Destroyed() {
		return nil
	}
	return p.selectedPair()
}

func (p *Peer) selectedPair() *webrtc.ICECandidatePair {
	sctp := p.pc.SCTP()
	if sctp == nil || sctp.Transport() == nil || sctp.Transport().ICETransport() == nil {
		return nil
	}
	pair, err := sctp.Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Local == nil || pair.Remote == nil {
		return nil
	}
	return pair
}

func (p *Peer) selectedAddrs() (local, remote net.Addr, ok bool) {
	pair := p.selectedPair()
	if pair == nil {
		return nil, nil, false
	}
	return candidateAddr(pair.Local), candidateAddr(pair.Remote), true
}
