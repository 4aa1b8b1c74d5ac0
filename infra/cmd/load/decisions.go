package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"example.com/creativesync/platform/broker"
)

// Decisions counts review's decisions as they are published: a plain NATS
// subscription on the decision subjects sees every message JetStream
// stores, without a consumer of its own on the pipeline's streams.
type Decisions struct {
	mu       sync.Mutex
	times    []time.Time // one per creative revision decided
	seen     map[string]bool
	approved int
	rejected int
	human    int // sent to a person: such a task waits for one, so it would count as lost
	subs     []*nats.Subscription
}

// decisionTopics maps each subject (without prefix) to what it counts.
var decisionTopics = map[string]string{
	"creative_approved_v1":         "approved",
	"creative_rejected_v1":         "rejected",
	"creative_review_requested_v1": "human",
}

// SubscribeDecisions starts counting on nc for the pipeline under prefix.
func SubscribeDecisions(nc *nats.Conn, prefix string) (*Decisions, error) {
	d := &Decisions{seen: map[string]bool{}}
	for topic, kind := range decisionTopics {
		sub, err := nc.Subscribe(broker.Topic(prefix, topic), func(m *nats.Msg) { d.add(kind, m.Header.Get(nats.MsgIdHdr)) })
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("subscribing to %s: %w", topic, err)
		}
		// The counts must not drop messages however far review runs ahead.
		if err := sub.SetPendingLimits(-1, -1); err != nil {
			d.Close()
			return nil, err
		}
		d.subs = append(d.subs, sub)
	}
	// The subscriptions must be in place before the first sync.
	if err := nc.Flush(); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// add counts one decision; the outbox relay may publish an event twice
// (JetStream then drops it by Nats-Msg-Id, but a plain subscriber sees
// both), so the event id deduplicates.
func (d *Decisions) add(kind, msgID string) {
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if msgID != "" {
		if d.seen[msgID] {
			return
		}
		d.seen[msgID] = true
	}
	switch kind {
	case "approved":
		d.approved++
	case "rejected":
		d.rejected++
	case "human":
		d.human++
		return // not a decision yet
	}
	d.times = append(d.times, now)
}

// Counts returns the decision times and counts so far.
func (d *Decisions) Counts() (times []time.Time, approved, rejected, human int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]time.Time(nil), d.times...), d.approved, d.rejected, d.human
}

// Decided is how many creatives have been decided.
func (d *Decisions) Decided() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.times)
}

// Close ends the subscriptions.
func (d *Decisions) Close() {
	for _, s := range d.subs {
		// Unsubscribing on a connection about to close cannot fail in a
		// way that matters to the counts already taken.
		_ = s.Unsubscribe()
	}
}
