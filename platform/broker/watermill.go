package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/components/metrics"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/apperr"
	"example.com/creativesync/platform/logging"
)

// Metadata keys set on every event message.
const (
	MetaEventName = "event_name"
)

// Logger adapts slog for Watermill. Watermill logs every subscriber start
// and schema query at info; those go to debug so info stays about our work.
func Logger(l *slog.Logger) watermill.LoggerAdapter {
	return watermill.NewSlogLoggerWithLevelMapping(l, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
}

// NewPublisher returns a JetStream publisher that sets Nats-Msg-Id from the
// message UUID (our event id) and never provisions streams itself: doing so
// costs a round trip per publish and hides a missing stream.
func NewPublisher(url string, logger watermill.LoggerAdapter) (message.Publisher, error) {
	return wnats.NewPublisher(wnats.PublisherConfig{
		URL:         url,
		NatsOptions: []nats.Option{nats.MaxReconnects(-1), nats.ReconnectWait(500 * time.Millisecond)},
		Marshaler:   &wnats.NATSMarshaler{},
		JetStream:   wnats.JetStreamConfig{TrackMsgId: true, AutoProvision: false},
	}, logger)
}

// Backoff paces redeliveries of a message whose handler failed: 1 s after the
// first failure, doubling up to a minute. It never returns TermSignal, so a
// message keeps being retried until it succeeds or is sent to poison.
type Backoff struct{}

// WaitTime implements wnats.Delay.
func (Backoff) WaitTime(delivered uint64) time.Duration {
	if delivered < 1 {
		delivered = 1
	}
	d := time.Second * time.Duration(math.Pow(2, float64(min(delivered-1, 6))))
	return min(d, time.Minute)
}

// NewMessage encodes ev as a Watermill message whose UUID is the event id and
// whose metadata carries the correlation id, so the relay, the broker and the
// consumers all see the same identity.
func NewMessage(ev events.Event) (*message.Message, error) {
	h := ev.Meta()
	if h.EventID == "" {
		h.EventID = watermill.NewUUID()
	}
	if h.OccurredAt.IsZero() {
		h.OccurredAt = time.Now().UTC()
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", ev.EventName(), err)
	}
	msg := message.NewMessage(h.EventID, payload)
	msg.Metadata.Set(MetaEventName, ev.EventName())
	if h.CorrelationID != "" {
		middleware.SetCorrelationID(h.CorrelationID, msg)
	}
	return msg, nil
}

// Decode unmarshals msg into ev. A payload that does not decode can never be
// handled, so the error is permanent.
func Decode(msg *message.Message, ev events.Event) error {
	if err := json.Unmarshal(msg.Payload, ev); err != nil {
		return apperr.Permanent(fmt.Errorf("decoding %s message %s: %w", ev.EventName(), msg.UUID, err))
	}
	return nil
}

// Router is a Watermill router with our middleware stack and one durable
// consumer per handler.
type Router struct {
	*message.Router
	js      nats.JetStreamContext
	url     string
	service string
	prefix  string
	logger  watermill.LoggerAdapter
	workers int
	// subs are closed by Close too: Watermill only closes the subscribers of
	// handlers that ran, so a router that never started would leak them.
	subs []message.Subscriber
}

// RouterConfig configures NewRouter.
type RouterConfig struct {
	Service  string                // names durables: <service>_<handler>
	Prefix   string                // topic prefix (tests, parallel stacks)
	NATSURL  string                // for subscribers
	JS       nats.JetStreamContext // for consumer provisioning
	Poison   message.Publisher     // where permanent failures go
	Registry prometheus.Registerer // handler metrics; nil disables them
	Logger   *slog.Logger
	// Concurrency is how many messages of one handler a replica processes
	// at once (default 4). Handlers must be idempotent and tolerate
	// reordering anyway, since JetStream redelivers; more than one lets a
	// replica overlap Postgres commits instead of waiting on each.
	Concurrency int
}

// NewRouter builds the router. Middleware order matters: the poison queue
// sits outside Retry so it only sees errors that survived the quick retries,
// and only permanent ones; transient failures are nacked and redelivered
// with Backoff, so nothing is dropped.
func NewRouter(cfg RouterConfig) (*Router, error) {
	wl := Logger(cfg.Logger)
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: 15 * time.Second}, wl)
	if err != nil {
		return nil, err
	}
	if err := EnsureStreams(cfg.JS, Topic(cfg.Prefix, PoisonTopic)); err != nil {
		return nil, err
	}
	poison, err := middleware.PoisonQueueWithFilter(cfg.Poison, Topic(cfg.Prefix, PoisonTopic), apperr.IsPermanent)
	if err != nil {
		return nil, err
	}
	r.AddMiddleware(
		correlationContext,
		poison,
		middleware.Retry{
			MaxRetries:      3,
			InitialInterval: 100 * time.Millisecond,
			MaxInterval:     time.Second,
			Multiplier:      2,
			ShouldRetry:     func(p middleware.RetryParams) bool { return !apperr.IsPermanent(p.Err) },
			Logger:          wl,
		}.Middleware,
		middleware.Recoverer,
	)
	if cfg.Registry != nil {
		metrics.NewPrometheusMetricsBuilder(cfg.Registry, "", "").AddPrometheusRouterMetrics(r)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	return &Router{Router: r, js: cfg.JS, url: cfg.NATSURL, service: cfg.Service, prefix: cfg.Prefix, logger: wl, workers: cfg.Concurrency}, nil
}

