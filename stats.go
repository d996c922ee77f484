package simplepeer

import (
	"sync/atomic"
	"time"

	"github.com/pion/logging"
	"github.com/pion/webrtc/v3"
)

// counters are the data channel's traffic as the library sees it: every
// message sent by Send, SendString or Write (one per chunk of at most
// 16 KiB) and every message received, whether it went to OnData or Read.
type counters struct {
	messagesSent, bytesSent         atomic.Uint64
	messagesReceived, bytesReceived atomic.Uint64
	rtcpDropped                     atomic.Uint64
	retransmissions, timeouts       atomic.Uint64 // SCTP's, from its log calls (sctpCounter)
}

func (c *counters) sent(n int) {
	c.messagesSent.Add(1)
	c.bytesSent.Add(uint64(n))
}

func (c *counters) received(n int) {
	c.messagesReceived.Add(1)
	c.bytesReceived.Add(uint64(n))
}

// Summary is a peer's state and traffic in one struct, for logs and
// dashboards; GetStats has everything Pion reports.
type Summary struct {
	// Pair is the candidate pair ICE uses (SelectedCandidatePair): its
	// Local and Remote candidates' Typ (host, srflx, prflx, relay),
	// Protocol, Address and Port. Nil before connect.
	Pair *webrtc.ICECandidatePair
	// RTT is the pair's latest ICE round-trip time; SCTPRTT is SCTP's
	// smoothed round-trip time (it includes the remote's delayed acks).
	// Zero until measured.
	RTT, SCTPRTT time.Duration
	// CongestionWindow is SCTP's congestion window in bytes.
	CongestionWindow uint32
	// SendWindow is the library's current limit on unacknowledged bytes
	// for Write and Send (64 KiB to 4 MiB, see the README), and Buffered
	// the bytes sent and not yet acknowledged.
	SendWindow, Buffered int
	// Data channel messages and payload bytes sent (Send, SendString, and
	// Write's chunks) and received (to OnData or Read) since New.
	MessagesSent, BytesSent, MessagesReceived, BytesReceived uint64
	// RTCPDropped counts RTCP packets dropped because 256 were already
	// waiting for the OnRTCP handler.
	RTCPDropped uint64
	// Retransmissions counts the DATA chunks SCTP sent again (fast
	// retransmits and chunks marked lost), and Timeouts its
	// retransmission timeouts (T3-rtx): both stay near 0 on a clean path.
	Retransmissions, Timeouts uint64
}

// Summary returns the peer's Summary. It reads Pion's stats, so call it
// for monitoring (once a second, say), not per message. After destroy only
// the counters are left.
func (p *Peer) Summary() Summary {
	if !p.usable() {
		return Summary{}
	}
	s := Summary{
		MessagesSent:     p.stats.messagesSent.Load(),
		BytesSent:        p.stats.bytesSent.Load(),
		MessagesReceived: p.stats.messagesReceived.Load(),
		BytesReceived:    p.stats.bytesReceived.Load(),
		RTCPDropped:      p.stats.rtcpDropped.Load(),
		Retransmissions:  p.stats.retransmissions.Load(),
		Timeouts:         p.stats.timeouts.Load(),
	}
	if p.Destroyed() {
		return s
	}
	s.Pair = p.selectedPair()
	s.SCTPRTT, s.RTT, s.CongestionWindow, _ = pathStats(p.pc)
	s.SendWindow = int(p.window.limit())
	p.mu.Lock()
	dc := p.dc
	p.mu.Unlock()
	if dc != nil {
		s.Buffered = int(dc.BufferedAmount())
	}
	return s
}

// Pion's SCTP (pinned v1.11.3) reports no retransmission counters, but it
// logs each retransmission and timeout, with these formats, whatever the
// logger's level: sctpCounter counts them from the format strings alone,
// before any formatting. TestSummaryCountsRetransmissions fails if a new
// pion/sctp changes them.
const (
	sctpFastRetransmit = "[%s] fast-retransmit: tsn=%d sent=%d htna=%d"
	sctpRetransmit     = "[%s] retransmitting tsn=%d ssn=%d sent=%d"
	sctpT3Timeout      = "[%s] T3-rtx timed out: nRtos=%d cwnd=%d ssthresh=%d"
)

// countingFactory wraps a peer's Pion logger factory: its "sctp" loggers
// count into c.
type countingFactory struct {
	logging.LoggerFactory
	c *counters
}

func (f countingFactory) NewLogger(scope string) logging.LeveledLogger {
	l := f.LoggerFactory.NewLogger(scope)
	if scope != "sctp" {
		return l
	}
	return sctpCounter{LeveledLogger: l, c: f.c}
}

type sctpCounter struct {
	logging.LeveledLogger
	c *counters
}

func (l sctpCounter) Tracef(format string, args ...any) {
	if format == sctpFastRetransmit || format == sctpRetransmit {
		l.c.retransmissions.Add(1)
	}
	l.LeveledLogger.Tracef(format, args...)
}

func (l sctpCounter) Debugf(format string, args ...any) {
	if format == sctpT3Timeout {
		l.c.timeouts.Add(1)
	}
	l.LeveledLogger.Debugf(format, args...)
}
