package broker_test

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"example.com/creativesync/platform/broker"
)

// Every caller gets its own item's result, however the items were batched,
// no batch is larger than max, and no more than inflight run at once.
func TestBatcherGivesEachCallerItsResult(t *testing.T) {
	t.Parallel()
	const callers, max, inflight = 2000, 64, 2
	var (
		running, peak atomic.Int32
		mu            sync.Mutex
		sizes         []int
	)
	b := broker.NewBatcher(max, inflight, func(items []int) []error {
		if n := running.Add(1); n > peak.Load() {
			peak.Store(n)
		}
		defer running.Add(-1)
		mu.Lock()
		sizes = append(sizes, len(items))
		mu.Unlock()
		errs := make([]error, len(items))
		for i, it := range items {
			if it%3 == 0 {
				errs[i] = fmt.Errorf("item %d", it)
			}
		}
		return errs
	})
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			err := b.Do(i)
			if want := i%3 == 0; (err != nil) != want || (err != nil && err.Error() != fmt.Sprintf("item %d", i)) {
				t.Errorf("item %d: got %v", i, err)
			}
		})
	}
	wg.Wait()
	total := 0
	for _, n := range sizes {
		if n > max {
			t.Errorf("batch of %d, max %d", n, max)
		}
		total += n
	}
	if total != callers {
		t.Errorf("applied %d items, want %d", total, callers)
	}
	if p := peak.Load(); p > inflight {
		t.Errorf("%d batches ran at once, want at most %d", p, inflight)
	}
}

// Items that arrive while every slot is busy are applied together once one
// frees up: that is the group commit.
func TestBatcherGroupsWhileBusy(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	started := make(chan int, 10)
	b := broker.NewBatcher(100, 1, func(items []string) []error {
		started <- len(items)
		<-release
		return make([]error, len(items))
	})
	var wg sync.WaitGroup
	wg.Go(func() { _ = b.Do("first") })
	if n := <-started; n != 1 {
		t.Fatalf("first batch of %d, want 1 (nothing else was waiting)", n)
	}
	var done atomic.Int32
	for i := range 10 {
		wg.Go(func() {
			if err := b.Do(fmt.Sprint(i)); err != nil {
				t.Error(err)
			}
			done.Add(1)
		})
	}
	// The ten wait in the queue behind the busy slot; nothing can finish
	// before the first batch is released.
	waitQueued(t, b, 10)
	if done.Load() != 0 {
		t.Fatal("an item finished while the only slot was busy")
	}
	close(release)
	if n := <-started; n != 10 {
		t.Fatalf("second batch of %d, want the 10 that queued", n)
	}
	wg.Wait()
}

// waitQueued waits until n items are queued, through the batcher's own
// accounting rather than a sleep.
func waitQueued(t *testing.T, b interface{ Queued() int }, n int) {
	t.Helper()
	for b.Queued() < n {
		runtime.Gosched()
	}
}

// A panicking or misbehaving apply fails its batch, not the process, and
// the batcher keeps working.
func TestBatcherSurvivesBadApply(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	b := broker.NewBatcher(10, 1, func(items []int) []error {
		switch calls.Add(1) {
		case 1:
			panic("boom")
		case 2:
			return nil
		}
		return make([]error, len(items))
	})
	if err := b.Do(1); err == nil {
		t.Error("a panicking batch succeeded")
	}
	if err := b.Do(2); err == nil {
		t.Error("a batch with no results succeeded")
	}
	if err := b.Do(3); err != nil {
		t.Errorf("batcher broken after bad batches: %v", err)
	}
}
