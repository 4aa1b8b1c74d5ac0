package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"example.com/creativesync/platform/pgtest"
	"example.com/creativesync/services/notifier/internal/notify"
	"example.com/creativesync/services/notifier/internal/postgres"
	"github.com/jmoiron/sqlx"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func mustStore(t *testing.T) (*postgres.Store, *sqlx.DB) { return mustStoreTB(t) }

func mustStoreTB(t testing.TB) (*postgres.Store, *sqlx.DB) {
	t.Helper()
	db := pgtest.Migrated(t, postgres.Migrate)
	return postgres.NewStore(db), db
}

func newDelivery(i int, account string, at time.Time) notify.Delivery {
	return notify.Delivery{
		IdempotencyKey: fmt.Sprintf("whk_test_key_%08d", i),
		EventID:        fmt.Sprintf("ev-%d", i),
		AccountID:      account,
		Kind:           "task_status",
		URL:            "https://buyer.example.com/hooks",
		Payload:        []byte(fmt.Sprintf(`{"n": %d,  "spaced":true}`, i)),
		Status:         notify.StatusPending,
		WindowStart:    at,
		NextAttemptAt:  at,
		CreatedAt:      at,
		UpdatedAt:      at,
	}
}

func mustInsert(t *testing.T, s *postgres.Store, d notify.Delivery) int64 {
	return mustInsertTB(t, s, d)
}

var delivered = notify.Transition{Status: notify.StatusDelivered}

func attemptOK(d notify.Delivery) notify.Attempt {
	return notify.Attempt{DeliveryID: d.ID, Number: d.Attempts, StartedAt: t0, Duration: time.Millisecond, StatusCode: 204, Outcome: notify.StatusDelivered}
}

func mustInsertTB(t testing.TB, s *postgres.Store, d notify.Delivery) int64 {
	t.Helper()
	id, inserted, err := s.Insert(context.Background(), d)
	if err != nil || !inserted {
		t.Fatalf("insert: %v (inserted=%v)", err, inserted)
	}
	return id
}

func TestInsertIsIdempotentAndKeepsExactBytes(t *testing.T) {
	t.Parallel()
	s, _ := mustStore(t)
	ctx := context.Background()
	d := newDelivery(1, "acct", t0)
	d.AuthScheme, d.AuthCredentials = notify.SchemeHMAC, "0123456789abcdef0123456789abcdef"
	id := mustInsert(t, s, d)

	again := d
	again.Payload = []byte(`{"different":true}`)
	if _, inserted, err := s.Insert(ctx, again); err != nil || inserted {
		t.Fatalf("second insert: inserted=%v err=%v", inserted, err)
	}
	got, _, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Payload) != string(d.Payload) {
		t.Fatalf("payload %q, want the first copy's exact bytes %q", got.Payload, d.Payload)
	}
	if got.AuthCredentials != d.AuthCredentials || got.Status != notify.StatusPending || !got.NextAttemptAt.Equal(t0) {
		t.Fatalf("row %+v", got)
	}
}

