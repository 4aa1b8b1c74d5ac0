// Package service wires the review service together: Postgres, JetStream,
// the message router, the outbox relay and the HTTP server, and runs them
// until shutdown.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jmoiron/sqlx"
	"github.com/nats-io/nats.go"
	"golang.org/x/sync/errgroup"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/broker"
	"example.com/creativesync/platform/httpserver"
	"example.com/creativesync/platform/outbox"
	"example.com/creativesync/platform/pgdb"
	"example.com/creativesync/services/review/internal/httpapi"
	"example.com/creativesync/services/review/internal/messaging"
	"example.com/creativesync/services/review/internal/postgres"
	"example.com/creativesync/services/review/internal/review"
)

// Name names the service's durable consumers (review_<handler>) and its
// NATS connections.
const Name = "review"

// Config is everything the service needs; main fills it from the
// environment.
type Config struct {
	// DatabaseURL is the review service's own Postgres database.
	DatabaseURL string
	// NATSURL is the JetStream server.
	NATSURL string
	// HTTPAddr is where the API, reviewer page and ops endpoints listen;
	// ":0" picks a free port (tests).
	HTTPAddr string
	// TopicPrefix isolates streams of parallel stacks and tests.
	TopicPrefix string
	// OutboxPollInterval is how often an idle relay looks for new events;
	// decisions reach JetStream about half of it after commit.
	OutboxPollInterval time.Duration
	// Thresholds apply to tenants without a review_policies row.
	Thresholds review.Thresholds
	// Categories are the sensitive categories always sent to a person.
	Categories review.Categories
	// ReviewerToken guards the reviewer API and page; empty disables them.
	ReviewerToken string
}

// Produces lists the events the service publishes; each needs a stream
// before the relay may send it.
func Produces() []events.Event {
	return []events.Event{&events.CreativeApprovedV1{}, &events.CreativeRejectedV1{}, &events.CreativeReviewRequestedV1{}}
}

// Service is the running review service.
type Service struct {
	cfg    Config
	logger *slog.Logger
	db     *sqlx.DB
	nc     *nats.Conn
	pub    message.Publisher
	router *broker.Router
	relay  *outbox.Relay
	http   *httpserver.Server
}

// New connects to Postgres and NATS, migrates, provisions streams and the
// durable consumer, and binds the HTTP listener. Nothing is consumed or
// served until Run.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (_ *Service, err error) {
	if cfg.DatabaseURL == "" || cfg.NATSURL == "" || cfg.HTTPAddr == "" {
		return nil, errors.New("service: DatabaseURL, NATSURL and HTTPAddr are required")
	}
	if cfg.OutboxPollInterval <= 0 {
		return nil, errors.New("service: OutboxPollInterval must be positive")
	}
	if err := cfg.Thresholds.Validate(); err != nil {
		return nil, fmt.Errorf("service: default thresholds: %w", err)
	}
	if len(cfg.Categories) == 0 {
		cfg.Categories = review.DefaultCategories()
	}
	s := &Service{cfg: cfg, logger: logger}
	defer func() {
		if err != nil {
			s.releaseListener()
			s.close()
		}
	}()

	if s.db, err = pgdb.Open(ctx, cfg.DatabaseURL); err != nil {
		return nil, err
	}
	if err = postgres.Migrate(ctx, s.db, logger); err != nil {
		return nil, err
	}

	if s.nc, err = broker.Connect(cfg.NATSURL, Name); err != nil {
		return nil, err
	}
	js, err := s.nc.JetStream()
	if err != nil {
		return nil, fmt.Errorf("JetStream context: %w", err)
	}
	var topics []string
	for _, ev := range Produces() {
		topics = append(topics, broker.Topic(cfg.TopicPrefix, ev.EventName()))
	}
	// Before the relay starts: an event without a stream blocks the outbox.
	if err = broker.EnsureStreams(js, topics...); err != nil {
		return nil, err
	}
	if s.pub, err = broker.NewPublisher(cfg.NATSURL, broker.Logger(logger)); err != nil {
		return nil, fmt.Errorf("JetStream publisher: %w", err)
	}

	reg := httpserver.NewRegistry()
	store := postgres.NewStore(s.db, cfg.TopicPrefix, logger)
	obs := newMetrics(reg, store, s.db, logger)
	reviews := review.NewService(store, review.NewScorer(review.DefaultRules(cfg.Categories)...), cfg.Thresholds, obs)

	handler := httpapi.NewHandler(httpapi.Config{
		Reviews: reviews,
		Token:   cfg.ReviewerToken,
		Logger:  logger,
		Ops: func(mux *http.ServeMux) {
			httpserver.Ops(mux, reg,
				httpserver.Check{Name: "postgres", Fn: s.db.PingContext},
				httpserver.Check{Name: "nats", Fn: s.natsReady},
			)
		},
	})
	if s.http, err = httpserver.Listen(cfg.HTTPAddr, handler, logger); err != nil {
		return nil, err
	}
	if s.relay, err = outbox.NewRelay(s.db.DB, s.pub, cfg.OutboxPollInterval, broker.Logger(logger)); err != nil {
		return nil, fmt.Errorf("outbox relay: %w", err)
	}
	// The router comes last: once it has subscribers, only Run and Close
	// release them.
	if s.router, err = broker.NewRouter(broker.RouterConfig{
		Service:  Name,
		Prefix:   cfg.TopicPrefix,
		NATSURL:  cfg.NATSURL,
		JS:       js,
		Poison:   s.pub,
		Registry: reg,
		Logger:   logger,
	}); err != nil {
		return nil, fmt.Errorf("message router: %w", err)
	}
	if err = messaging.NewHandlers(reviews, logger).Register(s.router); err != nil {
		return nil, err
	}
	return s, nil
}

