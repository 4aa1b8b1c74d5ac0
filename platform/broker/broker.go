// Package broker wires Watermill to NATS JetStream the way our messaging
// notes require: streams and durable consumers are created by us, never by
// Watermill (a consumer Watermill creates is deleted when it closes); the
// header marshaler plus TrackMsgId gives broker-side dedup by event id; and
// MaxAckPending stays small so the server's AckWait covers the backlog a
// subscriber holds.
package broker

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// Settings every stream and consumer gets. They are package variables only
// so tests can see them; nothing changes them at run time.
var (
	// DuplicateWindow is how long JetStream remembers message ids; a relay
	// that republishes an event inside it is deduplicated by the server.
	DuplicateWindow = 2 * time.Minute
	// AckWait is the server-side redelivery timer for unacknowledged messages.
	AckWait = 30 * time.Second
	// MaxAckPending × p99 handler time must stay below AckWait.
	MaxAckPending = 16
	// StreamMaxAge bounds what a stream keeps; consumers are expected to keep up
	// within days, and the poison stream keeps failures long enough to replay.
	StreamMaxAge = 7 * 24 * time.Hour
)

// PoisonTopic is where handlers send messages they cannot process.
const PoisonTopic = "poison_v1"

// Connect opens a NATS connection that retries on its own after a drop.
func Connect(url, name string) (*nats.Conn, error) {
	nc, err := nats.Connect(url,
		nats.Name(name),
		nats.Timeout(5*time.Second),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500*time.Millisecond),
	)
	if err != nil {
		return nil, fmt.Errorf("connecting to NATS at %s: %w", url, err)
	}
	return nc, nil
}

// Topic returns the topic (= stream name = subject) for an event name under
// prefix. The prefix isolates tests and parallel deployments on one server.
func Topic(prefix, name string) string { return prefix + name }

// EnsureStreams creates (or updates) one file-backed stream per topic. It
// must run before anything publishes: a topic without a stream blocks the
// outbox relay.
func EnsureStreams(js nats.JetStreamContext, topics ...string) error {
	for _, topic := range topics {
		cfg := &nats.StreamConfig{
			Name:       topic,
			Subjects:   []string{topic},
			Storage:    nats.FileStorage,
			Retention:  nats.LimitsPolicy,
			MaxAge:     StreamMaxAge,
			Duplicates: DuplicateWindow,
		}
		_, err := js.AddStream(cfg)
		if errors.Is(err, nats.ErrStreamNameAlreadyInUse) {
			_, err = js.UpdateStream(cfg)
		}
		if err != nil {
			if errors.Is(err, nats.ErrJetStreamNotEnabled) || errors.Is(err, nats.ErrNoResponders) {
				return fmt.Errorf("creating stream %s: JetStream is not enabled on the NATS server (start it with -js): %w", topic, err)
			}
			return fmt.Errorf("creating stream %s: %w", topic, err)
		}
	}
	return nil
}

// Durable names the consumer of one handler in one service. The same name is
// the queue group, so replicas of a service share the work.
func Durable(service, handler string) string { return service + "_" + handler }

// deliverSubject must not match any stream subject; streams here never start
// with an underscore.
func deliverSubject(durable, topic string) string { return "_deliver." + durable + "." + topic }

// EnsureConsumer creates the durable push consumer for a handler, or updates
// it if it exists. Redelivery pacing is done by the subscriber's NakDelay,
// so MaxDeliver stays unlimited: a failing message is never silently dropped.
func EnsureConsumer(js nats.JetStreamContext, topic, durable string) error {
	cfg := &nats.ConsumerConfig{
		Durable:        durable,
		DeliverGroup:   durable,
		DeliverSubject: deliverSubject(durable, topic),
		FilterSubject:  topic,
		DeliverPolicy:  nats.DeliverAllPolicy,
		AckPolicy:      nats.AckExplicitPolicy,
		AckWait:        AckWait,
		MaxDeliver:     -1,
		MaxAckPending:  MaxAckPending,
	}
	_, err := js.ConsumerInfo(topic, durable)
	switch {
	case err == nil:
		if _, err := js.UpdateConsumer(topic, cfg); err != nil {
			return fmt.Errorf("updating consumer %s on %s: %w", durable, topic, err)
		}
		return nil
	case !errors.Is(err, nats.ErrConsumerNotFound):
		return fmt.Errorf("looking up consumer %s on %s: %w", durable, topic, err)
	}
	if _, err := js.AddConsumer(topic, cfg); err != nil {
		return fmt.Errorf("creating consumer %s on %s: %w", durable, topic, err)
	}
	return nil
}
