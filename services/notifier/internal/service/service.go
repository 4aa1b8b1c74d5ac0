// Package service wires the notifier together: Postgres store, signer,
// SSRF-guarded sender, dispatcher workers, JetStream consumer and HTTP API.
// main and the component tests both build it through New.
package service

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"example.com/creativesync/platform/broker"
	"example.com/creativesync/platform/httpserver"
	"example.com/creativesync/platform/lifecycle"
	"example.com/creativesync/platform/pgdb"
	"example.com/creativesync/platform/signing"
	"example.com/creativesync/services/notifier/internal/httpapi"
	"example.com/creativesync/services/notifier/internal/messaging"
	"example.com/creativesync/services/notifier/internal/notify"
	"example.com/creativesync/services/notifier/internal/postgres"
	"example.com/creativesync/services/notifier/internal/webhook"
)

// Name is the service name in logs, NATS connection names and durables.
const Name = "notifier"

// Config is the notifier's runtime configuration; main fills it from the
// environment and tests build it directly.
type Config struct {
	DatabaseURL string
	NATSURL     string
	HTTPAddr    string
	TopicPrefix string
	// AdminToken enables the operator API; empty disables it.
	AdminToken string
	Workers    int
	// PollInterval is how often idle workers look for due deliveries.
	PollInterval   time.Duration
	AttemptTimeout time.Duration
	Retry          notify.RetryPolicy
	// AllowPrivateTargets permits http:// and private addresses (dev, tests).
	AllowPrivateTargets bool
	// SigningKey is the Ed25519 webhook key; nil means the one stored in the
	// database, generated on first start.
	SigningKey   ed25519.PrivateKey
	SigningKeyID string
	// SignatureValidity is expires − created of each RFC 9421 signature.
	SignatureValidity time.Duration
	// QueueGaugeInterval is how often the queue-depth gauges are refreshed.
	QueueGaugeInterval time.Duration
	// Resolve replaces DNS resolution for webhook targets (tests only).
	Resolve webhook.Resolver
}

// Service is a wired notifier, ready to Run.
type Service struct {
	cfg        Config
	log        *slog.Logger
	store      *postgres.Store
	router     *broker.Router
	dispatcher *notify.Dispatcher
	metrics    *metrics
	http       *httpserver.Server
	key        signing.Key
	closers    lifecycle.Closers
}

// New connects to Postgres and NATS, applies migrations, loads or creates
// the signing key, provisions the consumer and binds the HTTP listener (so
// Addr is known before Run). On error everything opened so far is closed.
func New(ctx context.Context, cfg Config, log *slog.Logger) (_ *Service, err error) {
	if cfg.QueueGaugeInterval <= 0 {
		cfg.QueueGaugeInterval = 5 * time.Second
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			_ = s.closers.Close()
		}
	}()

	db, err := pgdb.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	s.closers.Add(db.Close)
	if err = postgres.Migrate(ctx, db); err != nil {
		return nil, err
	}
	s.store = postgres.NewStore(db)

	if s.key, err = s.loadKey(ctx); err != nil {
		return nil, err
	}
	signer, err := signing.NewWebhookSigner(s.key, cfg.SignatureValidity, nil)
	if err != nil {
		return nil, err
	}
	sender := webhook.NewSender(webhook.Config{
		Signer:       signer,
		AllowPrivate: cfg.AllowPrivateTargets,
		Timeout:      cfg.AttemptTimeout,
		Resolve:      cfg.Resolve,
	})
	s.closers.Add(func() error { sender.Close(); return nil })
	if cfg.AllowPrivateTargets {
		log.Warn("private webhook targets and plain http are allowed; never run production this way")
	}

	reg := httpserver.NewRegistry()
	s.metrics = newMetrics(reg)
	s.dispatcher = notify.NewDispatcher(notify.DispatcherConfig{
		Queue:        s.store,
		Sender:       sender,
		Policy:       cfg.Retry,
		Observer:     s.metrics,
		Logger:       log,
		Workers:      cfg.Workers,
		PollInterval: cfg.PollInterval,
		// Twice the attempt timeout plus slack: an attempt that is still
		// running when its lease ends would be sent again by another worker.
		Lease: 2*cfg.AttemptTimeout + 30*time.Second,
	})

	nc, err := broker.Connect(cfg.NATSURL, Name)
	if err != nil {
		return nil, err
	}
	s.closers.Add(func() error { nc.Close(); return nil })
	js, err := nc.JetStream()
	if err != nil {
		return nil, fmt.Errorf("jetstream context: %w", err)
	}
	poison, err := broker.NewPublisher(cfg.NATSURL, broker.Logger(log))
	if err != nil {
		return nil, fmt.Errorf("poison publisher: %w", err)
	}
	s.closers.Add(poison.Close)
	s.router, err = broker.NewRouter(broker.RouterConfig{
		Service:  Name,
		Prefix:   cfg.TopicPrefix,
		NATSURL:  cfg.NATSURL,
		JS:       js,
		Poison:   poison,
		Registry: reg,
		Logger:   log,
	})
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	// Closing a router that never ran releases its subscribers; after Run
	// it does nothing.
	s.closers.Add(s.router.Close)
	if err = messaging.NewHandlers(s.store, s.dispatcher.Wake, log).Register(s.router); err != nil {
		return nil, err
	}

	api := httpapi.New(httpapi.Deps{
		Deliveries: s.store,
		Wake:       s.dispatcher.Wake,
		JWKS:       signing.JWKS{Keys: []signing.JWK{s.key.PublicJWK()}},
		AdminToken: cfg.AdminToken,
		Logger:     log,
	})
	handler := httpserver.Handler(reg, lifecycle.Checks(db, nc, s.router), api.Routes)
	if s.http, err = httpserver.Listen(cfg.HTTPAddr, handler, log); err != nil {
		return nil, err
	}
	s.closers.Add(s.http.Close)
	return s, nil
}

