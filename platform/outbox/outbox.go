// Package outbox publishes events in the same Postgres transaction as the
// state change they describe, and relays them to JetStream afterwards
// (Watermill's forwarder over watermill-sql). A crash between commit and
// relay loses nothing: the row is still in the outbox table and the relay
// sends it on restart; JetStream drops the duplicate by message id if the
// crash came after the publish. An event the broker refuses for good (too
// large, invalid subject) is parked in outbox_parked and announced on the
// poison stream instead of being retried forever, so it cannot hold back
// the events behind it.
package outbox

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/components/forwarder"
	"github.com/ThreeDotsLabs/watermill/message"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/broker"
)

// Topic is the forwarder topic; its table is watermill_outbox.
const Topic = "outbox"

// Table is the outbox table's name, for pruning and for tests.
const Table = "watermill_outbox"

// Initialize creates the outbox, offsets and parked tables if they are
// missing. Services call it at start-up, after their migrations.
func Initialize(db *sql.DB, logger watermill.LoggerAdapter) error {
	sub, err := newSubscriber(db, time.Second, logger)
	if err != nil {
		return err
	}
	defer sub.Close()
	if err := sub.SubscribeInitialize(Topic); err != nil {
		return fmt.Errorf("creating outbox tables: %w", err)
	}
	if err := createParkedTable(db); err != nil {
		return fmt.Errorf("creating %s: %w", ParkedTable, err)
	}
	return nil
}

// Publish writes evs to the outbox inside tx. prefix is the topic prefix the
// events are relayed under.
func Publish(tx *sql.Tx, prefix string, logger watermill.LoggerAdapter, evs ...events.Event) error {
	if len(evs) == 0 {
		return nil
	}
	sqlPub, err := wsql.NewPublisher(wsql.TxFromStdSQL(tx), wsql.PublisherConfig{
		SchemaAdapter: wsql.DefaultPostgreSQLSchema{},
	}, logger)
	if err != nil {
		return fmt.Errorf("outbox publisher: %w", err)
	}
	pub := forwarder.NewPublisher(sqlPub, forwarder.PublisherConfig{ForwarderTopic: Topic})
	// One multi-row INSERT per destination topic rather than one per event:
	// a sync of 100 creatives writes its 100 events in one statement. Order
	// is kept within a topic; there is no order across topics (streams).
	var (
		topics  []string
		byTopic = map[string][]*message.Message{}
	)
	for _, ev := range evs {
		msg, err := broker.NewMessage(ev)
		if err != nil {
			return err
		}
		topic := broker.Topic(prefix, ev.EventName())
		if _, seen := byTopic[topic]; !seen {
			topics = append(topics, topic)
		}
		byTopic[topic] = append(byTopic[topic], msg)
	}
	for _, topic := range topics {
		if err := pub.Publish(topic, byTopic[topic]...); err != nil {
			return fmt.Errorf("writing %d event(s) for %s to the outbox: %w", len(byTopic[topic]), topic, err)
		}
	}
	return nil
}

func newSubscriber(db *sql.DB, poll time.Duration, logger watermill.LoggerAdapter) (*wsql.Subscriber, error) {
	return wsql.NewSubscriber(wsql.BeginnerFromStdSQL(db), wsql.SubscriberConfig{
		SchemaAdapter:  wsql.DefaultPostgreSQLSchema{},
		OffsetsAdapter: wsql.DefaultPostgreSQLOffsetsAdapter{},
		PollInterval:   poll,
		ResendInterval: time.Second,
		RetryInterval:  time.Second,
	}, logger)
}

// Relay moves outbox rows to JetStream.
type Relay struct {
	fwd *forwarder.Forwarder
	sub *wsql.Subscriber
}

// NewRelay builds the relay. poll is how often an idle relay looks for new
// rows; latency from commit to publish is about poll/2. pub is the JetStream
// publisher (broker.NewPublisher); the relay also announces parked events
// through it on the poison stream of the event's topic prefix, which must
// exist (broker.NewRouter creates it). db must have been set up by
// Initialize, which creates the parked table.
func NewRelay(db *sql.DB, pub message.Publisher, poll time.Duration, logger watermill.LoggerAdapter) (*Relay, error) {
	sub, err := newSubscriber(db, poll, logger)
	if err != nil {
		return nil, err
	}
	// Publish errors are classified between the forwarder and JetStream:
	// transient ones still fail the row (retried every ResendInterval);
	// permanent ones park the event and let the forwarder ack it.
	parking := &parkingPublisher{next: pub, db: db, logger: logger}
	fwd, err := forwarder.NewForwarder(sub, parking, logger, forwarder.Config{
		ForwarderTopic: Topic,
		CloseTimeout:   10 * time.Second,
	})
	if err != nil {
		return nil, err
	}
	return &Relay{fwd: fwd, sub: sub}, nil
}

// Run relays until ctx ends.
func (r *Relay) Run(ctx context.Context) error { return r.fwd.Run(ctx) }

// Running is closed once the relay is relaying.
func (r *Relay) Running() chan struct{} { return r.fwd.Running() }

// Close stops the relay.
func (r *Relay) Close() error { return r.fwd.Close() }

// pruneRelayed deletes rows the relay has acknowledged. The outbox is never
// pruned by Watermill itself.
const pruneRelayed = `
DELETE FROM "watermill_outbox" m
USING "watermill_offsets_outbox" o
WHERE o.consumer_group = ''
  AND (m.transaction_id < o.last_processed_transaction_id
       OR (m.transaction_id = o.last_processed_transaction_id AND m."offset" <= o.offset_acked))`

// Prune deletes relayed rows and returns how many it removed.
func Prune(ctx context.Context, db *sql.DB) (int64, error) {
	res, err := db.ExecContext(ctx, pruneRelayed)
	if err != nil {
		return 0, fmt.Errorf("pruning outbox: %w", err)
	}
	return res.RowsAffected()
}

// Backlog returns how many outbox rows are not yet relayed; exported as a
// gauge so relay lag is visible.
const backlog = `
SELECT count(*) FROM "watermill_outbox" m
LEFT JOIN "watermill_offsets_outbox" o ON o.consumer_group = ''
WHERE o.consumer_group IS NULL
   OR m.transaction_id > o.last_processed_transaction_id
   OR (m.transaction_id = o.last_processed_transaction_id AND m."offset" > o.offset_acked)`

// Backlog counts rows waiting for the relay.
func Backlog(ctx context.Context, db *sql.DB) (int64, error) {
	var n int64
	err := db.QueryRowContext(ctx, backlog).Scan(&n)
	return n, err
}
