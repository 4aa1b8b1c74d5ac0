package broker_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/apperr"
	"example.com/creativesync/platform/broker"
	"example.com/creativesync/platform/natstest"
	"example.com/creativesync/platform/outbox"
	"example.com/creativesync/platform/pgtest"
	"example.com/creativesync/platform/servicetest"

	_ "github.com/lib/pq"
)

func TestBackoffGrowsAndNeverTerminates(t *testing.T) {
	var b broker.Backoff
	prev := time.Duration(0)
	for n := uint64(1); n < 50; n++ {
		d := b.WaitTime(n)
		if d <= 0 {
			t.Fatalf("delivery %d: %v terminates or retries at once", n, d)
		}
		if d < prev || d > time.Minute {
			t.Fatalf("delivery %d: %v after %v", n, d, prev)
		}
		prev = d
	}
	if b.WaitTime(1) != time.Second || b.WaitTime(3) != 4*time.Second {
		t.Errorf("schedule: %v %v", b.WaitTime(1), b.WaitTime(3))
	}
}

type env struct {
	js     nats.JetStreamContext
	prefix string
	log    *slog.Logger
}

func setup(t *testing.T) env {
	t.Helper()
	t.Parallel()
	nc, err := nats.Connect(natstest.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := nc.JetStream()
	return env{js: js, prefix: natstest.Prefix(t), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func msgs(t *testing.T, js nats.JetStreamContext, stream string) uint64 {
	t.Helper()
	info, err := js.StreamInfo(stream)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// The outbox publishes committed events exactly once and rolled-back ones
// never; a second outbox row with the same event id is deduplicated.
func TestOutboxRelaysCommittedEventsOnce(t *testing.T) {
	e := setup(t)
	db, err := sql.Open("postgres", pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	wl := broker.Logger(e.log)
	if err := outbox.Initialize(db, wl); err != nil {
		t.Fatal(err)
	}
	topic := broker.Topic(e.prefix, "creative_archived_v1")
	if err := broker.EnsureStreams(e.js, topic); err != nil {
		t.Fatal(err)
	}
	write := func(id string, commit bool) {
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		ev := &events.CreativeArchivedV1{Header: events.Header{EventID: id, CorrelationID: "c"}, AccountID: "a", CreativeID: id, Revision: 1}
		if err := outbox.Publish(tx, e.prefix, wl, ev); err != nil {
			t.Fatal(err)
		}
		if commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	write("ev-1", true)
	write("ev-2", false)
	write("ev-1", true) // a replayed write of the same event

	relay, err := outbox.NewRelay(db, e.js, outbox.RelayConfig{Poll: 10 * time.Millisecond}, wl)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = relay.Run(ctx) }()
	servicetest.EventuallyTrue(t, 10*time.Second, "relay drains the outbox", func() bool {
		n, err := outbox.Backlog(ctx, db)
		return err == nil && n == 0
	})
	if n := msgs(t, e.js, topic); n != 1 {
		t.Fatalf("stream holds %d messages, want 1 (committed once, duplicate dropped, rollback absent)", n)
	}
	m, err := e.js.GetLastMsg(topic, topic)
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get(nats.MsgIdHdr) != "ev-1" {
		t.Errorf("message id %q, want the event id", m.Header.Get(nats.MsgIdHdr))
	}
	// The relay deletes what it relayed; Prune only moves a previous
	// version's rows, and there are none.
	if n, err := outbox.Prune(ctx, db); err != nil || n != 0 {
		t.Errorf("prune moved %d rows (%v), want 0", n, err)
	}
}

// A permanent handler error sends the message to the poison stream at once
// and does not block the next message; a transient one is retried.
func TestRouterPoisonsPermanentAndRetriesTransient(t *testing.T) {
	e := setup(t)
	topic := "creative_synced_v1"
	full := broker.Topic(e.prefix, topic)
	if err := broker.EnsureStreams(e.js, full); err != nil {
		t.Fatal(err)
	}
	wl := broker.Logger(e.log)
	pub, err := broker.NewPublisher(natstest.URL(), wl)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	r, err := broker.NewRouter(broker.RouterConfig{Service: "test", Prefix: e.prefix, NATSURL: natstest.URL(), JS: e.js, Poison: pub, Logger: e.log})
	if err != nil {
		t.Fatal(err)
	}
	var transientTries, handled atomic.Int32
	err = r.Handle("on_synced", topic, func(msg *message.Message) error {
		var ev events.CreativeSyncedV1
		if err := broker.Decode(msg, &ev); err != nil {
			return err
		}
		switch ev.CreativeID {
		case "flaky":
			if transientTries.Add(1) < 3 {
				return errors.New("database briefly unavailable")
			}
		case "broken":
			return apperr.Permanent(errors.New("cannot ever handle this"))
		}
		if broker.CorrelationID(msg.Context()) != "corr-1" {
			return apperr.Permanent(errors.New("correlation id lost"))
		}
		handled.Add(1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = r.Run(ctx); close(done) }()
	stopped := false
	defer func() {
		if !stopped {
			cancel()
			<-done
		}
	}()
	<-r.Running()

	for _, id := range []string{"broken", "flaky", "fine"} {
		msg, err := broker.NewMessage(&events.CreativeSyncedV1{Header: events.Header{EventID: watermill.NewUUID(), CorrelationID: "corr-1"}, CreativeID: id})
		if err != nil {
			t.Fatal(err)
		}
		if err := pub.Publish(full, msg); err != nil {
			t.Fatal(err)
		}
	}
	garbage := message.NewMessage(watermill.NewUUID(), []byte("{not json"))
	if err := pub.Publish(full, garbage); err != nil {
		t.Fatal(err)
	}
	poison := broker.Topic(e.prefix, broker.PoisonTopic)
	servicetest.EventuallyTrue(t, 10*time.Second, "two handled and two poisoned", func() bool {
		return handled.Load() == 2 && msgs(t, e.js, poison) == 2
	})
	if transientTries.Load() < 3 {
		t.Errorf("transient failure tried %d times", transientTries.Load())
	}
	servicetest.EventuallyTrue(t, 10*time.Second, "nothing left pending", func() bool {
		info, err := e.js.ConsumerInfo(full, broker.Durable("test", "on_synced"))
		return err == nil && info.NumAckPending == 0 && info.NumPending == 0
	})
	// The durable consumer is ours: stopping the service must not delete it,
	// or a restart would replay everything already handled.
	cancel()
	<-done
	stopped = true
	if _, err := e.js.ConsumerInfo(full, broker.Durable("test", "on_synced")); err != nil {
		t.Errorf("consumer gone after the router closed: %v", err)
	}
}
