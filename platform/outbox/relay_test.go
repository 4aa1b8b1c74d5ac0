package outbox_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/components/forwarder"
	"github.com/nats-io/nats.go"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/broker"
	"example.com/creativesync/platform/natstest"
	"example.com/creativesync/platform/outbox"
)

// A commit wakes the relay: with a poll interval of an hour, an event
// committed while the relay idles reaches JetStream only through the
// notification Publish issues.
func TestRelayWakesOnCommit(t *testing.T) {
	e := setup(t)
	topic := broker.Topic(e.prefix, (&events.CreativeSyncedV1{}).EventName())
	if err := broker.EnsureStreams(e.js, topic); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.startRelay(t, e.js, outbox.RelayConfig{DSN: e.dsn, Poll: time.Hour}))

	// The first event may be found by the look the relay takes at start;
	// once it is on the stream the relay idles until woken.
	first, second := synced("w1-"+watermill.NewUUID(), "a"), synced("w2-"+watermill.NewUUID(), "b")
	e.commit(t, first)
	eventually(t, 10*time.Second, "the first event", func() bool { return len(streamIDs(t, e.js, topic)) == 1 })
	eventually(t, 10*time.Second, "the outbox drained", func() bool { return backlog(t, e.db) == 0 })
	e.commit(t, second)
	eventually(t, 10*time.Second, "the second event, which only a notification can bring", func() bool {
		return len(streamIDs(t, e.js, topic)) == 2
	})
}

// Without a LISTEN connection the relay still relays, by polling.
func TestRelayPollsWithoutNotifications(t *testing.T) {
	e := setup(t)
	topic := broker.Topic(e.prefix, (&events.CreativeSyncedV1{}).EventName())
	if err := broker.EnsureStreams(e.js, topic); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.startRelay(t, e.js, outbox.RelayConfig{Poll: 10 * time.Millisecond}))
	e.commit(t, synced("p1-"+watermill.NewUUID(), "a"))
	eventually(t, 10*time.Second, "the event", func() bool { return len(streamIDs(t, e.js, topic)) == 1 })
}

// Two replicas relay one outbox while a producer keeps committing: every
// event reaches the stream exactly once, in the order it was committed,
// across batches, transactions and topics; the outbox ends empty.
func TestReplicasRelayInOrderExactlyOnce(t *testing.T) {
	e := setup(t)
	syncedTopic, archived := broker.Topic(e.prefix, (&events.CreativeSyncedV1{}).EventName()), broker.Topic(e.prefix, (&events.CreativeArchivedV1{}).EventName())
	if err := broker.EnsureStreams(e.js, syncedTopic, archived); err != nil {
		t.Fatal(err)
	}
	// Small batches so that the replicas take many turns.
	cfg := outbox.RelayConfig{DSN: e.dsn, Poll: 10 * time.Millisecond, BatchSize: 37}
	t.Cleanup(e.startRelay(t, e.js, cfg))
	t.Cleanup(e.startRelay(t, e.js, cfg))

	const txs, perTx = 60, 25
	var wantSynced, wantArchived []string
	for i := range txs {
		var evs []events.Event
		for j := range perTx {
			id := fmt.Sprintf("o%03d-%02d-%s", i, j, watermill.NewUUID())
			if j%5 == 4 {
				evs = append(evs, &events.CreativeArchivedV1{Header: events.Header{EventID: id}, AccountID: "a", CreativeID: id, Revision: 1})
				wantArchived = append(wantArchived, id)
			} else {
				evs = append(evs, &events.CreativeSyncedV1{Header: events.Header{EventID: id}, CreativeID: id})
				wantSynced = append(wantSynced, id)
			}
		}
		e.commit(t, evs...)
	}
	eventually(t, 30*time.Second, "every event on its stream", func() bool {
		return len(streamIDs(t, e.js, syncedTopic)) >= len(wantSynced) && len(streamIDs(t, e.js, archived)) >= len(wantArchived)
	})
	eventually(t, 10*time.Second, "the outbox drained", func() bool { return backlog(t, e.db) == 0 })
	for topic, want := range map[string][]string{syncedTopic: wantSynced, archived: wantArchived} {
		if got := streamIDs(t, e.js, topic); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s holds %d events, want %d in commit order, each once", topic, len(got), len(want))
		}
	}
}

