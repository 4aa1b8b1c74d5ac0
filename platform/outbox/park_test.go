package outbox_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/nats-io/nats.go"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/broker"
	"example.com/creativesync/platform/natstest"
	"example.com/creativesync/platform/outbox"
	"example.com/creativesync/platform/pgtest"

	_ "github.com/lib/pq"
)

type env struct {
	nc     *nats.Conn
	js     nats.JetStreamContext
	db     *sql.DB
	dsn    string
	prefix string
	wl     watermill.LoggerAdapter
}

// setup gives the test its own database (outbox tables created) and topic
// prefix on the real Postgres and JetStream.
func setup(t testing.TB) env {
	t.Helper()
	if tt, ok := t.(*testing.T); ok {
		tt.Parallel()
	}
	nc, err := nats.Connect(natstest.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	dsn := pgtest.NewDatabase(t)
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	wl := broker.Logger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	// Twice: services call Initialize on every start.
	for range 2 {
		if err := outbox.Initialize(db, wl); err != nil {
			t.Fatal(err)
		}
	}
	return env{nc: nc, js: js, db: db, dsn: dsn, prefix: natstest.Prefix(t), wl: wl}
}

// runRelay runs a relay over js until the test ends. It polls every 10 ms
// besides listening, so tests of parking do not depend on notifications.
func (e env) runRelay(t testing.TB, js outbox.JetStream) {
	t.Helper()
	t.Cleanup(e.startRelay(t, js, outbox.RelayConfig{DSN: e.dsn, Poll: 10 * time.Millisecond, RetryInterval: 100 * time.Millisecond}))
}

// startRelay starts a relay over js and returns what stops it.
func (e env) startRelay(t testing.TB, js outbox.JetStream, cfg outbox.RelayConfig) (stop func()) {
	t.Helper()
	relay, err := outbox.NewRelay(e.db, js, cfg, e.wl)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = relay.Run(ctx) }()
	select {
	case <-relay.Running():
	case <-time.After(10 * time.Second):
		t.Fatal("relay did not start")
	}
	return func() { cancel(); <-done }
}

// commit writes evs to the outbox in one transaction.
func (e env) commit(t testing.TB, evs ...events.Event) {
	t.Helper()
	tx, err := e.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := outbox.Publish(tx, e.prefix, e.wl, evs...); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func synced(id, name string) *events.CreativeSyncedV1 {
	return &events.CreativeSyncedV1{Header: events.Header{EventID: id, CorrelationID: "corr-" + id}, CreativeID: id, Name: name}
}

func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", within, what)
}

// streamIDs lists the message ids in stream, in order; nil if it is missing.
func streamIDs(t *testing.T, js nats.JetStreamContext, stream string) []string {
	t.Helper()
	info, err := js.StreamInfo(stream)
	if err != nil {
		return nil
	}
	var ids []string
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := js.GetMsg(stream, seq)
		if err != nil {
			t.Fatalf("message %d of %s: %v", seq, stream, err)
		}
		ids = append(ids, m.Header.Get(nats.MsgIdHdr))
	}
	return ids
}

