package messaging_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/apperr"
	"example.com/creativesync/platform/broker"
	"example.com/creativesync/platform/logging"
	"example.com/creativesync/services/review/internal/messaging"
	"example.com/creativesync/services/review/internal/review"
)

// reviewer records what the handler asks of the use case; the store
// behind it is exercised for real in the postgres and service tests.
type reviewer struct {
	err      error
	batchErr error // fails a whole ReviewCreatives call
	got      []review.Creative
	origin   review.Origin
	batches  int
	// cl is what Classify answers; classified counts its calls and gotCl
	// holds the classification of each review.
	cl         *review.Classification
	classified int
	gotCl      []*review.Classification
}

func (r *reviewer) Classify(context.Context, review.Creative, review.Snapshot) *review.Classification {
	r.classified++
	return r.cl
}

func (r *reviewer) ReviewItem(_ context.Context, it review.Item) (review.Review, error) {
	r.got = append(r.got, it.Creative)
	r.gotCl = append(r.gotCl, it.Classification)
	r.origin = it.Origin
	return review.Review{Key: it.Creative.Key}, r.err
}

func (r *reviewer) ReviewCreatives(ctx context.Context, items []review.Item) ([]review.Review, []error, error) {
	r.batches++
	if r.batchErr != nil {
		return nil, nil, r.batchErr
	}
	rvs, errs := make([]review.Review, len(items)), make([]error, len(items))
	for i, it := range items {
		rvs[i], errs[i] = r.ReviewItem(ctx, it)
	}
	return rvs, errs, nil
}

// The handler classifies each message once, before its batch, and the
// batch and its one-by-one fallback use that classification.
func TestClassifiedBeforeTheBatchAndOnce(t *testing.T) {
	t.Parallel()
	cl := &review.Classification{Findings: []review.Finding{{Code: "GAMBLING", Factor: 0.4}}}
	for _, batchErr := range []error{nil, errors.New("batch refused")} {
		r := &reviewer{cl: cl, batchErr: batchErr}
		if err := messaging.NewHandlers(r, slog.New(slog.DiscardHandler)).OnCreativeSynced(syncedMsg(t, nil)); err != nil {
			t.Fatal(err)
		}
		if r.classified != 1 || len(r.gotCl) != 1 || r.gotCl[0] != cl {
			t.Fatalf("batch error %v: classified %d times, reviews saw %v; want once, %p", batchErr, r.classified, r.gotCl, cl)
		}
	}
}

// A batch of one whose transaction fails is retried on its own, so the
// message succeeds on its own rather than failing with its batch.
func TestFailedBatchOfOneFallsBackToSingleReview(t *testing.T) {
	t.Parallel()
	r := &reviewer{batchErr: errors.New("batch refused")}
	if err := messaging.NewHandlers(r, slog.New(slog.DiscardHandler)).OnCreativeSynced(syncedMsg(t, nil)); err != nil {
		t.Fatalf("err = %v, want the single review's success", err)
	}
	if r.batches != 1 || len(r.got) != 1 {
		t.Fatalf("%d batches, %d single reviews; want 1 and 1", r.batches, len(r.got))
	}
}

func syncedMsg(t *testing.T, edit func(*events.CreativeSyncedV1)) *message.Message {
	t.Helper()
	ev := &events.CreativeSyncedV1{
		AccountID: "acct", CreativeID: "c", Revision: 1,
		Assets: json.RawMessage(`{}`),
	}
	if edit != nil {
		edit(ev)
	}
	msg, err := broker.NewMessage(ev)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func TestOnCreativeSynced(t *testing.T) {
	t.Parallel()
	transient := errors.New("database is down")
	tests := []struct {
		name          string
		msg           func(t *testing.T) *message.Message
		reviewErr     error
		wantErr       bool
		wantPermanent bool
		wantReviewed  bool
	}{
		{"valid event", func(t *testing.T) *message.Message { return syncedMsg(t, nil) }, nil, false, false, true},
		{"redelivered revision is acknowledged", func(t *testing.T) *message.Message { return syncedMsg(t, nil) }, review.ErrAlreadyReviewed, false, false, true},
		{"store failure is retried", func(t *testing.T) *message.Message { return syncedMsg(t, nil) }, transient, true, false, true},
		{"undecodable payload is permanent", func(*testing.T) *message.Message {
			return message.NewMessage(watermill.NewUUID(), []byte("{"))
		}, nil, true, true, false},
		{"contract violation is permanent", func(t *testing.T) *message.Message {
			return syncedMsg(t, func(ev *events.CreativeSyncedV1) { ev.Revision = 0 })
		}, nil, true, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &reviewer{err: tt.reviewErr}
			err := messaging.NewHandlers(r, slog.New(slog.DiscardHandler)).OnCreativeSynced(tt.msg(t))
			if (err != nil) != tt.wantErr || apperr.IsPermanent(err) != tt.wantPermanent {
				t.Fatalf("err = %v (permanent %v), want error %v permanent %v", err, apperr.IsPermanent(err), tt.wantErr, tt.wantPermanent)
			}
			if (len(r.got) == 1) != tt.wantReviewed {
				t.Fatalf("reviewed %d times", len(r.got))
			}
		})
	}
}

