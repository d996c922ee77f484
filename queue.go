package simplepeer

import "sync"

// Queues and wake-ups shared by the actor, the dispatcher and the data path.

// fifo is a queue that never blocks its producers: Pion calls back from its
// own goroutines (some of them synchronously on the ICE agent), so posting
// work must not wait for the consumer. It has no bound of its own; its
// producers bound it: data events by the receive budget (inbox.go), the
// rest by the negotiation and the caller's own calls. There is exactly one
// consumer, which waits on ready() and then drains with take().
type fifo[T any] struct {
	mu     sync.Mutex
	items  []T
	closed bool
	notify chan struct{}
}

func newFIFO[T any]() *fifo[T] {
	return &fifo[T]{notify: make(chan struct{}, 1)}
}

// push appends v and wakes the consumer. It reports false, dropping v, once
// the queue is closed.
func (q *fifo[T]) push(v T) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, v)
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
	return true
}

// ready is signalled after pushes; the consumer then calls take.
func (q *fifo[T]) ready() <-chan struct{} { return q.notify }

// take removes and returns everything queued so far. spare, the slice a
// previous take returned, done with, becomes the queue's buffer (cleared,
// so that it holds nothing alive), so a busy queue does not allocate per
// item.
func (q *fifo[T]) take(spare []T) []T {
	clear(spare)
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = spare[:0]
	return items
}

// close makes later pushes fail and returns what was still queued.
func (q *fifo[T]) close() []T {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	items := q.items
	q.items = nil
	return items
}

// notifier wakes every goroutine waiting for a change, not just one: wait
// returns a channel that the next notify closes. A waiter takes the channel
// before it checks its condition, so a change in between is not missed.
// The zero value is ready to use; a channel is made only while somebody
// waits.
type notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

// wait returns a channel closed by the next notify.
func (n *notifier) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

// notify wakes every current waiter.
func (n *notifier) notify() {
	n.mu.Lock()
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
	n.mu.Unlock()
}
