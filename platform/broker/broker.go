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
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nats-io/nats.go"

	"example.com/creativesync/events"
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

// maxStreamName is JetStream's limit on stream names (the server's
// JSMaxNameLen), in bytes.
const maxStreamName = 255

// CheckPrefix reports why prefix cannot go in front of every topic, or nil.
// A topic is both a stream name and a one-token subject, so the prefix may
// not hold what either forbids: '.' (it splits subjects into tokens, and
// the server refuses it in stream names), the wildcards '*' and '>', '/'
// and '\' (the server stores a stream in a directory of that name and
// refuses path separators), whitespace (it ends a subject in the protocol)
// or control characters; and it must leave room for the longest topic
// within the 255-byte stream-name limit. Checking at start-up turns what
// would be a stream-creation error halfway through wiring into a message
// that names the character.
func CheckPrefix(prefix string) error {
	if !utf8.ValidString(prefix) {
		return errors.New("is not valid UTF-8; stream names and subjects must be")
	}
	for i, r := range prefix {
		var why string
		switch {
		case r == '.':
			why = "a dot separates subject tokens and is not allowed in stream names"
		case r == '*' || r == '>':
			why = "'*' and '>' are subject wildcards"
		case r == '/' || r == '\\':
			why = "stream names are directory names on the server, so path separators are not allowed"
		case unicode.IsSpace(r):
			why = "whitespace ends a subject in the NATS protocol"
		case unicode.IsControl(r):
			why = "control characters are not allowed in stream names or subjects"
		default:
			continue
		}
		return fmt.Errorf("has %q at byte %d: %s (letters, digits, '_' and '-' are safe)", r, i, why)
	}
	longest := PoisonTopic
	for _, name := range events.Topics() {
		if len(name) > len(longest) {
			longest = name
		}
	}
	if max := maxStreamName - len(longest); len(prefix) > max {
		return fmt.Errorf("is %d bytes; it may be at most %d, so that %s stays within JetStream's %d-byte stream-name limit",
			len(prefix), max, Topic("<prefix>", longest), maxStreamName)
	}
	return nil
}

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

// DeleteStreams deletes every stream whose name starts with prefix and
// returns their names: a throwaway pipeline's (a test's, a compliance
// run's) streams, which nothing else removes. An empty prefix would match
// every stream on the server, so it is refused.
func DeleteStreams(js nats.JetStreamContext, prefix string) ([]string, error) {
	if prefix == "" {
		return nil, errors.New("refusing to delete streams without a prefix: every stream on the server would match")
	}
	var deleted []string
	for name := range js.StreamNames() {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		if err := js.DeleteStream(name); err != nil {
			return deleted, fmt.Errorf("deleting stream %s: %w", name, err)
		}
		deleted = append(deleted, name)
	}
	return deleted, nil
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
	return ensureConsumer(js, topic, durable, MaxAckPending)
}

func ensureConsumer(js nats.JetStreamContext, topic, durable string, maxAckPending int) error {
	cfg := &nats.ConsumerConfig{
		Durable:        durable,
		DeliverGroup:   durable,
		DeliverSubject: deliverSubject(durable, topic),
		FilterSubject:  topic,
		DeliverPolicy:  nats.DeliverAllPolicy,
		AckPolicy:      nats.AckExplicitPolicy,
		AckWait:        AckWait,
		MaxDeliver:     -1,
		MaxAckPending:  maxAckPending,
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
