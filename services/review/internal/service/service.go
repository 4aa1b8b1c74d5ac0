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

	"github.com/jmoiron/sqlx"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/broker"
	"example.com/creativesync/platform/httpserver"
	"example.com/creativesync/platform/inspect"
	"example.com/creativesync/platform/lifecycle"
	"example.com/creativesync/platform/outbox"
	"example.com/creativesync/platform/pgdb"
	"example.com/creativesync/services/review/internal/httpapi"
	"example.com/creativesync/services/review/internal/messaging"
	"example.com/creativesync/services/review/internal/postgres"
	"example.com/creativesync/services/review/internal/review"
	"example.com/creativesync/services/review/internal/staff"
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
	// OutboxPollInterval is how often an idle relay looks for new events
	// when no commit woke it (its LISTEN connection is down).
	OutboxPollInterval time.Duration
	// Thresholds apply to tenants without a review_policies row.
	Thresholds review.Thresholds
	// Categories are the sensitive categories always sent to a person.
	Categories review.Categories
	// ReviewerToken is REVIEWER_TOKEN, a development-only shared API token
	// acting as an admin; empty (production) accepts only reviewers' own
	// tokens and sessions.
	ReviewerToken string
	// ClassifierURL is an external classifier's endpoint; empty: none.
	ClassifierURL string
	// ClassifierTimeout bounds one classifier call.
	ClassifierTimeout time.Duration
	// OIDC turns on sign-in through an OpenID Connect provider; nil: off.
	OIDC *httpapi.OIDCConfig
	// Assets, when Inspect is set, has review load every hosted image,
	// video and audio asset and compare its real bytes with the manifest.
	Assets AssetsConfig
}

// AssetsConfig configures asset inspection.
type AssetsConfig struct {
	Inspect bool
	// AllowPrivate lets loopback and private addresses be fetched:
	// development and tests only (the default refuses them: SSRF).
	AllowPrivate bool
	Timeout      time.Duration
	MaxBytes     int64
}

// Produces lists the events the service publishes; each needs a stream
// before the relay may send it.
func Produces() []events.Event {
	return []events.Event{&events.CreativeApprovedV1{}, &events.CreativeRejectedV1{}, &events.CreativeReviewRequestedV1{}}
}

