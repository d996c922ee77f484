package main

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/pion/logging"
	"github.com/pion/transport/v2/vnet"
)

// condition is one simulated network path: a round-trip time and a random
// packet loss rate, the same in both directions.
type condition struct {
	rtt  time.Duration
	loss float64 // fraction of chunks dropped, 0.01 for 1 %
}

func (c condition) String() string {
	return fmt.Sprintf("%dms/%g%%", c.rtt.Milliseconds(), c.loss*100)
}

// wanNet is one Pion vnet router with two hosts on it, 10.77.0.1 and
// 10.77.0.2. Every chunk (UDP datagram) between them crosses the router
// once, and the router holds each chunk MinDelay before forwarding it, so a
// round trip takes two MinDelays: MinDelay is RTT/2. There is no bandwidth
// limit and the router's queue is unbounded, so delay does not grow with
// load (no bufferbloat); only the receiving vnet socket's 1,024-chunk
// queue can overflow.
//
// Loss is a router chunk filter that drops each chunk independently with
// probability loss (a seeded RNG, so a run is repeatable up to timing). It
// is armed only around the transfer, so connecting and closing are not
// disturbed, and it counts what it drops.
type wanNet struct {
	router *vnet.Router
	a, b   *vnet.Net

	armed   atomic.Bool
	dropped atomic.Int64 // chunks dropped while armed
	passed  atomic.Int64 // chunks let through while armed
}

// newWANNet builds and starts the network for c; seed makes its losses
// repeatable.
func newWANNet(c condition, seed uint64) (*wanNet, error) {
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelError // NewRouter panics without a factory
	router, err := vnet.NewRouter(&vnet.RouterConfig{
		CIDR:          "10.77.0.0/24",
		MinDelay:      c.rtt / 2,
		LoggerFactory: lf,
	})
	if err != nil {
		return nil, err
	}
	w := &wanNet{router: router}
	// The filter runs on the router's one goroutine, so the RNG needs no lock.
	rng := rand.New(rand.NewPCG(seed, uint64(c.rtt)))
	router.AddChunkFilter(func(vnet.Chunk) bool {
		if !w.armed.Load() {
			return true
		}
		if c.loss > 0 && rng.Float64() < c.loss {
			w.dropped.Add(1)
			return false
		}
		w.passed.Add(1)
		return true
	})
	for _, ip := range []string{"10.77.0.1", "10.77.0.2"} {
		n, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{ip}})
		if err == nil {
			err = router.AddNet(n)
		}
		if err != nil {
			return nil, err
		}
		if w.a == nil {
			w.a = n
		} else {
			w.b = n
		}
	}
	if err := router.Start(); err != nil {
		return nil, err
	}
	return w, nil
}

// arm starts (true) or stops (false) the loss filter and its counting.
func (w *wanNet) arm(on bool) { w.armed.Store(on) }

func (w *wanNet) close() { _ = w.router.Stop() }
