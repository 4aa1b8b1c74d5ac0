package notify

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"example.com/creativesync/platform/logging"
)

// Errors the store returns; the edges map them to statuses.
var (
	ErrNotFound     = errors.New("delivery not found")
	ErrNotRetryable = errors.New("only failed or dead deliveries can be re-queued")
	// ErrLeaseLost means another worker re-claimed the delivery after this
	// worker's lease ran out; its outcome is not recorded.
	ErrLeaseLost = errors.New("delivery lease lost")
)

// Queue is what the dispatcher needs from storage.
type Queue interface {
	// Claim leases up to limit due pending deliveries for lease, increments
	// their attempt counters and returns them. Rows locked by another claim
	// are skipped, so replicas never get the same delivery.
	Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Delivery, error)
	// Record stores the attempt and moves the delivery to t in one
	// transaction, provided d.Attempts still matches (ErrLeaseLost if not).
	Record(ctx context.Context, d Delivery, a Attempt, t Transition) error
}

// Sender makes one HTTP attempt.
type Sender interface {
	Send(ctx context.Context, d Delivery) Result
}

// Observer is told about attempts and final outcomes (metrics).
type Observer interface {
	AttemptDone(c Classification, d time.Duration)
	DeliveryDone(s Status)
}

// DispatcherConfig configures a Dispatcher.
type DispatcherConfig struct {
	Queue    Queue
	Sender   Sender
	Policy   RetryPolicy
	Observer Observer
	Logger   *slog.Logger
	// Workers is how many attempts run at once in this process.
	Workers int
	// PollInterval is how often an idle worker looks for due deliveries when
	// nothing woke it.
	PollInterval time.Duration
	// Lease is how long a claimed delivery stays hidden from other workers.
	// It must exceed the longest attempt; a worker that dies mid-attempt
	// leaves the delivery to be retried when the lease ends.
	Lease time.Duration
	// Now and Rand are for tests; nil means the real clock and math/rand.
	Now  func() time.Time
	Rand func() float64
}

// Dispatcher runs the workers that attempt due deliveries.
type Dispatcher struct {
	cfg  DispatcherConfig
	wake chan struct{}
}

// NewDispatcher checks cfg and returns a dispatcher.
func NewDispatcher(cfg DispatcherConfig) *Dispatcher {
	if cfg.Queue == nil || cfg.Sender == nil || cfg.Observer == nil || cfg.Logger == nil {
		panic("notify: dispatcher needs a queue, a sender, an observer and a logger")
	}
	if cfg.Workers < 1 || cfg.PollInterval <= 0 || cfg.Lease <= 0 {
		panic("notify: dispatcher needs workers, a poll interval and a lease")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	return &Dispatcher{cfg: cfg, wake: make(chan struct{}, cfg.Workers)}
}

// Wake tells an idle worker that a delivery may have become due, so new
// deliveries go out without waiting for the next poll. It never blocks.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run works until ctx ends, then lets attempts in flight finish (each is
// bounded by the sender's timeout) and records their outcomes.
func (d *Dispatcher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for range d.cfg.Workers {
		wg.Go(func() { d.work(ctx) })
	}
	wg.Wait()
	return nil
}

func (d *Dispatcher) work(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-d.wake:
		}
		// Drain the queue before sleeping again: a backlog is worked through
		// at full speed, and only an empty claim waits for the poll.
		for ctx.Err() == nil {
			claimed, err := d.cfg.Queue.Claim(ctx, d.cfg.Now(), d.cfg.Lease, 1)
			if err != nil {
				if ctx.Err() == nil {
					d.cfg.Logger.Error("claiming deliveries", "err", err)
				}
				break
			}
			if len(claimed) == 0 {
				break
			}
			for _, del := range claimed {
				// The attempt must not be cut short by shutdown: the request
				// may already be on the wire, and its outcome must be recorded.
				d.attempt(context.WithoutCancel(ctx), del)
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(d.cfg.PollInterval)
	}
}

func (d *Dispatcher) attempt(ctx context.Context, del Delivery) {
	ctx = logging.WithCorrelationID(ctx, del.CorrelationID)
	log := d.cfg.Logger.With("delivery_id", del.ID, "idempotency_key", del.IdempotencyKey, "attempt", del.Attempts)
	start := d.cfg.Now()
	res := d.cfg.Sender.Send(ctx, del)
	took := d.cfg.Now().Sub(start)
	now := d.cfg.Now()
	c := Classify(res, now)
	t := d.cfg.Policy.Decide(del, c, now, d.cfg.Rand)
	d.cfg.Observer.AttemptDone(c, took)

	a := Attempt{
		DeliveryID: del.ID,
		Number:     del.Attempts,
		StartedAt:  start,
		Duration:   took,
		StatusCode: res.StatusCode,
		Outcome:    t.Status,
	}
	if c.Verdict != VerdictDelivered {
		a.Error = c.Reason
	}
	if err := d.cfg.Queue.Record(ctx, del, a, t); err != nil {
		if errors.Is(err, ErrLeaseLost) {
			log.WarnContext(ctx, "attempt outlived its lease; outcome dropped", "outcome", t.Status, "reason", t.Reason)
			return
		}
		// The lease will expire and the delivery will be attempted again;
		// the receiver dedups on the idempotency key.
		log.ErrorContext(ctx, "recording attempt", "err", err, "outcome", t.Status)
		return
	}
	switch t.Status {
	case StatusPending:
		log.InfoContext(ctx, "attempt failed; will retry", "reason", t.Reason, "next_attempt_at", t.NextAttemptAt, "took", took)
	case StatusDelivered:
		log.InfoContext(ctx, "delivered", "status_code", res.StatusCode, "took", took)
	default:
		log.WarnContext(ctx, "delivery ended without success", "status", t.Status, "reason", t.Reason)
	}
	if t.Status.Terminal() {
		d.cfg.Observer.DeliveryDone(t.Status)
	}
}