func TestConcurrentClaimsGetDisjointRows(t *testing.T) {
	t.Parallel()
	s, _ := mustStore(t)
	const n = 40
	for i := range n {
		mustInsert(t, s, newDelivery(i, "acct", t0))
	}
	var mu sync.Mutex
	claimed := map[int][]int64{}
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for {
				ds, err := s.Claim(context.Background(), t0, time.Minute, 3)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					claimed[w] = append(claimed[w], d.ID)
					if d.Attempts != 1 || d.WindowAttempts != 1 {
						t.Errorf("claimed row has attempts=%d window=%d", d.Attempts, d.WindowAttempts)
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	all := append(slices.Clone(claimed[0]), claimed[1]...)
	slices.Sort(all)
	if len(slices.Compact(all)) != n || len(claimed[0])+len(claimed[1]) != n {
		t.Fatalf("worker 0 got %d, worker 1 got %d, %d distinct; want %d disjoint", len(claimed[0]), len(claimed[1]), len(all), n)
	}
}

// TestClaimSkipsLockedRows holds a row lock the way a concurrent claim in
// another replica would, and checks that a claim passes over it at once.
func TestClaimSkipsLockedRows(t *testing.T) {
	t.Parallel()
	s, db := mustStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	locked := mustInsert(t, s, newDelivery(1, "acct", t0))
	free := mustInsert(t, s, newDelivery(2, "acct", t0.Add(time.Second)))

	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT id FROM deliveries WHERE id = $1 FOR UPDATE`, locked); err != nil {
		t.Fatal(err)
	}
	ds, err := s.Claim(ctx, t0.Add(time.Minute), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].ID != free {
		t.Fatalf("claimed %v, want only %d", ids(ds), free)
	}
	_ = tx.Rollback()
	ds, err = s.Claim(ctx, t0.Add(time.Minute), time.Minute, 10)
	if err != nil || len(ds) != 1 || ds[0].ID != locked {
		t.Fatalf("after unlock claimed %v (%v), want %d", ids(ds), err, locked)
	}
}

func ids(ds []notify.Delivery) []int64 {
	out := make([]int64, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

func TestLeaseHidesRowAndGuardsTheOutcome(t *testing.T) {
	t.Parallel()
	s, _ := mustStore(t)
	ctx := context.Background()
	id := mustInsert(t, s, newDelivery(1, "acct", t0))
	if ds, _ := s.Claim(ctx, t0.Add(-time.Second), time.Minute, 1); len(ds) != 0 {
		t.Fatal("a row not yet due was claimed")
	}
	first, err := s.Claim(ctx, t0, time.Minute, 1)
	if err != nil || len(first) != 1 {
		t.Fatalf("claim: %v %v", first, err)
	}
	if ds, _ := s.Claim(ctx, t0.Add(30*time.Second), time.Minute, 1); len(ds) != 0 {
		t.Fatal("a leased row was claimed again")
	}
	// The first worker is presumed dead; the lease runs out and another
	// worker takes over.
	second, err := s.Claim(ctx, t0.Add(61*time.Second), time.Minute, 1)
	if err != nil || len(second) != 1 || second[0].Attempts != 2 {
		t.Fatalf("re-claim: %+v %v", second, err)
	}
	late := notify.Attempt{DeliveryID: id, Number: 1, StartedAt: t0, Duration: 70 * time.Second, StatusCode: 200, Outcome: notify.StatusDelivered}
	if err := s.Record(ctx, first[0], late, notify.Transition{Status: notify.StatusDelivered}); !errors.Is(err, notify.ErrLeaseLost) {
		t.Fatalf("stale record: %v", err)
	}
	retry := notify.Transition{Status: notify.StatusPending, NextAttemptAt: t0.Add(5 * time.Minute), Reason: "HTTP 503"}
	a := notify.Attempt{DeliveryID: id, Number: 2, StartedAt: t0.Add(61 * time.Second), Duration: 12 * time.Millisecond, StatusCode: 503, Error: "HTTP 503", Outcome: notify.StatusPending}
	if err := s.Record(ctx, second[0], a, retry); err != nil {
		t.Fatal(err)
	}
	d, attempts, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != notify.StatusPending || !d.NextAttemptAt.Equal(t0.Add(5*time.Minute)) || d.LastStatusCode != 503 || d.LastError != "HTTP 503" {
		t.Fatalf("delivery %+v", d)
	}
	if len(attempts) != 1 || attempts[0].Number != 2 || attempts[0].StatusCode != 503 || attempts[0].Duration != 12*time.Millisecond {
		t.Fatalf("attempts %+v", attempts)
	}
}

func TestRequeue(t *testing.T) {
	t.Parallel()
	s, _ := mustStore(t)
	ctx := context.Background()
	id := mustInsert(t, s, newDelivery(1, "acct", t0))
	if _, err := s.Requeue(ctx, id, t0); !errors.Is(err, notify.ErrNotRetryable) {
		t.Fatalf("requeue of a pending delivery: %v", err)
	}
	if _, err := s.Requeue(ctx, id+1000, t0); !errors.Is(err, notify.ErrNotFound) {
		t.Fatalf("requeue of a missing delivery: %v", err)
	}
	ds, _ := s.Claim(ctx, t0, time.Minute, 1)
	dead := notify.Transition{Status: notify.StatusDead, Reason: "gave up"}
	if err := s.Record(ctx, ds[0], notify.Attempt{DeliveryID: id, Number: 1, StartedAt: t0, Outcome: notify.StatusDead}, dead); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(48 * time.Hour)
	d, err := s.Requeue(ctx, id, later)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != notify.StatusPending || !d.WindowStart.Equal(later) || d.WindowAttempts != 0 || d.Attempts != 1 || d.FinishedAt != nil {
		t.Fatalf("requeued %+v", d)
	}
	if ds, _ := s.Claim(ctx, later, time.Minute, 1); len(ds) != 1 || ds[0].Attempts != 2 || ds[0].WindowAttempts != 1 {
		t.Fatalf("requeued delivery not claimable as expected: %+v", ds)
	}
}

func TestListAndQueueDepth(t *testing.T) {
	t.Parallel()
	s, _ := mustStore(t)
	ctx := context.Background()
	for i := range 5 {
		account := "a"
		if i%2 == 1 {
			account = "b"
		}
		mustInsert(t, s, newDelivery(i, account, t0.Add(time.Duration(i)*time.Minute)))
	}
	ds, _ := s.Claim(ctx, t0, time.Minute, 1)
	if err := s.Record(ctx, ds[0], notify.Attempt{DeliveryID: ds[0].ID, Number: 1, StartedAt: t0, StatusCode: 400, Outcome: notify.StatusFailed},
		notify.Transition{Status: notify.StatusFailed, Reason: "HTTP 400"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		f    notify.Filter
		want int
	}{
		{notify.Filter{Limit: 100}, 5},
		{notify.Filter{Limit: 2}, 2},
		{notify.Filter{AccountID: "b", Limit: 100}, 2},
		{notify.Filter{Status: notify.StatusFailed, Limit: 100}, 1},
		{notify.Filter{Status: notify.StatusPending, AccountID: "a", Limit: 100}, 2},
	} {
		got, err := s.List(ctx, tc.f)
		if err != nil || len(got) != tc.want {
			t.Errorf("List(%+v) = %d rows, %v; want %d", tc.f, len(got), err, tc.want)
		}
		for _, d := range got {
			if d.AuthCredentials != "" || d.Payload != nil {
				t.Errorf("List exposed payload or credentials")
			}
		}
	}
	due, pending, err := s.QueueDepth(ctx, t0.Add(150*time.Second))
	if err != nil || due != 2 || pending != 4 {
		t.Fatalf("QueueDepth = %d due, %d pending, %v; want 2, 4", due, pending, err)
	}
}

func TestSigningKeyFirstWriterWins(t *testing.T) {
	t.Parallel()
	s, _ := mustStore(t)
	ctx := context.Background()
	kid, seed, err := s.SigningKey(ctx, "kid-a", []byte("seed-a"))
	if err != nil || kid != "kid-a" || string(seed) != "seed-a" {
		t.Fatalf("first: %s %s %v", kid, seed, err)
	}
	kid, seed, err = s.SigningKey(ctx, "kid-b", []byte("seed-b"))
	if err != nil || kid != "kid-a" || string(seed) != "seed-a" {
		t.Fatalf("second replica got %s %s %v; want the first key", kid, seed, err)
	}
}
