package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/lib/pq"
	"github.com/nats-io/nats.go"
)

// JetStream is what the relay publishes through: nats.JetStreamContext
// satisfies it. Tests wrap it to count or fail publishes.
type JetStream interface {
	PublishMsgAsync(m *nats.Msg, opts ...nats.PubOpt) (nats.PubAckFuture, error)
}

// RelayConfig tunes NewRelay; zero values take the defaults.
type RelayConfig struct {
	// DSN is the database URL the relay opens its LISTEN connection with;
	// empty means it only polls.
	DSN string
	// Poll is how often the relay looks for rows without being notified:
	// the fallback for notifications lost while the LISTEN connection was
	// down. Required.
	Poll time.Duration
	// BatchSize is how many rows one batch reads, publishes and deletes
	// (default 500). The nats.go async publisher holds at most 4,000
	// unacknowledged messages by default; a batch stays well below it.
	BatchSize int
	// AckTimeout bounds the wait for a batch's acks (default 10 s); rows
	// whose ack did not come are sent again.
	AckTimeout time.Duration
	// RetryInterval is how long the relay waits after a failed batch
	// before it tries again (default 1 s).
	RetryInterval time.Duration
}

const (
	defaultBatchSize     = 500
	defaultAckTimeout    = 10 * time.Second
	defaultRetryInterval = time.Second
)

// relayLockKey is the transaction-scoped advisory lock every batch takes,
// so replicas relay one batch at a time, in id order: a batch is published
// and acknowledged before the next one is read, whichever replica reads it.
// FOR UPDATE SKIP LOCKED would let replicas publish batches in parallel and
// therefore out of order; on two cores one relay is far from the limit.
const relayLockKey = 7_316_020_002

// Relay moves outbox rows to JetStream.
type Relay struct {
	db      *sql.DB
	js      JetStream
	cfg     RelayConfig
	logger  watermill.LoggerAdapter
	running chan struct{}

	mu     sync.Mutex
	closed bool
	cancel context.CancelFunc
	done   chan struct{}
}

// NewRelay builds the relay. js publishes the events (nats.JetStreamContext);
// the relay also announces parked events through it on the poison stream of
// the event's topic prefix, which must exist (broker.NewRouter creates it).
// db must have been set up by Initialize.
func NewRelay(db *sql.DB, js JetStream, cfg RelayConfig, logger watermill.LoggerAdapter) (*Relay, error) {
	if db == nil || js == nil || logger == nil {
		return nil, errors.New("outbox: NewRelay needs a database, a JetStream context and a logger")
	}
	if cfg.Poll <= 0 {
		return nil, errors.New("outbox: the poll interval must be positive")
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = defaultBatchSize
	}
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = defaultAckTimeout
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = defaultRetryInterval
	}
	return &Relay{db: db, js: js, cfg: cfg, logger: logger, running: make(chan struct{})}, nil
}

// Running is closed once the relay is relaying.
func (r *Relay) Running() chan struct{} { return r.running }

// Close stops Run and waits for it to return; the batch in hand is
// finished first. It does nothing if Run never ran.
func (r *Relay) Close() error {
	r.mu.Lock()
	r.closed = true
	cancel, done := r.cancel, r.done
	r.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	return nil
}

// Run relays until ctx ends or Close is called, then returns nil. Failures
// (database or broker unavailable) are logged and retried, never returned:
// the rows wait in the table until they can go.
func (r *Relay) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.mu.Lock()
	if r.closed || r.cancel != nil {
		r.mu.Unlock()
		return errors.New("outbox: relay closed or already running")
	}
	r.cancel, r.done = cancel, make(chan struct{})
	r.mu.Unlock()
	defer close(r.done)

	wake := make(chan struct{}, 1)
	poke := func() {
		select {
		case wake <- struct{}{}:
		default: // a wake-up is already pending; one is enough
		}
	}
	if r.cfg.DSN != "" {
		listening, stop := r.listen(poke)
		defer stop()
		// The first look at the table comes after LISTEN is in place, so
		// that a commit between the two cannot go unnoticed until the next
		// poll. If Postgres does not answer soon, start polling anyway;
		// the LISTEN goes on trying and wakes the relay when it connects.
		select {
		case <-listening:
		case <-time.After(listenWait):
			r.logger.Info("Outbox LISTEN not established yet; polling meanwhile", nil)
		case <-ctx.Done():
			return nil
		}
	}
	close(r.running)

	poll := time.NewTimer(0) // look once at start: rows may be waiting
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-poll.C:
		}
		wait := r.cfg.Poll
		if err := r.drain(ctx); err != nil {
			r.logger.Error("Outbox relay failed; retrying", err, watermill.LogFields{"retry_in": r.cfg.RetryInterval.String()})
			wait = r.cfg.RetryInterval
			// A notification that arrived meanwhile must not cut the
			// back-off short and turn a broker outage into a busy loop.
			select {
			case <-wake:
			default:
			}
		}
		poll.Reset(wait)
	}
}

