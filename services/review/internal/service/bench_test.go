package service_test

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/nats-io/nats.go"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/broker"
	"example.com/creativesync/services/review/internal/service"
)

// BenchmarkReviewBacklog measures how fast one review instance drains a
// backlog of creative_synced_v1 events: backlogSize events are on the
// stream before it starts, and the clock runs until every decision event
// (approved, rejected or review requested) is on JetStream, i.e. through
// the consumer, the decision transaction and the outbox relay.
func BenchmarkReviewBacklog(b *testing.B) {
	const backlogSize = 5000
	var (
		elapsed time.Duration
		counted uint64
	)
	for range b.N {
		b.StopTimer()
		s := newStack(b)
		s.logger = slog.New(slog.DiscardHandler)
		topic := s.Topic((&events.CreativeSyncedV1{}).EventName())
		if err := broker.EnsureStreams(s.JS, topic); err != nil {
			b.Fatal(err)
		}
		for i := range backlogSize {
			ev := creative("acct_bench", fmt.Sprintf("c%05d", i))
			ev.EventID = watermill.NewUUID()
			msg, err := broker.NewMessage(ev)
			if err != nil {
				b.Fatal(err)
			}
			m := nats.NewMsg(topic)
			m.Data, m.Header = msg.Payload, nats.Header{}
			m.Header.Set("_watermill_message_uuid", msg.UUID)
			for k, v := range msg.Metadata {
				m.Header.Set(k, v)
			}
			if _, err := s.JS.PublishMsgAsync(m); err != nil {
				b.Fatal(err)
			}
		}
		select {
		case <-s.JS.PublishAsyncComplete():
		case <-time.After(30 * time.Second):
			b.Fatal("backlog not published")
		}
		decided := func() uint64 {
			var n uint64
			for _, ev := range service.Produces() {
				n += s.Count(ev.EventName())
			}
			return n
		}
		// The clock starts once the service is ready, so the figure is the
		// drain rate rather than start-up; what was decided while it
		// started is not counted.
		r := s.start(nil)
		start, already := time.Now(), decided()
		b.StartTimer()
		for decided() < backlogSize {
			time.Sleep(5 * time.Millisecond)
		}
		b.StopTimer()
		elapsed += time.Since(start)
		counted += backlogSize - already
		r.Stop()
	}
	b.ReportMetric(float64(counted)/elapsed.Seconds(), "creatives/s")
}