func (c Config) validate() error {
	var errs []error
	if c.DatabaseURL == "" || c.NATSURL == "" {
		errs = append(errs, errors.New("database and NATS URLs are required"))
	}
	if c.Workers < 1 || c.PollInterval <= 0 || c.AttemptTimeout <= 0 {
		errs = append(errs, errors.New("workers, poll interval and attempt timeout must be positive"))
	}
	if err := c.Retry.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("retry policy: %w", err))
	}
	return errors.Join(errs...)
}

// loadKey returns the configured key, or the key in the database (storing
// a freshly generated one first if there is none).
func (s *Service) loadKey(ctx context.Context) (signing.Key, error) {
	if s.cfg.SigningKey != nil {
		return signing.NewKey(s.cfg.SigningKeyID, s.cfg.SigningKey), nil
	}
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return signing.Key{}, err
	}
	candidate := signing.NewKey("", ed25519.NewKeyFromSeed(seed))
	kid, stored, err := s.store.SigningKey(ctx, candidate.ID, seed)
	if err != nil {
		return signing.Key{}, err
	}
	if len(stored) != ed25519.SeedSize {
		return signing.Key{}, fmt.Errorf("stored signing key %s has a %d-byte seed", kid, len(stored))
	}
	if kid == candidate.ID {
		s.log.Info("generated a webhook signing key and stored it in the database; set NOTIFIER_SIGNING_KEY to manage it yourself", "kid", kid)
	}
	return signing.NewKey(kid, ed25519.NewKeyFromSeed(stored)), nil
}

// Addr is the bound HTTP address.
func (s *Service) Addr() string { return s.http.Addr() }

// KeyID is the id of the webhook signing key in use.
func (s *Service) KeyID() string { return s.key.ID }

// Run consumes, dispatches and serves HTTP until ctx ends, then shuts down
// in the order every service shares (platform/lifecycle): the consumer
// stops taking messages and finishes the ones in hand, workers finish their
// attempts in flight and record them, HTTP drains, and finally the
// connections close.
func (s *Service) Run(ctx context.Context) error {
	return lifecycle.Run(ctx, lifecycle.Parts{
		Name:    Name,
		Logger:  s.log,
		HTTP:    s.http,
		Routers: []lifecycle.Router{s.router},
		Workers: []lifecycle.Worker{
			{Name: "dispatcher", Run: s.dispatcher.Run},
			{Name: "queue gauges", Run: lifecycle.Every(s.cfg.QueueGaugeInterval, s.refreshQueueGauges)},
		},
		Close:      s.closers.Close,
		ReadyAttrs: []any{"workers", s.cfg.Workers, "kid", s.key.ID},
	})
}

func (s *Service) refreshQueueGauges(ctx context.Context) {
	due, pending, err := s.store.QueueDepth(ctx, time.Now())
	if err == nil {
		s.metrics.due.Set(float64(due))
		s.metrics.pending.Set(float64(pending))
	} else if ctx.Err() == nil {
		s.log.Warn("measuring queue depth", "err", err)
	}
}
