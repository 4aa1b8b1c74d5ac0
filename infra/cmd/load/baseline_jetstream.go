package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"example.com/creativesync/platform/broker"
)

// baselineMsgBytes is about the size of one creative_synced_v1 event.
const baselineMsgBytes = 1024

// JetStreamBaseline is the raw rate of the JetStream server the pipeline
// uses, on a stream configured like ours (file storage, dedup window).
type JetStreamBaseline struct {
	Published        int64   `json:"published"`
	PublishSeconds   float64 `json:"publish_seconds"`
	PublishPerSec    float64 `json:"publish_per_s"`
	Consumed         int64   `json:"consumed"`
	ConsumeSeconds   float64 `json:"consume_seconds"`
	ConsumePerSec    float64 `json:"consume_per_s"`
	MessageBytes     int     `json:"message_bytes"`
	MaxPendingPubAck int     `json:"max_pending_publish_acks"`
}

// maxPendingPubAcks bounds the asynchronous publishes awaiting their ack.
const maxPendingPubAcks = 4096

// RunJetStreamBaseline publishes asynchronously to a scratch stream for d,
// then consumes what it published with a push consumer and asynchronous
// acks (as the services' consumers ack), for at most 3·d.
func RunJetStreamBaseline(ctx context.Context, natsURL, prefix string, d time.Duration) (JetStreamBaseline, error) {
	nc, err := broker.Connect(natsURL, "creativesync-load-baseline")
	if err != nil {
		return JetStreamBaseline{}, err
	}
	defer nc.Close()
	js, err := nc.JetStream(nats.PublishAsyncMaxPending(maxPendingPubAcks))
	if err != nil {
		return JetStreamBaseline{}, err
	}
	stream := broker.Topic(prefix, "load_baseline")
	if err := broker.EnsureStreams(js, stream); err != nil {
		return JetStreamBaseline{}, err
	}
	defer func() {
		// The scratch stream is the run's own; failing to delete it leaves
		// it to the prefix cleanup at the end of the run.
		_ = js.DeleteStream(stream)
	}()

	msg := make([]byte, baselineMsgBytes)
	if _, err := rand.Read(msg); err != nil {
		return JetStreamBaseline{}, err
	}
	r := JetStreamBaseline{MessageBytes: baselineMsgBytes, MaxPendingPubAck: maxPendingPubAcks}
	start := time.Now()
	deadline := start.Add(d)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		// Blocks while maxPendingPubAcks are outstanding: the server's
		// pace, not the client's, sets the rate.
		if _, err := js.PublishAsync(stream, msg); err != nil {
			return r, fmt.Errorf("publish: %w", err)
		}
		r.Published++
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		return r, fmt.Errorf("%d publishes still unacknowledged after 30 s", js.PublishAsyncPending())
	}
	r.PublishSeconds = time.Since(start).Seconds()
	r.PublishPerSec = round(float64(r.Published)/r.PublishSeconds, 0)

	var consumed atomic.Int64
	done := make(chan struct{})
	start = time.Now()
	sub, err := js.Subscribe(stream, func(m *nats.Msg) {
		// Async ack, as Watermill acks: the server is not waited for.
		_ = m.Ack()
		if consumed.Add(1) == r.Published {
			close(done)
		}
	}, nats.DeliverAll(), nats.AckExplicit(), nats.MaxAckPending(maxPendingPubAcks))
	if err != nil {
		return r, fmt.Errorf("subscribe: %w", err)
	}
	defer func() {
		// Best effort: the stream and with it the consumer go away next.
		_ = sub.Unsubscribe()
	}()
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		return r, err
	}
	select {
	case <-done:
	case <-time.After(3 * d):
	case <-ctx.Done():
	}
	r.ConsumeSeconds = time.Since(start).Seconds()
	r.Consumed = consumed.Load()
	r.ConsumePerSec = round(float64(r.Consumed)/r.ConsumeSeconds, 0)
	r.PublishSeconds, r.ConsumeSeconds = round(r.PublishSeconds, 2), round(r.ConsumeSeconds, 2)
	return r, nil
}