// listenWait bounds how long Run waits for its LISTEN before it starts.
const listenWait = 5 * time.Second

// listen opens the LISTEN connection; every notification, and every
// reconnection (notifications sent while it was down are lost), wakes the
// relay. listening is closed once the server has acknowledged the LISTEN
// (or it failed); stop closes the connection.
func (r *Relay) listen(poke func()) (listening <-chan struct{}, stop func()) {
	ready := make(chan struct{})
	l := pq.NewListener(r.cfg.DSN, 100*time.Millisecond, 10*time.Second, func(ev pq.ListenerEventType, err error) {
		if err != nil {
			r.logger.Info("Outbox LISTEN connection: "+ev.String()+"; polling meanwhile", watermill.LogFields{"err": err.Error()})
		}
		if ev == pq.ListenerEventReconnected {
			poke()
		}
	})
	var wg sync.WaitGroup
	wg.Go(func() {
		// Listen blocks until the connection is up, which may be never if
		// Postgres is down; the relay polls meanwhile. It only fails once
		// the listener is closed, or on a server error the poll covers.
		defer close(ready)
		err := l.Listen(notifyChannel)
		switch {
		case err == nil:
			// Rows committed before the LISTEN took effect notified no
			// one: look once now.
			poke()
		case !errors.Is(err, net.ErrClosed):
			r.logger.Error("Outbox LISTEN failed; relying on polling", err, nil)
		}
	})
	wg.Go(func() {
		for range l.NotificationChannel() {
			poke()
		}
	})
	return ready, func() {
		// Close ends Listen and closes the notification channel.
		if err := l.Close(); err != nil {
			r.logger.Debug("Closing the outbox LISTEN connection", watermill.LogFields{"err": err.Error()})
		}
		wg.Wait()
	}
}

// drain relays batches until one comes back short, so a burst is sent in
// consecutive batches without waiting for the next wake-up.
func (r *Relay) drain(ctx context.Context) error {
	for ctx.Err() == nil {
		n, err := r.batch(ctx)
		if err != nil {
			return err
		}
		if n < r.cfg.BatchSize {
			return nil
		}
	}
	return nil
}

// outboxRow is one row of outbox_events.
type outboxRow struct {
	id       int64
	eventID  string
	topic    string
	payload  []byte
	metadata []byte
}

// outcome is what became of one row in a batch.
type outcome struct {
	row outboxRow
	err error // the publish error, nil once acknowledged
}

// batchTimeout bounds one batch's database work and publishes. The batch
// is detached from Run's context: a batch stopped half-way would be
// published and not deleted, and sent again on the next start.
const batchTimeout = 30 * time.Second