// Handle subscribes fn to the event named topicName through the service's
// durable consumer for handler.
func (r *Router) Handle(handler, topicName string, fn message.NoPublishHandlerFunc) error {
	return r.HandleWith(handler, topicName, HandlerOptions{}, fn)
}

// HandlerOptions tune one handler; zero values take the router's.
type HandlerOptions struct {
	// Concurrency is how many of its messages a replica handles at once
	// (default: RouterConfig.Concurrency). A handler that group-commits
	// through a Batcher needs many, since each message waits in its batch.
	Concurrency int
	// MaxAckPending is the consumer's (default MaxAckPending). It must be
	// at least Concurrency times the replicas for all of them to be busy,
	// and MaxAckPending ÷ Concurrency × the p99 time of one call must stay
	// below AckWait.
	MaxAckPending int
}

// HandleWith is Handle with options.
func (r *Router) HandleWith(handler, topicName string, opts HandlerOptions, fn message.NoPublishHandlerFunc) error {
	topic := Topic(r.prefix, topicName)
	durable := Durable(r.service, handler)
	if opts.Concurrency <= 0 {
		opts.Concurrency = r.workers
	}
	if opts.MaxAckPending <= 0 {
		opts.MaxAckPending = MaxAckPending
	}
	if err := EnsureStreams(r.js, topic); err != nil {
		return err
	}
	if err := ensureConsumer(r.js, topic, durable, opts.MaxAckPending); err != nil {
		return err
	}
	sub, err := newBoundSubscriber(r.url, topic, durable, opts.Concurrency, r.logger)
	if err != nil {
		return fmt.Errorf("subscriber for %s: %w", durable, err)
	}
	r.subs = append(r.subs, sub)
	r.AddConsumerHandler(durable, topic, sub, fn)
	return nil
}

// Close stops the router and closes every subscriber it made.
func (r *Router) Close() error {
	err := r.Router.Close()
	for _, sub := range r.subs {
		err = errors.Join(err, sub.Close())
	}
	return err
}

func newBoundSubscriber(url, topic, durable string, workers int, logger watermill.LoggerAdapter) (message.Subscriber, error) {
	return wnats.NewSubscriber(wnats.SubscriberConfig{
		URL:              url,
		NatsOptions:      []nats.Option{nats.MaxReconnects(-1), nats.ReconnectWait(500 * time.Millisecond)},
		Unmarshaler:      &wnats.NATSMarshaler{},
		QueueGroupPrefix: durable,
		SubscribersCount: workers,
		AckWaitTimeout:   AckWait,
		CloseTimeout:     10 * time.Second,
		NakDelay:         Backoff{},
		JetStream: wnats.JetStreamConfig{
			DurablePrefix:    durable,
			SubscribeOptions: []nats.SubOpt{nats.Bind(topic, durable), nats.ManualAck()},
		},
	}, logger)
}

// correlationContext puts the message's correlation id into the handler's
// context so every log line and every event it causes carries it.
func correlationContext(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		if id := middleware.MessageCorrelationID(msg); id != "" {
			msg.SetContext(logging.WithCorrelationID(msg.Context(), id))
		}
		return h(msg)
	}
}

// CorrelationID returns the correlation id a handler's context carries.
func CorrelationID(ctx context.Context) string { return logging.CorrelationID(ctx) }