func TestCorrelationID(t *testing.T) {
	t.Parallel()
	r := &reviewer{}
	h := messaging.NewHandlers(r, slog.New(slog.DiscardHandler))

	withHeader := syncedMsg(t, func(ev *events.CreativeSyncedV1) { ev.CorrelationID = "from-event" })
	if err := h.OnCreativeSynced(withHeader); err != nil {
		t.Fatal(err)
	}
	if r.origin.CorrelationID != "from-event" || r.origin.EventID == "" {
		t.Fatalf("origin = %+v, want the event header's correlation id", r.origin)
	}

	// An event whose producer left the header empty still carries the
	// message's correlation id, which the router middleware puts in the
	// context.
	bare := syncedMsg(t, nil)
	bare.SetContext(logging.WithCorrelationID(context.Background(), "from-metadata"))
	if err := h.OnCreativeSynced(bare); err != nil {
		t.Fatal(err)
	}
	if r.origin.CorrelationID != "from-metadata" {
		t.Fatalf("correlation id = %q, want the message's", r.origin.CorrelationID)
	}
}

// batchFailer fails every ReviewCreatives call of more than one review and
// holds its calls until released, so that a batch can form.
type batchFailer struct {
	reviewer
	mu      sync.Mutex
	sizes   []int
	singles int
	release chan struct{}
}

func (b *batchFailer) ReviewCreatives(_ context.Context, items []review.Item) ([]review.Review, []error, error) {
	b.mu.Lock()
	b.sizes = append(b.sizes, len(items))
	b.mu.Unlock()
	<-b.release
	if len(items) > 1 {
		return nil, nil, errors.New("batch refused")
	}
	return []review.Review{{Key: items[0].Creative.Key}}, []error{nil}, nil
}

func (b *batchFailer) Classify(context.Context, review.Creative, review.Snapshot) *review.Classification {
	return nil
}

func (b *batchFailer) ReviewItem(_ context.Context, it review.Item) (review.Review, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.singles++
	return review.Review{Key: it.Creative.Key}, nil
}

func (b *batchFailer) calls() ([]int, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.sizes), b.singles
}

// A batch whose transaction fails is reviewed one by one, so each message
// succeeds on its own instead of failing with its batch.
func TestFailedBatchFallsBackToSingleReviews(t *testing.T) {
	t.Parallel()
	r := &batchFailer{release: make(chan struct{})}
	h := messaging.NewHandlers(r, slog.New(slog.DiscardHandler))
	const n = 6
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- h.OnCreativeSynced(syncedMsg(t, func(ev *events.CreativeSyncedV1) { ev.CreativeID = fmt.Sprint("c", i) }))
		}()
	}
	// The first two messages take both in-flight slots and wait; the
	// others queue behind them and form one batch once the slots free.
	for sizes, _ := r.calls(); len(sizes) < 2 || h.Queued() < n-2; sizes, _ = r.calls() {
		runtime.Gosched()
	}
	close(r.release)
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("err = %v, want every message reviewed on its own", err)
		}
	}
	sizes, singles := r.calls()
	if !slices.ContainsFunc(sizes, func(n int) bool { return n > 1 }) || singles != n-2 {
		t.Fatalf("batches %v, %d single reviews: want one failed batch of %d reviewed one by one", sizes, singles, n-2)
	}
}
