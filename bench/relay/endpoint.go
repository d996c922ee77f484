package main

import (
	"time"

	"golang.org/x/sys/unix"
)

// endpoint is one end of a benchmark connection: a simplepeer Peer in this
// process (goPeer) or a simple-peer in a Node process (nodePeer). Each
// reports what happens to it as events on the channel it was created with.
type endpoint interface {
	// signal passes a signal (simple-peer's JSON) from the other end.
	signal(data []byte) error
	// recv arms the end to expect bytes of pattern(bytes, seed), verify
	// them and report evReceived when the last one is verified.
	recv(bytes int, seed uint32) error
	// send writes bytes of pattern(bytes, seed), reporting evSent with the
	// time just before the first write.
	send(bytes int, seed uint32) error
	// stats returns the ICE round-trip time of the selected candidate pair
	// and, for Go peers, SCTP's smoothed RTT (0 when unknown).
	stats() (ice, sctp time.Duration)
	// ports returns the local ports of the end's sockets to the TURN
	// server, from its relay candidates.
	ports() []int
	close()
}

// eventKind says what an event reports.
type eventKind int

const (
	evConnect eventKind = iota
	evSent
	evReceived
	evError
	evClose
)

// event is something an endpoint reports.
type event struct {
	kind eventKind
	from string // "a" (sender) or "b" (receiver)
	t    int64  // evSent, evReceived: CLOCK_MONOTONIC nanoseconds
	err  error  // evError
}

// monotonic returns CLOCK_MONOTONIC in nanoseconds, the clock Node's
// process.hrtime reads, so times from both processes compare.
func monotonic() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) // cannot fail for this clock
	return ts.Nano()
}
