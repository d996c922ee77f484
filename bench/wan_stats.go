package main

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/logging"
	"github.com/pion/webrtc/v3"
)

// What a run reads from Pion and the OS besides the clock.

// pathStats is what the sender's GetStats says about the path.
type pathStats struct {
	iceRTT    time.Duration // the selected ICE pair's last STUN round trip
	srtt      time.Duration // SCTP's smoothed round-trip time
	bytesSent uint64        // SCTP bytes sent: DATA with headers, retransmissions, SACKs
}

// readPathStats picks the nominated ICE candidate pair and the SCTP
// transport out of a stats report.
func readPathStats(r webrtc.StatsReport) pathStats {
	var s pathStats
	for _, v := range r {
		switch st := v.(type) {
		case webrtc.ICECandidatePairStats:
			if st.Nominated && st.CurrentRoundTripTime > 0 {
				s.iceRTT = seconds(st.CurrentRoundTripTime)
			}
		case webrtc.SCTPTransportStats:
			s.srtt = seconds(st.SmoothedRoundTripTime)
			s.bytesSent = st.BytesSent
		}
	}
	return s
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// cpuTime returns the user plus system CPU time of the whole process (both
// peers, the vnet router and the bench itself).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sctpCounter is a Pion logger factory that prints nothing and reads the
// retransmission counters pion/sctp logs at debug level when an
// association closes ("stats nT3Timeouts : N", "stats nFastRetrans: N").
// Pion logs per SCTP chunk at trace and debug level, so the loggers do
// nothing until armed (just before the pair closes): formatting every line
// would slow the transfer. One counter serves both peers of one pair, so
// the totals are the pair's. RACK-detected losses are retransmitted without
// being counted there; the SCTP bytes sent show those.
type sctpCounter struct {
	armed       atomic.Bool
	t3Timeouts  atomic.Int64
	fastRetrans atomic.Int64
}

// NewLogger returns a counting logger for pion/sctp and a silent one for
// everything else.
func (c *sctpCounter) NewLogger(scope string) logging.LeveledLogger {
	if scope == "sctp" {
		return sctpLogger{c}
	}
	return sctpLogger{}
}

// sctpLogger counts into c; with a nil c it discards everything.
type sctpLogger struct{ c *sctpCounter }

func (l sctpLogger) Debugf(format string, args ...any) {
	if l.c == nil || !l.c.armed.Load() {
		return
	}
	// simplepeer hands Pion's lines on as ("%v", lazyLine): format both ways.
	line := fmt.Sprintf(format, args...)
	for name, n := range map[string]*atomic.Int64{
		"stats nT3Timeouts :": &l.c.t3Timeouts,
		"stats nFastRetrans:": &l.c.fastRetrans,
	} {
		if _, after, ok := strings.Cut(line, name); ok {
			if v, err := strconv.ParseInt(strings.TrimSpace(after), 10, 64); err == nil {
				n.Add(v)
			}
		}
	}
}

func (sctpLogger) Trace(string)          {}
func (sctpLogger) Tracef(string, ...any) {}
func (l sctpLogger) Debug(msg string)    { l.Debugf("%s", msg) }
func (sctpLogger) Info(string)           {}
func (sctpLogger) Infof(string, ...any)  {}
func (sctpLogger) Warn(string)           {}
func (sctpLogger) Warnf(string, ...any)  {}
func (sctpLogger) Error(string)          {}
func (sctpLogger) Errorf(string, ...any) {}
