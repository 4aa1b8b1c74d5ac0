// Package natstest points tests at a real JetStream server and gives each
// test its own topic prefix, so its streams and consumers are its own;
// Broker adds the connection and publisher component tests use.
package natstest

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/broker"
)

// URL is the server tests use: TEST_NATS_URL, else NATS_URL, else the
// standard local server.
func URL() string {
	for _, k := range []string{"TEST_NATS_URL", "NATS_URL"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return nats.DefaultURL
}

// Prefix returns a fresh topic prefix for tb and deletes every stream that
// carries it when tb ends.
func Prefix(tb testing.TB) string {
	tb.Helper()
	var b [5]byte
	_, _ = rand.Read(b[:])
	prefix := "t" + hex.EncodeToString(b[:]) + "_"
	tb.Cleanup(func() {
		nc, err := nats.Connect(URL(), nats.Timeout(5*time.Second))
		if err != nil {
			return
		}
		defer nc.Close()
		if js, err := nc.JetStream(); err == nil {
			_, _ = broker.DeleteStreams(js, prefix)
		}
	})
	return prefix
}

// Broker is one test's view of JetStream: its own topic prefix, a
// connection and a publisher, all released when the test ends. Component
// tests publish the events a service consumes through it and read back the
// streams the service produces.
type Broker struct {
	tb     testing.TB
	Prefix string
	JS     nats.JetStreamContext
	Pub    message.Publisher
}

// NewBroker connects tb to URL() under a fresh Prefix.
func NewBroker(tb testing.TB) *Broker {
	tb.Helper()
	b := &Broker{tb: tb, Prefix: Prefix(tb)}
	nc, err := nats.Connect(URL(), nats.Timeout(5*time.Second))
	if err != nil {
		tb.Fatalf("connecting to NATS at %s (is nats-server -js running? run tests through `make test`): %v", URL(), err)
	}
	tb.Cleanup(nc.Close)
	if b.JS, err = nc.JetStream(); err != nil {
		tb.Fatal(err)
	}
	if b.Pub, err = broker.NewPublisher(URL(), watermill.NopLogger{}); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = b.Pub.Close() })
	return b
}

// Topic is the full topic (stream name and subject) of an event name.
func (b *Broker) Topic(name string) string { return broker.Topic(b.Prefix, name) }

// Publish sends evs as their producer would, each to its own stream
// (created if missing, since the producer's stack may not run in the test).
func (b *Broker) Publish(evs ...events.Event) {
	b.tb.Helper()
	for _, ev := range evs {
		msg, err := broker.NewMessage(ev)
		if err != nil {
			b.tb.Fatal(err)
		}
		b.PublishMsg(ev.EventName(), msg)
	}
}

// PublishMsg sends a prepared message (a duplicate, a malformed payload) to
// the stream of the event name.
func (b *Broker) PublishMsg(name string, msg *message.Message) {
	b.tb.Helper()
	if err := broker.EnsureStreams(b.JS, b.Topic(name)); err != nil {
		b.tb.Fatal(err)
	}
	if err := b.Pub.Publish(b.Topic(name), msg); err != nil {
		b.tb.Fatalf("publishing to %s: %v", b.Topic(name), err)
	}
}

// Count is how many messages the stream of an event name holds; 0 if it
// does not exist yet.
func (b *Broker) Count(name string) uint64 {
	b.tb.Helper()
	info, err := b.JS.StreamInfo(b.Topic(name))
	if err != nil {
		return 0
	}
	return info.State.Msgs
}

// Messages returns every message in the stream of an event name, oldest
// first; none if the stream does not exist yet.
func (b *Broker) Messages(name string) []*nats.RawStreamMsg {
	b.tb.Helper()
	topic := b.Topic(name)
	info, err := b.JS.StreamInfo(topic)
	if err != nil || info.State.Msgs == 0 {
		return nil
	}
	var out []*nats.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := b.JS.GetMsg(topic, seq)
		if err != nil {
			continue // deleted
		}
		out = append(out, m)
	}
	return out
}