func parked(t *testing.T, db *sql.DB) int64 {
	t.Helper()
	n, err := outbox.Parked(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func backlog(t testing.TB, db *sql.DB) int64 {
	t.Helper()
	n, err := outbox.Backlog(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The production defect: an event larger than the server's max payload was
// retried every second forever and every later event waited behind it. Now
// it is parked with its reason and announced on the poison stream, and the
// events behind it, in the same transaction and later ones, are relayed.
func TestRelayParksOversizedEventAndRelaysTheRest(t *testing.T) {
	e := setup(t)
	topic := broker.Topic(e.prefix, (&events.CreativeSyncedV1{}).EventName())
	poison := broker.Topic(e.prefix, broker.PoisonTopic)
	if err := broker.EnsureStreams(e.js, topic, poison); err != nil {
		t.Fatal(err)
	}
	big := synced("big-"+watermill.NewUUID(), strings.Repeat("x", int(e.nc.MaxPayload())+1))
	n1, n2, n3 := synced("n1-"+watermill.NewUUID(), "a"), synced("n2-"+watermill.NewUUID(), "b"), synced("n3-"+watermill.NewUUID(), "c")
	e.commit(t, big, n1)
	e.commit(t, n2)
	e.commit(t, n3)

	e.runRelay(t, e.js)

	want := []string{n1.EventID, n2.EventID, n3.EventID}
	// The old relay never got here: it retried the big event every second.
	eventually(t, 10*time.Second, "the events behind the oversized one on JetStream", func() bool {
		return len(streamIDs(t, e.js, topic)) >= len(want)
	})
	if got := streamIDs(t, e.js, topic); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("stream holds %v, want %v (in order, without the oversized event)", got, want)
	}
	eventually(t, 10*time.Second, "the outbox drained", func() bool { return backlog(t, e.db) == 0 })

	if n := parked(t, e.db); n != 1 {
		t.Fatalf("%d parked events, want 1", n)
	}
	var (
		uuid, ptopic, reason string
		payload, metadata    []byte
		size                 int
		parkedAt             time.Time
	)
	err := e.db.QueryRow(`SELECT event_uuid, topic, payload, metadata, reason, size, parked_at FROM `+outbox.ParkedTable).
		Scan(&uuid, &ptopic, &payload, &metadata, &reason, &size, &parkedAt)
	if err != nil {
		t.Fatal(err)
	}
	if uuid != big.EventID || ptopic != topic {
		t.Errorf("parked %s on %q, want %s on %q", uuid, ptopic, big.EventID, topic)
	}
	if !strings.Contains(reason, "maximum payload") {
		t.Errorf("reason %q does not name the payload limit", reason)
	}
	var back events.CreativeSyncedV1
	if err := json.Unmarshal(payload, &back); err != nil || back.Name != big.Name || size != len(payload) {
		t.Errorf("parked payload of %d bytes (size %d) does not hold the event: %v", len(payload), size, err)
	}
	var meta map[string]string
	if err := json.Unmarshal(metadata, &meta); err != nil || meta[broker.MetaEventName] != big.EventName() || meta[middleware.CorrelationIDMetadataKey] != big.CorrelationID {
		t.Errorf("parked metadata %s (%v) lost the event name or correlation id", metadata, err)
	}
	if parkedAt.IsZero() {
		t.Error("parked_at not set")
	}

	eventually(t, 10*time.Second, "the parking announcement on "+poison, func() bool {
		return len(streamIDs(t, e.js, poison)) == 1
	})
	m, err := e.js.GetLastMsg(poison, poison)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Data) > 4096 {
		t.Errorf("announcement is %d bytes; it must not carry the event", len(m.Data))
	}
	if m.Header.Get(nats.MsgIdHdr) != big.EventID {
		t.Errorf("announcement message id %q, want the event id", m.Header.Get(nats.MsgIdHdr))
	}
	if r := m.Header.Get(middleware.ReasonForPoisonedKey); !strings.Contains(r, "maximum payload") {
		t.Errorf("announcement reason header %q", r)
	}
	if m.Header.Get(middleware.PoisonedTopicKey) != topic || m.Header.Get(outbox.MetaParkedIn) != outbox.ParkedTable {
		t.Errorf("announcement headers %v", m.Header)
	}
	var a outbox.Announcement
	if err := json.Unmarshal(m.Data, &a); err != nil {
		t.Fatal(err)
	}
	if a.EventID != big.EventID || a.Topic != topic || a.Size != size || a.Reason != reason || a.EventName != big.EventName() {
		t.Errorf("announcement %+v does not describe the parked row", a)
	}
}

// countingJS counts publishes to one subject.
type countingJS struct {
	outbox.JetStream
	topic string
	n     atomic.Int32
}

func (c *countingJS) PublishMsgAsync(m *nats.Msg, opts ...nats.PubOpt) (nats.PubAckFuture, error) {
	if m.Subject == c.topic {
		c.n.Add(1)
	}
	return c.JetStream.PublishMsgAsync(m, opts...)
}

// While the announcement cannot be published (here: no poison stream yet),
// the parked event's outbox row stays and is retried, parking stays a
// single row, and the events behind it are not held up; once the poison
// stream exists the announcement goes out once. A crash between parking and
// announcing leaves the same state.
func TestRelayRetriesAnnouncementUntilItIsPublished(t *testing.T) {
	e := setup(t)
	topic := broker.Topic(e.prefix, (&events.CreativeSyncedV1{}).EventName())
	poison := broker.Topic(e.prefix, broker.PoisonTopic)
	if err := broker.EnsureStreams(e.js, topic); err != nil {
		t.Fatal(err)
	}
	big := synced("big-"+watermill.NewUUID(), strings.Repeat("x", int(e.nc.MaxPayload())+1))
	after := synced("after-"+watermill.NewUUID(), "a")
	e.commit(t, big)
	e.commit(t, after)

	counting := &countingJS{JetStream: e.js, topic: poison}
	e.runRelay(t, counting)

	eventually(t, 15*time.Second, "two announcement attempts", func() bool { return counting.n.Load() >= 2 })
	if n := parked(t, e.db); n != 1 {
		t.Fatalf("%d parked rows after repeated attempts, want 1", n)
	}
	if n := backlog(t, e.db); n != 1 {
		t.Fatalf("backlog %d before the announcement went out, want 1 (the parked event, not the one behind it)", n)
	}
	if got := streamIDs(t, e.js, topic); len(got) != 1 || got[0] != after.EventID {
		t.Fatalf("stream holds %v while the announcement fails, want %s", got, after.EventID)
	}

	if err := broker.EnsureStreams(e.js, poison); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "the announcement and the next event", func() bool {
		return len(streamIDs(t, e.js, poison)) == 1 && len(streamIDs(t, e.js, topic)) == 1
	})
	eventually(t, 10*time.Second, "the outbox drained", func() bool { return backlog(t, e.db) == 0 })
	if got := streamIDs(t, e.js, topic); got[0] != after.EventID {
		t.Errorf("stream holds %v, want only %s", got, after.EventID)
	}
	if got := streamIDs(t, e.js, poison); len(got) != 1 || got[0] != big.EventID {
		t.Errorf("poison stream holds %v, want one announcement of %s", got, big.EventID)
	}
	if n := parked(t, e.db); n != 1 {
		t.Errorf("%d parked rows, want 1", n)
	}
}

// flakyJS fails its first failures publishes with err.
type flakyJS struct {
	outbox.JetStream
	failures int32
	err      error
	calls    atomic.Int32
}

func (f *flakyJS) PublishMsgAsync(m *nats.Msg, opts ...nats.PubOpt) (nats.PubAckFuture, error) {
	if f.calls.Add(1) <= f.failures {
		return nil, fmt.Errorf("sending message failed: %w", f.err)
	}
	return f.JetStream.PublishMsgAsync(m, opts...)
}

// A broker that times out is retried, not parked: the event arrives once the
// publisher recovers, and nothing is parked or announced.
func TestRelayRetriesTransientPublishFailure(t *testing.T) {
	e := setup(t)
	topic := broker.Topic(e.prefix, (&events.CreativeSyncedV1{}).EventName())
	poison := broker.Topic(e.prefix, broker.PoisonTopic)
	if err := broker.EnsureStreams(e.js, topic, poison); err != nil {
		t.Fatal(err)
	}
	ev := synced("ev-"+watermill.NewUUID(), "a")
	e.commit(t, ev)

	flaky := &flakyJS{JetStream: e.js, failures: 3, err: nats.ErrTimeout}
	e.runRelay(t, flaky)

	eventually(t, 15*time.Second, "the event on JetStream after the timeouts", func() bool {
		return len(streamIDs(t, e.js, topic)) == 1
	})
	eventually(t, 10*time.Second, "the outbox drained", func() bool { return backlog(t, e.db) == 0 })
	if c := flaky.calls.Load(); c < 4 {
		t.Errorf("%d publish attempts, want the 3 failures and a success", c)
	}
	if n := parked(t, e.db); n != 0 {
		t.Errorf("%d events parked for a transient failure", n)
	}
	if got := streamIDs(t, e.js, poison); len(got) != 0 {
		t.Errorf("poison stream holds %v for a transient failure", got)
	}
}

// An event whose stream does not exist yet is retried, not parked (see
// permanent in park.go): JetStream answers the same way while it is
// unavailable, so parking on it could empty the outbox during an outage.
// Once the stream is created the event goes through.
func TestRelayRetriesEventWithoutStream(t *testing.T) {
	e := setup(t)
	topic := broker.Topic(e.prefix, (&events.CreativeSyncedV1{}).EventName())
	poison := broker.Topic(e.prefix, broker.PoisonTopic)
	if err := broker.EnsureStreams(e.js, poison); err != nil {
		t.Fatal(err)
	}
	ev := synced("ev-"+watermill.NewUUID(), "a")
	e.commit(t, ev)

	counting := &countingJS{JetStream: e.js, topic: topic}
	e.runRelay(t, counting)

	eventually(t, 15*time.Second, "two publish attempts", func() bool { return counting.n.Load() >= 2 })
	if n := parked(t, e.db); n != 0 {
		t.Fatalf("%d events parked for a missing stream", n)
	}
	if err := broker.EnsureStreams(e.js, topic); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "the event on JetStream once its stream exists", func() bool {
		return len(streamIDs(t, e.js, topic)) == 1
	})
	if n := parked(t, e.db); n != 0 {
		t.Errorf("%d events parked", n)
	}
	if got := streamIDs(t, e.js, poison); len(got) != 0 {
		t.Errorf("poison stream holds %v", got)
	}
}