// Addr is the address the HTTP server listens on.
func (s *Service) Addr() string { return s.http.Addr() }

func (s *Service) natsReady(context.Context) error {
	if !s.nc.IsConnected() {
		return fmt.Errorf("not connected (status %s)", s.nc.Status())
	}
	return nil
}

// Run consumes, relays and serves until ctx ends, then shuts down in order:
// stop consuming and let in-flight reviews finish, stop HTTP after its
// in-flight requests, give the relay a moment to send what they wrote, and
// close Postgres and NATS. Any component failing stops the others.
func (s *Service) Run(ctx context.Context) error {
	defer s.close()
	g, gctx := errgroup.WithContext(ctx)
	// HTTP and the relay outlive ctx so the shutdown sequence decides when
	// they stop.
	httpCtx, stopHTTP := context.WithCancel(context.WithoutCancel(ctx))
	relayCtx, stopRelay := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHTTP()
	defer stopRelay()
	httpDone := make(chan struct{})

	g.Go(func() error {
		// The router's context is never cancelled: cancelling it would
		// abandon in-flight messages, while Close waits for them.
		err := s.router.Run(context.WithoutCancel(ctx))
		if err == nil && gctx.Err() == nil {
			err = errors.New("message router stopped unexpectedly")
		}
		return err
	})
	g.Go(func() error {
		err := s.relay.Run(relayCtx)
		if err == nil && relayCtx.Err() == nil {
			err = errors.New("outbox relay stopped unexpectedly")
		}
		return err
	})
	g.Go(func() error {
		defer close(httpDone)
		select {
		case <-s.router.Running():
		case <-gctx.Done():
			return nil
		}
		s.logger.Info("review service ready", "addr", s.Addr(), "topic_prefix", s.cfg.TopicPrefix)
		return s.http.Serve(httpCtx)
	})
	g.Go(func() error {
		<-gctx.Done()
		s.logger.Info("shutting down")
		err := s.router.Close()
		stopHTTP()
		<-httpDone
		s.drainOutbox(5 * time.Second)
		stopRelay()
		return err
	})
	err := g.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// drainOutbox waits, up to limit, for the relay to send what was written
// just before shutdown. Whatever is left stays in the outbox and goes out
// on the next start, so this only shortens the delay.
func (s *Service) drainOutbox(limit time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	tick := time.NewTicker(s.cfg.OutboxPollInterval)
	defer tick.Stop()
	for {
		n, err := outbox.Backlog(ctx, s.db.DB)
		if err == nil && n == 0 {
			return
		}
		select {
		case <-ctx.Done():
			s.logger.Warn("outbox not drained before shutdown; the rest is sent on the next start", "backlog", n)
			return
		case <-tick.C:
		}
	}
}

// releaseListener frees the bound port when New fails after Listen:
// httpserver.Server has no Close, but serving with an ended context shuts
// it down at once.
func (s *Service) releaseListener() {
	if s.http == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = s.http.Serve(ctx)
}

func (s *Service) close() {
	if s.pub != nil {
		if err := s.pub.Close(); err != nil {
			s.logger.Warn("closing JetStream publisher", "err", err)
		}
	}
	if s.nc != nil {
		s.nc.Close()
	}
	if s.db != nil {
		if err := s.db.Close(); err != nil {
			s.logger.Warn("closing Postgres", "err", err)
		}
	}
}