// A relay that crashed after publishing a batch but before deleting it
// leaves rows whose events are already on the stream: the next relay sends
// them again and JetStream keeps one of each, by message id.
func TestRelayAfterCrashDuplicatesAreDropped(t *testing.T) {
	e := setup(t)
	topic := broker.Topic(e.prefix, (&events.CreativeSyncedV1{}).EventName())
	if err := broker.EnsureStreams(e.js, topic); err != nil {
		t.Fatal(err)
	}
	evs := []events.Event{synced("c1-"+watermill.NewUUID(), "a"), synced("c2-"+watermill.NewUUID(), "b"), synced("c3-"+watermill.NewUUID(), "c")}
	e.commit(t, evs...)
	// What the crashed relay got out: the first two, as the relay sends them.
	for _, ev := range evs[:2] {
		msg, err := broker.NewMessage(ev)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.js.Publish(topic, msg.Payload, nats.MsgId(msg.UUID)); err != nil {
			t.Fatal(err)
		}
	}
	e.runRelay(t, e.js)
	eventually(t, 10*time.Second, "the outbox drained", func() bool { return backlog(t, e.db) == 0 })
	var want []string
	for _, ev := range evs {
		want = append(want, ev.Meta().EventID)
	}
	if got := streamIDs(t, e.js, topic); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("stream holds %v, want %v", got, want)
	}
}

// Events a Watermill consumer reads from the relay are the events Publish
// wrote: payload, event id, event name and correlation id.
func TestRelayedMessageReadsAsBefore(t *testing.T) {
	e := setup(t)
	topic := broker.Topic(e.prefix, (&events.CreativeSyncedV1{}).EventName())
	if err := broker.EnsureStreams(e.js, topic); err != nil {
		t.Fatal(err)
	}
	ev := synced("r1-"+watermill.NewUUID(), "a")
	e.commit(t, ev)
	e.runRelay(t, e.js)
	eventually(t, 10*time.Second, "the event", func() bool { return len(streamIDs(t, e.js, topic)) == 1 })
	raw, err := e.js.GetLastMsg(topic, topic)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := (&wnats.NATSMarshaler{}).Unmarshal(&nats.Msg{Subject: raw.Subject, Header: raw.Header, Data: raw.Data})
	if err != nil {
		t.Fatal(err)
	}
	want, err := broker.NewMessage(ev)
	if err != nil {
		t.Fatal(err)
	}
	if msg.UUID != want.UUID || string(msg.Payload) != string(want.Payload) || !maps.Equal(msg.Metadata, want.Metadata) {
		t.Fatalf("relayed %s %s %v, want %s %s %v", msg.UUID, msg.Payload, msg.Metadata, want.UUID, want.Payload, want.Metadata)
	}
}