// batch relays up to BatchSize rows in one transaction and returns how
// many it read. Rows JetStream acknowledged are deleted, rows it refused
// for good are parked and deleted, and rows that failed otherwise stay for
// the next attempt, which the returned error asks for.
func (r *Relay) batch(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), batchTimeout)
	defer cancel()
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("beginning outbox batch: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // after Commit this is a no-op
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, relayLockKey); err != nil {
		return 0, fmt.Errorf("taking the outbox relay lock: %w", err)
	}
	rows, err := r.read(ctx, tx)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	results := r.publish(rows)

	var (
		done      []int64
		toPark    []outcome
		transient error
		failed    int
	)
	for _, o := range results {
		switch {
		case o.err == nil:
			done = append(done, o.row.id)
		case permanent(o.err):
			toPark = append(toPark, o)
		default:
			failed++
			if transient == nil {
				transient = fmt.Errorf("publishing event %s to %s: %w", o.row.eventID, o.row.topic, o.err)
			}
		}
	}
	if len(toPark) > 0 {
		parked, err := r.park(ctx, tx, toPark)
		done = append(done, parked...)
		if err != nil && transient == nil {
			transient = err
		}
	}
	if len(done) > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM "outbox_events" WHERE id = ANY($1)`, pq.Int64Array(done)); err != nil {
			return 0, fmt.Errorf("deleting %d relayed outbox rows: %w", len(done), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("committing outbox batch: %w", err)
	}
	if transient != nil {
		return len(rows), fmt.Errorf("%d of %d events not relayed, kept for the next attempt: %w", failed, len(rows), transient)
	}
	return len(rows), nil
}

func (r *Relay) read(ctx context.Context, tx *sql.Tx) ([]outboxRow, error) {
	q, err := tx.QueryContext(ctx, `
SELECT id, event_id, topic, payload, metadata FROM "outbox_events" ORDER BY id LIMIT $1`, r.cfg.BatchSize)
	if err != nil {
		return nil, fmt.Errorf("reading the outbox: %w", err)
	}
	defer func() { _ = q.Close() }() // read-only; errors surface through q.Err
	var rows []outboxRow
	for q.Next() {
		var row outboxRow
		if err := q.Scan(&row.id, &row.eventID, &row.topic, &row.payload, &row.metadata); err != nil {
			return nil, fmt.Errorf("reading the outbox: %w", err)
		}
		rows = append(rows, row)
	}
	if err := q.Err(); err != nil {
		return nil, fmt.Errorf("reading the outbox: %w", err)
	}
	return rows, nil
}

// publish sends every row without waiting in between, then collects the
// acks. The server stores one connection's messages to a stream in the
// order they were sent, so a batch without failures lands in id order.
func (r *Relay) publish(rows []outboxRow) []outcome {
	out := make([]outcome, len(rows))
	futures := make([]nats.PubAckFuture, len(rows))
	for i, row := range rows {
		out[i].row = row
		msg, err := natsMsg(row)
		if err == nil {
			futures[i], err = r.js.PublishMsgAsync(msg)
		}
		out[i].err = err
	}
	wait(futures, out, r.cfg.AckTimeout)
	return out
}

// wait collects the acks of futures into out; a nil future already has its
// outcome. Acks that have not come when timeout passes count as timeouts,
// so the rows are sent again.
func wait(futures []nats.PubAckFuture, out []outcome, timeout time.Duration) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	expired := false
	for i, f := range futures {
		if f == nil {
			continue
		}
		if expired {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				out[i].err = err
			default:
				out[i].err = fmt.Errorf("no ack within %v: %w", timeout, nats.ErrTimeout)
			}
			continue
		}
		select {
		case <-f.Ok():
		case err := <-f.Err():
			out[i].err = err
		case <-timer.C:
			expired = true
			out[i].err = fmt.Errorf("no ack within %v: %w", timeout, nats.ErrTimeout)
		}
	}
}

// natsMsg builds the message as Watermill's NATSMarshaler would, so the
// services' Watermill subscribers read it unchanged, with the event id as
// Nats-Msg-Id for JetStream's duplicate detection.
func natsMsg(row outboxRow) (*nats.Msg, error) {
	var meta map[string]string
	if err := json.Unmarshal(row.metadata, &meta); err != nil {
		return nil, errBadMetadata{err}
	}
	h := make(nats.Header, len(meta)+2)
	for k, v := range meta {
		h.Set(k, v)
	}
	h.Set(wnats.WatermillUUIDHdr, row.eventID)
	h.Set(nats.MsgIdHdr, row.eventID)
	return &nats.Msg{Subject: row.topic, Data: row.payload, Header: h}, nil
}

// errBadMetadata marks a row whose metadata is not a JSON object of
// strings. Publish never writes one; a row edited by hand can be, and
// retrying it cannot help, so it is parked.
type errBadMetadata struct{ err error }

func (e errBadMetadata) Error() string {
	return "outbox row metadata is not a JSON object of strings: " + e.err.Error()
}
func (e errBadMetadata) Unwrap() error { return e.err }
