package simplepeer

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v3"
)

// This file is the adaptive send window: how many bytes Write and Send
// leave unacknowledged before they block.
//
// Pion's BufferedAmount counts bytes until the remote acknowledges them, so
// a window of W bytes caps a transfer at W per round trip. A small window
// is what a fast, near receiver needs: Pion does not pace, and a large
// window lets it burst more than a libwebrtc receiver's socket holds on
// loopback. A far receiver needs a large one: 64 KiB at 50 ms is 1.3 MiB/s.
// So the window follows the path. While a writer is blocked on it, every
// sample period (SCTP's smoothed round-trip time, at least
// minWindowSample) it measures the acknowledgement rate and sets the window
// to twice the bandwidth-delay product: the rate times the smallest RTT
// seen (SCTP's SRTT or ICE's last check), so that the queues a transfer
// builds itself do not count. While SCTP's slow start grows its congestion
// window the window is at least twice that (SCTP grows it only while it is
// fully used), but at most four BDPs. It at most doubles per sample, halves
// when SCTP's congestion window drops (a loss), and stays between minWindow
// and maxWindow. On loopback the RTT is well under a millisecond, so the
// window stays at its floor. A new ICE session (RestartICE) may be a new
// path, so the RTT is measured anew.

const (
	// minWindow is the floor of the window: simple-peer's
	// MAX_BUFFERED_AMOUNT, which keeps a loopback libwebrtc receiver's
	// socket from overflowing.
	minWindow = 64 << 10
	// maxWindow bounds the unacknowledged bytes, and so the memory Pion
	// holds for our sends, per peer. At 50 ms RTT it allows 80 MiB/s.
	maxWindow = 4 << 20
	// minWindowSample is the shortest sample period.
	minWindowSample = 20 * time.Millisecond
	// idleWindowSample: a longer gap between samples means the writer was
	// not window-limited (it paused), so the sample restarts without
	// changing the window.
	idleWindowSample = 2 * time.Second
)

// sendWindow is one peer's adaptive window. Write and Send call sent after
// each message and, when the window is full, update before they wait.
type sendWindow struct {
	size    atomic.Uint64 // the current window, read on every write
	peak    atomic.Uint64 // the largest window so far
	written atomic.Uint64 // bytes handed to the channel since connect

	mu     sync.Mutex
	frozen bool          // Close is flushing: leave the low mark alone
	start  time.Time     // start of the current sample
	acked0 uint64        // bytes acknowledged at start
	srtt   time.Duration // SCTP's smoothed RTT at the last sample
	minRTT time.Duration // the smallest RTT seen (SCTP or ICE): the path without queues
	cwnd   uint32        // SCTP's congestion window at the last sample
}

func (w *sendWindow) init() { w.size.Store(minWindow); w.peak.Store(minWindow) }

// limit returns the current window.
func (w *sendWindow) limit() uint64 { return w.size.Load() }

// sent records n bytes handed to the channel.
func (w *sendWindow) sent(n int) { w.written.Add(uint64(n)) }

// update runs while a writer is window-limited: at the end of each sample
// period it sets the window from the measured rate and RTT, and moves
// Pion's low mark (lowMark) with it.
func (w *sendWindow) update(p *Peer, dc *webrtc.DataChannel) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.frozen {
		return
	}
	now := time.Now()
	buffered := dc.BufferedAmount()
	acked := w.written.Load() - min(buffered, w.written.Load())
	elapsed := now.Sub(w.start)
	if w.start.IsZero() || elapsed > idleWindowSample || acked < w.acked0 {
		w.start, w.acked0 = now, acked
		return
	}
	if elapsed < max(w.srtt, minWindowSample) {
		return
	}
	srtt, iceRTT, cwnd, ok := pathStats(p.pc)
	if !ok {
		w.start, w.acked0 = now, acked
		return
	}
	for _, rtt := range []time.Duration{srtt, iceRTT} {
		if rtt > 0 && (w.minRTT == 0 || rtt < w.minRTT) {
			w.minRTT = rtt
		}
	}
	rate := float64(acked-w.acked0) / elapsed.Seconds()
	bdp := uint64(rate * w.minRTT.Seconds())
	size := w.size.Load()
	// Twice the BDP; and twice SCTP's congestion window, so that SCTP is
	// never starved while its slow start grows it (it grows only while
	// fully used), but no more than four BDPs: on loopback SCTP's window
	// grows large while the measured BDP stays tiny.
	target := max(2*bdp, min(2*uint64(cwnd), 4*bdp))
	target = min(target, 2*size) // at most double per sample
	if w.cwnd > 0 && cwnd < w.cwnd*3/4 {
		target = min(target, size/2) // SCTP saw a loss
	}
	target = min(max(target, minWindow), maxWindow)
	w.srtt, w.cwnd = srtt, cwnd
	w.start, w.acked0 = now, acked
	if target != size {
		w.size.Store(target)
		w.peak.Store(max(w.peak.Load(), target))
		dc.SetBufferedAmountLowThreshold(lowMark(target))
		p.log.Tracef("%s send window %d KiB (rate %.1f MiB/s, srtt %v, cwnd %d)",
			p.id, target>>10, rate/(1<<20), srtt, cwnd)
	}
}

// newPath forgets what was measured of the path, after an ICE restart.
func (w *sendWindow) newPath() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.minRTT, w.srtt, w.cwnd, w.start = 0, 0, 0, time.Time{}
}

// freeze hands the low mark to Close's flush, which sets it to 0.
func (w *sendWindow) freeze(dc *webrtc.DataChannel) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.frozen = true
	dc.SetBufferedAmountLowThreshold(0)
}

// pathStats reads SCTP's smoothed round-trip time and congestion window,
// and the round-trip time of ICE's last check on the selected pair, from
// Pion's statistics (the only place webrtc v3 exposes them). ICE's checks
// are small and rare, so their RTT is the path's without the queues a bulk
// transfer builds; SCTP's SRTT includes those queues.
func pathStats(pc *webrtc.PeerConnection) (srtt, iceRTT time.Duration, cwnd uint32, ok bool) {
	for _, s := range pc.GetStats() {
		switch st := s.(type) {
		case webrtc.SCTPTransportStats:
			srtt, cwnd, ok = seconds(st.SmoothedRoundTripTime), st.CongestionWindow, true
		case webrtc.ICECandidatePairStats:
			if st.Nominated && st.State == webrtc.StatsICECandidatePairStateSucceeded && st.CurrentRoundTripTime > 0 {
				iceRTT = seconds(st.CurrentRoundTripTime)
			}
		}
	}
	return srtt, iceRTT, cwnd, ok
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// lowMark is where a blocked writer wakes: half the floor window below the
// window, so that each wake-up hands Pion at most 32 KiB more than it has
// in flight, not half a window in one burst.
func lowMark(window uint64) uint64 { return window - minWindow/2 }
