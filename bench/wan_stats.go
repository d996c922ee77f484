package main

import (
	"reflect"
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

// sctpCounter is a Pion logger factory that prints nothing and counts, from
// the lines pion/sctp logs, the DATA chunks it retransmits ("retransmitting
// tsn=" after a RACK, T3-rtx or probe timeout marked them lost,
// "fast-retransmit: tsn=" after three SACKs missing them) and its T3-rtx
// timeouts (RTOs). It matches format strings only: Pion traces every SCTP
// chunk, and formatting those lines would slow the transfer. One counter
// serves both peers of a pair.
type sctpCounter struct {
	rtx  atomic.Int64
	rtos atomic.Int64
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

func (l sctpLogger) count(format string, args []any) {
	if l.c == nil {
		return
	}
	switch format = lineFormat(format, args); {
	case strings.Contains(format, "retransmitting tsn="), strings.Contains(format, "fast-retransmit: tsn="):
		l.c.rtx.Add(1)
	case strings.Contains(format, "T3-rtx timed out"):
		l.c.rtos.Add(1)
	}
}

// lineFormat returns the format string of a log call. simplepeer's
// redacting logger passes Pion's lines on as ("%v", lazyLine{format, args})
// so that only a kept line is formatted; its format is read from there.
func lineFormat(format string, args []any) string {
	if format == "%v" && len(args) == 1 {
		if v := reflect.ValueOf(args[0]); v.Kind() == reflect.Struct && v.NumField() > 0 && v.Field(0).Kind() == reflect.String {
			return v.Field(0).String()
		}
	}
	return format
}

func (l sctpLogger) Tracef(format string, args ...any) { l.count(format, args) }
func (l sctpLogger) Debugf(format string, args ...any) { l.count(format, args) }
func (sctpLogger) Trace(string)                        {}
func (sctpLogger) Debug(string)                        {}
func (sctpLogger) Info(string)                         {}
func (sctpLogger) Infof(string, ...any)                {}
func (sctpLogger) Warn(string)                         {}
func (sctpLogger) Warnf(string, ...any)                {}
func (sctpLogger) Error(string)                        {}
func (sctpLogger) Errorf(string, ...any)               {}
