package outbox_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/nats-io/nats.go"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/broker"
	"example.com/creativesync/platform/outbox"
)

// BenchmarkRelayBacklog measures how fast a relay drains a backlog: the
// outbox holds backlogSize events (written 100 per transaction, like a sync
// of 100 creatives) before the relay starts, and the clock runs from its
// start until JetStream holds every one of them. watermill_forwarder is the
// relay the services used before (Watermill's forwarder over watermill-sql,
// 10 ms poll), run in the same process for comparison.
func BenchmarkRelayBacklog(b *testing.B) {
	b.Run("outbox", func(b *testing.B) {
		relayBacklog(b, func(e env, evs []events.Event) { e.commit(b, evs...) }, func(e env) (stop func()) {
			return e.startRelay(b, e.js, outbox.RelayConfig{DSN: e.dsn, Poll: 10 * time.Millisecond})
		}, func(e env) int64 { return backlog(b, e.db) })
	})
	b.Run("watermill_forwarder", func(b *testing.B) {
		relayBacklog(b, func(e env, evs []events.Event) { e.legacyPublish(b, evs...) }, func(e env) (stop func()) {
			return e.startForwarder(b)
		}, nil)
	})
}

func relayBacklog(b *testing.B, write func(env, []events.Event), start func(env) (stop func()), left func(env) int64) {
	const backlogSize, perTx = 5000, 100
	e := setup(b)
	topic := broker.Topic(e.prefix, (&events.CreativeSyncedV1{}).EventName())
	if err := broker.EnsureStreams(e.js, topic, broker.Topic(e.prefix, broker.PoisonTopic)); err != nil {
		b.Fatal(err)
	}
	if err := e.legacySubscriber(b).SubscribeInitialize("outbox"); err != nil {
		b.Fatal(err)
	}
	var relayed time.Duration
	for i := range b.N {
		b.StopTimer()
		for t := range backlogSize / perTx {
			evs := make([]events.Event, perTx)
			for j := range evs {
				evs[j] = synced(fmt.Sprintf("b%d-%d-%d-%s", i, t, j, watermill.NewUUID()), "a creative name of a typical length")
			}
			write(e, evs)
		}
		begin := time.Now()
		b.StartTimer()
		stop := start(e)
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
		relayed += time.Since(begin)
		b.StopTimer()
		if left != nil {
			// The rows are deleted once the last acks are in, just after
			// the stream holds them.
			eventually(b, 10*time.Second, "the outbox drained", func() bool { return left(e) == 0 })
		}
		stop()
	}
	b.ReportMetric(float64(b.N*backlogSize)/relayed.Seconds(), "events/s")
}

// BenchmarkRelayLatency measures commit-to-stream latency of single events
// while the relay idles: woken by the commit's notification (poll every
// minute, so nothing else can wake it), and, for comparison, polling every
// 50 ms without LISTEN (the OUTBOX_POLL_INTERVAL default, as the Watermill
// forwarder did). One op is one event; p50 and p99 are reported.
func BenchmarkRelayLatency(b *testing.B) {
	for _, c := range []struct {
		name   string
		listen bool
		poll   time.Duration
	}{{"notify", true, time.Minute}, {"poll_50ms", false, 50 * time.Millisecond}} {
		b.Run(c.name, func(b *testing.B) {
			e := setup(b)
			cfg := outbox.RelayConfig{Poll: c.poll}
			if c.listen {
				cfg.DSN = e.dsn
			}
			relayLatency(b, e, cfg)
		})
	}
}

func relayLatency(b *testing.B, e env, cfg outbox.RelayConfig) {
	topic := broker.Topic(e.prefix, (&events.CreativeSyncedV1{}).EventName())
	if err := broker.EnsureStreams(e.js, topic); err != nil {
		b.Fatal(err)
	}
	got := make(chan struct{}, 1)
	sub, err := e.nc.Subscribe(topic, func(*nats.Msg) { got <- struct{}{} })
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }() // the connection closes with the benchmark anyway
	b.Cleanup(e.startRelay(b, e.js, cfg))
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		ev := synced(fmt.Sprintf("l%d-%s", i, watermill.NewUUID()), "a")
		start := time.Now()
		e.commit(b, ev)
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			b.Fatal("event not relayed within 10 s")
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
}

// BenchmarkPublish measures the write side: transactions that each write
// perTx events to the outbox and commit, from 4 goroutines at once (a
// service's handlers and requests), through the Watermill forwarder's
// publisher the services used before and through Publish (one INSERT and
// the NOTIFY that wakes the relay; notifying transactions serialise on a
// lock at commit, so this is where it would show). No relay runs.
func BenchmarkPublish(b *testing.B) {
	for _, perTx := range []int{1, 100} {
		for _, c := range []struct {
			name    string
			publish func(e env, b *testing.B, evs []events.Event)
		}{
			{"watermill", func(e env, b *testing.B, evs []events.Event) { e.legacyPublish(b, evs...) }},
			{"outbox", func(e env, b *testing.B, evs []events.Event) { e.commit(b, evs...) }},
		} {
			b.Run(fmt.Sprintf("%s/events_per_tx=%d", c.name, perTx), func(b *testing.B) {
				e := setup(b)
				if c.name == "watermill" {
					if err := e.legacySubscriber(b).SubscribeInitialize("outbox"); err != nil {
						b.Fatal(err)
					}
				}
				b.SetParallelism(2) // × GOMAXPROCS (2) = 4 goroutines
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						evs := make([]events.Event, perTx)
						for i := range evs {
							evs[i] = synced(watermill.NewUUID(), "a creative name of a typical length")
						}
						c.publish(e, b, evs)
					}
				})
				b.ReportMetric(float64(b.N*perTx)/time.Since(start).Seconds(), "events/s")
			})
		}
	}
}
