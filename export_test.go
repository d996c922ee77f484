package simplepeer

import (
	"reflect"
	"sync"
	"unsafe"

	"github.com/pion/ice/v2"
)

// Internals the black-box tests measure bounds with.

// InboxState returns what p holds of received, unconsumed data: the budget
// charged (bytes plus rxMessageCost per message) and the messages queued as
// data events for the dispatcher.
func InboxState(p *Peer) (charged, events int) {
	p.inbox.mu.Lock()
	defer p.inbox.mu.Unlock()
	return p.inbox.charged, p.inbox.events
}

// HeldEvents returns how many events p holds, per kind, for handlers that
// are not set.
func HeldEvents(p *Peer) map[string]int {
	names := map[eventKind]string{evSignal: "signal", evConnect: "connect", evData: "data", evError: "error",
		evClose: "close", evTrack: "track", evStream: "stream", evNegotiated: "negotiated",
		evICEState: "iceState", evSignalingState: "signalingState"}
	p.ev.mu.Lock()
	defer p.ev.mu.Unlock()
	held := map[string]int{}
	for k, evs := range p.ev.held {
		if len(evs) > 0 {
			held[names[eventKind(k)]] = len(evs)
		}
	}
	return held
}

// Budget limits, for tests that check them.
const (
	RxBudget       = rxBudget
	RxMessageCost  = rxMessageCost
	MinWindow      = minWindow
	MaxWindow      = maxWindow
	MaxHeld        = maxHeld
	MaxRemoteCands = maxRemoteCandidates
)

// SendWindow is p's current send window and the largest it has been
// (window.go).
func SendWindow(p *Peer) (now, peak uint64) { return p.window.limit(), p.window.peak.Load() }

// SinglePortConns returns how many ICE connections the single port's UDP
// mux holds (by ufrag, and by remote address): both drop to 0 once every
// peer using it has closed.
func SinglePortConns(sp *SinglePort) (byUfrag, byAddr int) {
	m, ok := sp.udp.(*ice.UDPMuxDefault)
	if !ok {
		return -1, -1
	}
	v := reflect.ValueOf(m).Elem()
	// Read under the mux's own locks, as its methods do.
	mu := (*sync.Mutex)(unsafe.Pointer(v.FieldByName("mu").UnsafeAddr()))
	amu := (*sync.RWMutex)(unsafe.Pointer(v.FieldByName("addressMapMu").UnsafeAddr()))
	mu.Lock()
	byUfrag = v.FieldByName("connsIPv4").Len() + v.FieldByName("connsIPv6").Len()
	mu.Unlock()
	amu.RLock()
	byAddr = v.FieldByName("addressMap").Len()
	amu.RUnlock()
	return byUfrag, byAddr
}

// ChannelCloseWait says how p's teardown after Close or Destroy waited for
// the remote to close the data channel: "none", "skipped", "remote" or
// "timed out".
func ChannelCloseWait(p *Peer) string {
	return [...]string{"none", "skipped", "remote", "timed out"}[p.life.channelClose.Load()]
}
