package simplepeer_test

// Soak: hundreds of pairs connected, loaded and destroyed, checking that
// neither goroutines nor heap accumulate.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer"
	"github.com/gosimplepeer/simplepeer/internal/leakcheck"
)

const (
	soakBytes = 1 << 20 // each way, per cycle
	// soakParallel pairs run at once after the first cycle.
	soakParallel = 3
)

// soakPatterns are the bytes each side writes: deterministic, different
// per direction, and not periodic within a message, so that a lost,
// repeated or reordered chunk cannot read back as the right bytes.
var soakPatterns = func() [2][]byte {
	var p [2][]byte
	for dir := range p {
		b := make([]byte, soakBytes)
		for k := range b {
			b[k] = byte(k*131 + (k>>10)*7 + (k>>18)*3 + dir*89)
		}
		p[dir] = b
	}
	return p
}()

// soakCycle connects a pair, moves soakBytes each way with concurrent
// Writes and Reads, checks every byte, destroys the pair from one side and
// checks that both close. Cycle i picks the roles: bit 0 who destroys
// (initiator or not), bit 1 how (Close or Destroy with an error), bit 2
// trickle off. It returns the first failure. It does not use newPeer:
// t.Cleanup would keep every closed peer reachable until the test ends,
// which the heap check would see as a leak.
func soakCycle(t *testing.T, i int, tr *peerTracker) (err error) {
	o1, o2 := testOptions(true), testOptions(false)
	trickleOff := i&4 != 0
	o1.DisableTrickle, o2.DisableTrickle = trickleOff, trickleOff
	p1, err := simplepeer.New(o1)
	if err != nil {
		return err
	}
	defer p1.Close()
	p2, err := simplepeer.New(o2)
	if err != nil {
		return err
	}
	defer p2.Close()
	peers := [2]*simplepeer.Peer{p1, p2}
	tr.track(p1)
	tr.track(p2)
	wire(t, p1, p2)
	deadline := time.Now().Add(testTimeout) // bounds every Read and Write below
	for _, p := range peers {
		if err := p.SetDeadline(deadline); err != nil {
			return err
		}
		// A closed peer keeps its deadline timers armed (they hold only a
		// channel); disarm them so that the heap check sees none of the
		// test's own.
		defer p.SetDeadline(time.Time{})
	}

	// Writes start before connect: the first 64 KiB are buffered.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for dir, p := range peers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			data := soakPatterns[dir]
			for off, k := 0, 0; off < len(data); k++ {
				n := min(len(data)-off, 1+(k*7919)%40000) // odd sizes: chunking and partial chunks
				if _, err := p.Write(data[off : off+n]); err != nil {
					errs <- fmt.Errorf("peer %d Write at %d: %w", dir+1, off, err)
					return
				}
				off += n
			}
		}()
		go func() {
			defer wg.Done()
			want := soakPatterns[1-dir]
			buf := make([]byte, 24<<10)
			for off := 0; off < len(want); {
				n, err := p.Read(buf)
				if n > len(want)-off {
					errs <- fmt.Errorf("peer %d read %d bytes past the %d sent", dir+1, off+n-len(want), len(want))
					return
				}
				if !bytes.Equal(buf[:n], want[off:off+n]) {
					errs <- fmt.Errorf("peer %d read wrong bytes at %d..%d", dir+1, off, off+n)
					return
				}
				off += n
				if err != nil && off < len(want) {
					errs <- fmt.Errorf("peer %d Read at %d of %d: %w", dir+1, off, len(want), err)
					return
				}
			}
		}()
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	for dir, p := range peers {
		if err := p.WaitConnected(ctx); err != nil {
			return fmt.Errorf("peer %d WaitConnected: %w", dir+1, err)
		}
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}

	who := i & 1
	local, remote := peers[who], peers[1-who]
	if i&2 == 0 {
		_ = local.Close()
	} else {
		local.Destroy(fmt.Errorf("soak cycle %d", i))
	}
	if !isDone(local.Done()) {
		return errors.New("Done not closed when Close/Destroy returned")
	}
	select {
	case <-remote.Done():
	case <-time.After(testTimeout):
		return errors.New("the remote did not close")
	}
	if n, err := remote.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		return fmt.Errorf("remote Read after the close = %d, %v; want 0, io.EOF", n, err)
	}
	return nil
}

// peerTracker counts the peers not yet garbage collected.
type peerTracker struct {
	live    atomic.Int64
	changed chan struct{}
}

func newPeerTracker() *peerTracker { return &peerTracker{changed: make(chan struct{}, 1)} }