// Service is the running review service.
type Service struct {
	cfg     Config
	logger  *slog.Logger
	db      *sqlx.DB
	router  *broker.Router
	relay   *outbox.Relay
	http    *httpserver.Server
	closers lifecycle.Closers
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
			_ = s.closers.Close()
		}
	}()

	if s.db, err = pgdb.Open(ctx, cfg.DatabaseURL); err != nil {
		return nil, err
	}
	s.closers.Add(s.db.Close)
	if err = postgres.Migrate(ctx, s.db); err != nil {
		return nil, err
	}

	nc, err := broker.Connect(cfg.NATSURL, Name)
	if err != nil {
		return nil, err
	}
	s.closers.Add(func() error { nc.Close(); return nil })
	js, err := nc.JetStream()
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
	pub, err := broker.NewPublisher(cfg.NATSURL, broker.Logger(logger))
	if err != nil {
		return nil, fmt.Errorf("JetStream publisher: %w", err)
	}
	s.closers.Add(pub.Close)

	reg := httpserver.NewRegistry()
	store := postgres.NewStore(s.db, cfg.TopicPrefix, logger)
	obs := newMetrics(reg, store, s.db, logger)
	reviews := review.NewService(store, review.NewScorer(review.DefaultRules(cfg.Categories)...), cfg.Thresholds, obs)
	var classifiers review.Classifiers
	if cfg.Assets.Inspect {
		classifiers = append(classifiers, review.AssetInspector{Timeout: 2 * cfg.Assets.Timeout,
			Fetcher: inspect.NewFetcher(inspect.FetchConfig{AllowPrivate: cfg.Assets.AllowPrivate, Timeout: cfg.Assets.Timeout, MaxBytes: cfg.Assets.MaxBytes})})
	}
	if cfg.ClassifierURL != "" {
		if cfg.ClassifierTimeout <= 0 {
			return nil, errors.New("service: ClassifierTimeout must be positive when ClassifierURL is set")
		}
		classifiers = append(classifiers, review.HTTPClassifier{URL: cfg.ClassifierURL, Timeout: cfg.ClassifierTimeout, Client: &http.Client{}})
	}
	if len(classifiers) > 0 {
		reviews.SetClassifier(classifiers)
	}

	// The relay publishes through js asynchronously and wakes on the
	// NOTIFY of each commit, on its own connection to DatabaseURL; the poll
	// interval is the fallback while that connection is down.
	relayCfg := outbox.RelayConfig{DSN: cfg.DatabaseURL, Poll: cfg.OutboxPollInterval}
	if s.relay, err = outbox.NewRelay(s.db.DB, js, relayCfg, broker.Logger(logger)); err != nil {
		return nil, fmt.Errorf("outbox relay: %w", err)
	}
	s.closers.Add(s.relay.Close)
	if s.router, err = broker.NewRouter(broker.RouterConfig{
		Service:  Name,
		Prefix:   cfg.TopicPrefix,
		NATSURL:  cfg.NATSURL,
		JS:       js,
		Poison:   pub,
		Registry: reg,
		Logger:   logger,
	}); err != nil {
		return nil, fmt.Errorf("message router: %w", err)
	}
	// Closing a router that never ran releases its subscribers; after Run
	// it does nothing.
	s.closers.Add(s.router.Close)
	if err = messaging.NewHandlers(reviews, logger).Register(s.router); err != nil {
		return nil, err
	}

	staffSvc := staff.NewService(postgres.NewStaffStore(s.db), nil)
	api := httpapi.New(httpapi.Config{Reviews: reviews, Staff: staffSvc, DevToken: cfg.ReviewerToken, OIDC: cfg.OIDC, Logger: logger})
	handler := httpserver.Handler(reg, lifecycle.Checks(s.db, nc, s.router), api.Routes)
	if s.http, err = httpserver.Listen(cfg.HTTPAddr, handler, logger); err != nil {
		return nil, err
	}
	s.closers.Add(s.http.Close)
	return s, nil
}

// Addr is the address the HTTP server listens on.
func (s *Service) Addr() string { return s.http.Addr() }

// outboxPruneInterval is how often relayed outbox rows are deleted; the
// outbox is never pruned by Watermill itself.
const outboxPruneInterval = 5 * time.Minute

// Run consumes, relays and serves until ctx ends, then shuts down in the
// order every service shares (platform/lifecycle): stop consuming and
// serving and let in-flight reviews and requests finish, give the relay a
// moment to send what they wrote, and close NATS and Postgres. Any
// component failing stops the others.
func (s *Service) Run(ctx context.Context) error {
	return lifecycle.Run(ctx, lifecycle.Parts{
		Name:       Name,
		Logger:     s.logger,
		HTTP:       s.http,
		Routers:    []lifecycle.Router{s.router},
		Workers:    []lifecycle.Worker{{Name: "outbox pruner", Run: lifecycle.Every(outboxPruneInterval, s.pruneOutbox)}},
		Relay:      s.relay,
		Backlog:    func(ctx context.Context) (int64, error) { return outbox.Backlog(ctx, s.db.DB) },
		Close:      s.closers.Close,
		ReadyAttrs: []any{"topic_prefix", s.cfg.TopicPrefix},
	})
}

func (s *Service) pruneOutbox(ctx context.Context) {
	if n, err := outbox.Prune(ctx, s.db.DB); err != nil && ctx.Err() == nil {
		s.logger.Warn("pruning outbox", "err", err)
	} else if n > 0 {
		s.logger.Debug("pruned outbox", "rows", n)
	}
}
