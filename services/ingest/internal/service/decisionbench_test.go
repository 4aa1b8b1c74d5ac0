package service_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/nats-io/nats.go"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/broker"
)

// BenchmarkDecisionBacklog measures how fast ingest applies review
// decisions: tasks syncs of 100 creatives each, with push notifications,
// wait for review; then a decision for every creative is put on the stream
// at once, and the clock runs until every task has completed and its
// webhook is on notification_requested_v1 (decision applied, task items
// settled, task completed, outbox relayed).
func BenchmarkDecisionBacklog(b *testing.B) {
	const tasks, perTask = 20, 100
	s := startIngestB(b)
	var elapsed time.Duration
	for iter := range b.N {
		b.StopTimer()
		var ids []string
		for t := range tasks {
			cs := make([]map[string]any, perTask)
			for j := range cs {
				id := fmt.Sprintf("d%d_%d_%d", iter, t, j)
				cs[j] = banner(id)
				ids = append(ids, id)
			}
			req := syncReq(cs...)
			req["push_notification_config"] = map[string]any{"url": "https://buyer.example.com/hook", "token": "0123456789abcdef-token"}
			if st, _, raw := s.sync(req); st != 202 {
				b.Fatalf("sync: %d %.300s", st, raw)
			}
		}
		topic := s.bk.Topic((&events.CreativeApprovedV1{}).EventName())
		if err := broker.EnsureStreams(s.bk.JS, topic); err != nil {
			b.Fatal(err)
		}
		notified := func() uint64 { return s.bk.Count((&events.NotificationRequestedV1{}).EventName()) }
		before := notified()
		start := time.Now()
		b.StartTimer()
		for _, id := range ids {
			ev := &events.CreativeApprovedV1{Header: events.Header{EventID: watermill.NewUUID(), CorrelationID: "bench"},
				Decision: events.Decision{AccountID: "acct_1", CreativeID: id, Revision: 1, Score: 0.95, DecidedBy: "auto"}}
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
			if _, err := s.bk.JS.PublishMsgAsync(m); err != nil {
				b.Fatal(err)
			}
		}
		deadline := time.Now().Add(5 * time.Minute)
		for notified() < before+tasks {
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d tasks completed", notified()-before, tasks)
			}
			time.Sleep(5 * time.Millisecond)
		}
		b.StopTimer()
		elapsed += time.Since(start)
	}
	b.ReportMetric(float64(b.N*tasks*perTask)/elapsed.Seconds(), "decisions/s")
}
