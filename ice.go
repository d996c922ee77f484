package simplepeer

import (
	"net"

	"github.com/pion/webrtc/v3"
)

// This file holds what the Peer reads from ICE: the selected candidate pair.

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