func (tr *peerTracker) track(p *simplepeer.Peer) {
	tr.live.Add(1)
	runtime.AddCleanup(p, func(tr *peerTracker) {
		tr.live.Add(-1)
		poke(tr.changed)
	}, tr)
}

// waitCollected waits until every tracked peer has been garbage collected,
// and returns how long that took. Nothing signals that an object became
// unreachable, so this collects garbage every few milliseconds, like
// leakcheck.Leaked, for at most within. A closed peer stays reachable for a
// while through timers it had armed (the Go runtime drops a stopped
// timer's function lazily): the bound allows for the longest, the 5 s
// ICECompleteTimeout.
func (tr *peerTracker) waitCollected(t testing.TB, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for tr.live.Load() > 0 {
		if time.Since(start) > within {
			t.Fatalf("%d closed peers still reachable %v after the last close: a leak", tr.live.Load(), within)
		}
		runtime.GC()
		select {
		case <-tr.changed:
		case <-time.After(20 * time.Millisecond):
		}
	}
	return time.Since(start)
}

// heapAfterGC returns the live heap once garbage is collected.
func heapAfterGC() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC() // the first may leave finalizer-held objects
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestSoak checks that a long life of many peers leaves nothing behind:
// 300 cycles of connect, 1 MiB each way verified byte for byte, and
// destroy, alternating who is the initiator, who destroys, how (Close or
// Destroy), and trickle on or off. Afterwards every goroutine started is
// gone (after leakcheck.Grace for Pion's lingering ones), every peer is
// garbage collected (within the bounded wait of waitCollected), and the
// heap is within 10% of the heap after the first cycle (the first cycle
// warms up Pion's and the runtime's caches).
func TestSoak(t *testing.T) {
	cycles := 300
	if raceEnabled {
		// Under the race detector 300 cycles take about 3 minutes on two
		// cores; 60 still cross every combination of roles many times.
		cycles = 60
	}
	if testing.Short() {
		cycles = 24
	}
	const collectWithin = simplepeer.DefaultICECompleteTimeout + leakcheck.Grace
	start := time.Now()
	goroutines := runtime.NumGoroutine()
	before := leakcheck.Snapshot()
	tr := newPeerTracker()
	if err := soakCycle(t, 0, tr); err != nil {
		t.Fatalf("cycle 0: %v", err)
	}
	if leaked := leakcheck.Leaked(before); len(leaked) > 0 {
		t.Fatalf("%d goroutines left after the first cycle:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
	}
	tr.waitCollected(t, collectWithin)
	heap1 := heapAfterGC()

	next := make(chan int)
	failed := make(chan struct{})
	var failOnce sync.Once
	var slowMu sync.Mutex
	var slowest time.Duration // for the log: a stalled cycle shows here
	slowestCycle := 0
	var wg sync.WaitGroup
	for range soakParallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				began := time.Now()
				if err := soakCycle(t, i, tr); err != nil {
					t.Errorf("cycle %d: %v", i, err)
					failOnce.Do(func() { close(failed) })
				}
				took := time.Since(began)
				slowMu.Lock()
				if took > slowest {
					slowest, slowestCycle = took, i
				}
				slowMu.Unlock()
			}
		}()
	}
feed:
	for i := 1; i < cycles; i++ {
		select {
		case next <- i:
		case <-failed:
			break feed
		}
	}
	close(next)
	wg.Wait()
	if t.Failed() {
		return
	}
	elapsed := time.Since(start)

	leaked := leakcheck.Leaked(before)
	heapNow := heapAfterGC()
	collected := tr.waitCollected(t, collectWithin)
	heapN := heapAfterGC()
	t.Logf("%d cycles (%d at a time) in %v; goroutines: %d before, %d after; heap after cycle 1: %d bytes, "+
		"after all: %d bytes at once, %d bytes (%+.1f%%) once all %d peers were collected (%v later); slowest cycle %d: %v",
		cycles, soakParallel, elapsed.Round(time.Millisecond), goroutines, runtime.NumGoroutine(),
		heap1, heapNow, heapN, 100*(float64(heapN)/float64(heap1)-1), 2*cycles, collected.Round(time.Millisecond),
		slowestCycle, slowest.Round(time.Millisecond))
	if len(leaked) > 0 {
		t.Errorf("%d goroutines left after %d cycles:\n%s", len(leaked), cycles, strings.Join(leaked, "\n\n"))
	}
	if float64(heapN) > 1.1*float64(heap1) {
		t.Errorf("heap grew from %d bytes after the first cycle to %d after %d cycles: more than 10%%", heap1, heapN, cycles)
	}
}
