package outbox_test

import (
	"fmt"
	"testing"
	"time"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/broker"
	"example.com/creativesync/platform/outbox"
)

// BenchmarkRelayBacklog measures how fast the relay drains a backlog: the
// outbox holds backlogSize events (written 100 per transaction, like a sync
// of 100 creatives) before the relay starts, and the clock runs from its
// start until JetStream holds every one of them.
func BenchmarkRelayBacklog(b *testing.B) {
	const backlogSize, perTx = 5000, 100
	e := setup(b)
	topic := broker.Topic(e.prefix, (&events.CreativeSyncedV1{}).EventName())
	if err := broker.EnsureStreams(e.js, topic, broker.Topic(e.prefix, broker.PoisonTopic)); err != nil {
		b.Fatal(err)
	}
	var relayed time.Duration
	for i := range b.N {
		b.StopTimer()
		for t := range backlogSize / perTx {
			evs := make([]events.Event, perTx)
			for j := range evs {
				evs[j] = synced(fmt.Sprintf("b%d-%d-%d", i, t, j), "a creative name of a typical length")
			}
			e.commit(b, evs...)
		}
		start := time.Now()
		b.StartTimer()
		stop := e.startRelay(b, e.js, outbox.RelayConfig{DSN: e.dsn, Poll: 10 * time.Millisecond})
		want := uint64((i + 1) * backlogSize)
		for {
			info, err := e.js.StreamInfo(topic)
			if err != nil {
				b.Fatal(err)
			}
			if info.State.Msgs >= want {
				break
			}
			time.Sleep(time.Millisecond)
		}
		relayed += time.Since(start)
		b.StopTimer()
		// The rows are deleted once the last acks are in, just after the
		// stream holds them.
		eventually(b, 10*time.Second, "the outbox drained", func() bool { return backlog(b, e.db) == 0 })
		stop()
	}
	b.ReportMetric(float64(b.N*backlogSize)/relayed.Seconds(), "events/s")
}
