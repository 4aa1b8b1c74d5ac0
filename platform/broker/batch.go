package broker

import (
	"fmt"
	"sync"
)

// Batcher turns concurrent calls into group commits. A handler that would
// run one transaction per message calls Do instead; Do queues the item and
// returns the item's own result once the batch that carried it has been
// applied. The handler then returns that result to the router, which acks,
// retries or poisons each message as before: batching changes how work is
// committed, not what happens to a message.
//
// There is no timer. A batch starts as soon as one of inflight slots is
// free, with whatever is queued (at most max items): alone, a message is
// applied at once, and under load the items that arrive while the slots
// are busy form the next batch. So a batch costs no added latency and grows
// with the load, which is what amortises the per-transaction cost (the
// commit's WAL flush, the round trips) over many messages.
//
// The number of items waiting is bounded by the callers: the router's
// handler concurrency, which in turn is bounded by the consumer's
// MaxAckPending.
type Batcher[T any] struct {
	apply func(items []T) []error
	max   int
	slots chan struct{}

	mu      sync.Mutex
	pending []batchCall[T]
}

type batchCall[T any] struct {
	item T
	done chan error
}

// NewBatcher returns a batcher that applies at most max items at a time,
// with at most inflight batches running at once. apply must return one
// error per item, in the items' order (nil for success); it runs on its own
// goroutine and must not call Do.
func NewBatcher[T any](max, inflight int, apply func(items []T) []error) *Batcher[T] {
	if max < 1 || inflight < 1 || apply == nil {
		panic("broker: NewBatcher needs max ≥ 1, inflight ≥ 1 and an apply function")
	}
	return &Batcher[T]{apply: apply, max: max, slots: make(chan struct{}, inflight)}
}

// Do applies item in a batch and returns its result.
func (b *Batcher[T]) Do(item T) error {
	c := batchCall[T]{item: item, done: make(chan error, 1)}
	b.mu.Lock()
	b.pending = append(b.pending, c)
	b.mu.Unlock()
	b.kick()
	return <-c.done
}

// Queued is how many items wait for a batch (not those being applied).
func (b *Batcher[T]) Queued() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending)
}

// kick starts batches while a slot is free and items wait. Every append is
// followed by a kick and every finished batch frees its slot and kicks, so
// no item is left waiting while a slot is free.
func (b *Batcher[T]) kick() {
	for {
		select {
		case b.slots <- struct{}{}:
		default:
			return // every slot busy; the next batch to finish kicks
		}
		b.mu.Lock()
		if len(b.pending) == 0 {
			// Freed under the lock: a Do that appends after this sees the
			// slot free when it kicks.
			<-b.slots
			b.mu.Unlock()
			return
		}
		n := min(len(b.pending), b.max)
		batch := make([]batchCall[T], n)
		copy(batch, b.pending)
		b.pending = append(b.pending[:0], b.pending[n:]...)
		b.mu.Unlock()
		go b.run(batch)
	}
}

func (b *Batcher[T]) run(batch []batchCall[T]) {
	errs := b.applySafely(batch)
	for i, c := range batch {
		c.done <- errs[i]
	}
	<-b.slots
	b.kick()
}

// applySafely calls apply and holds it to its contract; a panic or a
// result of the wrong length fails every item of the batch (the router
// then retries them), rather than the process or other batches.
func (b *Batcher[T]) applySafely(batch []batchCall[T]) (errs []error) {
	items := make([]T, len(batch))
	for i, c := range batch {
		items[i] = c.item
	}
	defer func() {
		if p := recover(); p != nil {
			errs = failAll(len(batch), fmt.Errorf("batch of %d panicked: %v", len(batch), p))
		}
	}()
	errs = b.apply(items)
	if len(errs) != len(items) {
		return failAll(len(batch), fmt.Errorf("batch apply returned %d results for %d items", len(errs), len(items)))
	}
	return errs
}

func failAll(n int, err error) []error {
	errs := make([]error, n)
	for i := range errs {
		errs[i] = err
	}
	return errs
}