// legacyPublish writes evs the way the previous version did: Watermill's
// forwarder envelope in watermill_outbox.
func (e env) legacyPublish(t testing.TB, evs ...events.Event) {
	t.Helper()
	tx, err := e.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	sqlPub, err := wsql.NewPublisher(wsql.TxFromStdSQL(tx), wsql.PublisherConfig{SchemaAdapter: wsql.DefaultPostgreSQLSchema{}}, e.wl)
	if err != nil {
		t.Fatal(err)
	}
	pub := forwarder.NewPublisher(sqlPub, forwarder.PublisherConfig{ForwarderTopic: "outbox"})
	for _, ev := range evs {
		msg, err := broker.NewMessage(ev)
		if err != nil {
			t.Fatal(err)
		}
		if err := pub.Publish(broker.Topic(e.prefix, ev.EventName()), msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// legacySubscriber is the previous version's relay input.
func (e env) legacySubscriber(t testing.TB) *wsql.Subscriber {
	t.Helper()
	sub, err := wsql.NewSubscriber(wsql.BeginnerFromStdSQL(e.db), wsql.SubscriberConfig{
		SchemaAdapter:  wsql.DefaultPostgreSQLSchema{},
		OffsetsAdapter: wsql.DefaultPostgreSQLOffsetsAdapter{},
		PollInterval:   10 * time.Millisecond,
	}, e.wl)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// startForwarder runs the previous version's relay (Watermill's forwarder
// over watermill_outbox, 10 ms poll) until stop.
func (e env) startForwarder(t testing.TB) (stop func()) {
	t.Helper()
	pub, err := broker.NewPublisher(natstest.URL(), e.wl)
	if err != nil {
		t.Fatal(err)
	}
	fwd, err := forwarder.NewForwarder(e.legacySubscriber(t), pub, e.wl, forwarder.Config{ForwarderTopic: "outbox"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = fwd.Run(context.Background()) }()
	<-fwd.Running()
	return func() {
		if err := fwd.Close(); err != nil {
			t.Error(err)
		}
		<-done
		if err := pub.Close(); err != nil {
			t.Error(err)
		}
	}
}

// An upgrade loses nothing: events the previous version's forwarder had
// relayed stay relayed, the ones it had not are moved into the new outbox
// on Initialize and relayed in their order, and events an old replica
// writes during a rolling upgrade are moved by Prune.
func TestUpgradeMovesUnrelayedLegacyEvents(t *testing.T) {
	e := setup(t)
	topic := broker.Topic(e.prefix, (&events.CreativeSyncedV1{}).EventName())
	if err := broker.EnsureStreams(e.js, topic); err != nil {
		t.Fatal(err)
	}
	sub := e.legacySubscriber(t)
	if err := sub.SubscribeInitialize("outbox"); err != nil {
		t.Fatal(err)
	}
	ids := func(prefix string, n int) (evs []events.Event, want []string) {
		for i := range n {
			ev := synced(fmt.Sprintf("%s%d-%s", prefix, i, watermill.NewUUID()), prefix)
			evs = append(evs, ev)
			want = append(want, ev.EventID)
		}
		return evs, want
	}

	// The old version relays two events, then stops with three in its
	// outbox.
	relayed, wantRelayed := ids("old", 2)
	e.legacyPublish(t, relayed...)
	pub, err := broker.NewPublisher(natstest.URL(), e.wl)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close() })
	fwd, err := forwarder.NewForwarder(sub, pub, e.wl, forwarder.Config{ForwarderTopic: "outbox"})
	if err != nil {
		t.Fatal(err)
	}
	fwdDone := make(chan struct{})
	go func() { defer close(fwdDone); _ = fwd.Run(context.Background()) }()
	eventually(t, 10*time.Second, "the old relay's events", func() bool { return len(streamIDs(t, e.js, topic)) == 2 })
	// The forwarder acknowledges the rows in SQL after publishing them.
	eventually(t, 10*time.Second, "the old relay's acknowledgement", func() bool {
		var acked int64
		err := e.db.QueryRow(`SELECT COALESCE(max(offset_acked), 0) FROM watermill_offsets_outbox WHERE consumer_group = ''`).Scan(&acked)
		return err == nil && acked >= 2
	})
	if err := fwd.Close(); err != nil {
		t.Fatal(err)
	}
	<-fwdDone
	waiting, wantWaiting := ids("waiting", 3)
	e.legacyPublish(t, waiting...)

	// The new version starts.
	if err := outbox.Initialize(e.db, e.wl); err != nil {
		t.Fatal(err)
	}
	if n := backlog(t, e.db); n != 3 {
		t.Fatalf("backlog %d after Initialize, want the 3 events the old relay had not sent", n)
	}
	e.runRelay(t, e.js)
	eventually(t, 10*time.Second, "the moved events", func() bool { return len(streamIDs(t, e.js, topic)) >= 5 })

	// An old replica still running writes one more.
	late, wantLate := ids("late", 1)
	e.legacyPublish(t, late...)
	if n, err := outbox.Prune(context.Background(), e.db); err != nil || n != 1 {
		t.Fatalf("Prune moved %d (%v), want the old replica's event", n, err)
	}
	eventually(t, 10*time.Second, "the late event", func() bool { return len(streamIDs(t, e.js, topic)) >= 6 })

	want := append(append(wantRelayed, wantWaiting...), wantLate...)
	if got := streamIDs(t, e.js, topic); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("stream holds %v, want %v", got, want)
	}
	var left int
	if err := e.db.QueryRow(`SELECT count(*) FROM watermill_outbox`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d rows left in watermill_outbox", left)
	}
}

// Close stops a running relay and returns; closing one that never ran
// returns at once.
func TestRelayClose(t *testing.T) {
	e := setup(t)
	idle, err := outbox.NewRelay(e.db, e.js, outbox.RelayConfig{Poll: time.Second}, e.wl)
	if err != nil {
		t.Fatal(err)
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	relay, err := outbox.NewRelay(e.db, e.js, outbox.RelayConfig{DSN: e.dsn, Poll: time.Second}, e.wl)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var runErr error
	wg.Go(func() { runErr = relay.Run(context.Background()) })
	<-relay.Running()
	if err := relay.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if runErr != nil {
		t.Fatalf("Run returned %v after Close", runErr)
	}
}
