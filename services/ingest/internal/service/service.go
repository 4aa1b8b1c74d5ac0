// Package service wires ingest together: Postgres store and migrations, the
// format registry, the outbox relay, the JetStream consumers and the HTTP
// edge, all stopped together on shutdown.
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

	"example.com/creativesync/events"
	"example.com/creativesync/platform/broker"
	"example.com/creativesync/platform/httpserver"
	"example.com/creativesync/platform/lifecycle"
	"example.com/creativesync/platform/outbox"
	"example.com/creativesync/platform/pgdb"
	"example.com/creativesync/services/ingest/internal/creative"
	"example.com/creativesync/services/ingest/internal/httpapi"
	"example.com/creativesync/services/ingest/internal/messaging"
	"example.com/creativesync/services/ingest/internal/postgres"
)

// Config is the wiring's input; main fills it from the environment.
type Config struct {
	DatabaseURL    string
	NATSURL        string
	HTTPAddr       string
	TopicPrefix    string
	AgentURLs      []string // first one is ours and is written into format ids
	IdempotencyTTL time.Duration
	MaxBodyBytes   int64
	OutboxPoll     time.Duration
	Version        string
}

// Service is a running ingest.
type Service struct {
	cfg    Config
	log    *slog.Logger
	db     *sqlx.DB
	nc     *nats.Conn
	pub    message.Publisher
	relay  *outbox.Relay
	router *broker.Router
	http   *httpserver.Server
	Store  *postgres.Store
}

// Open connects to Postgres, migrates, seeds the format registry and opens
// the store, without touching NATS. The admin command uses it.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*sqlx.DB, *postgres.Store, error) {
	db, err := pgdb.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, err
	}
	if err := postgres.Migrate(ctx, db, log); err != nil {
		db.Close()
		return nil, nil, err
	}
	store := postgres.New(db, cfg.TopicPrefix, log)
	defs, err := creative.StandardFormats(cfg.AgentURLs[0])
	if err == nil {
		err = store.SeedFormats(ctx, defs)
	}
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, store, nil
}

// New builds the service; Run starts it.
func New(ctx context.Context, cfg Config, log *slog.Logger) (_ *Service, err error) {
	s := &Service{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if s.db, s.Store, err = Open(ctx, cfg, log); err != nil {
		return nil, err
	}
	svc, err := creative.NewService(ctx, s.Store, creative.Options{IdempotencyTTL: cfg.IdempotencyTTL, AgentURLs: cfg.AgentURLs})
	if err != nil {
		return nil, err
	}
	if s.nc, err = broker.Connect(cfg.NATSURL, "ingest"); err != nil {
		return nil, err
	}
	js, err := s.nc.JetStream()
	if err != nil {
		return nil, err
	}
	// Every topic ingest publishes needs its stream before the relay runs.
	var topics []string
	for _, ev := range []events.Event{&events.CreativeSyncedV1{}, &events.CreativeArchivedV1{}, &events.NotificationRequestedV1{}} {
		topics = append(topics, broker.Topic(cfg.TopicPrefix, ev.EventName()))
	}
	if err := broker.EnsureStreams(js, topics...); err != nil {
		return nil, err
	}
	wlog := broker.Logger(log)
	if s.pub, err = broker.NewPublisher(cfg.NATSURL, wlog); err != nil {
		return nil, err
	}
	if s.relay, err = outbox.NewRelay(s.db.DB, s.pub, cfg.OutboxPoll, wlog); err != nil {
		return nil, err
	}
	reg := httpserver.NewRegistry()
	if s.router, err = broker.NewRouter(broker.RouterConfig{Service: "ingest", Prefix: cfg.TopicPrefix, NATSURL: cfg.NATSURL,
		JS: js, Poison: s.pub, Registry: reg, Logger: log}); err != nil {
		return nil, err
	}
	if err := messaging.Register(s.router, svc); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	httpserver.Ops(mux, reg,
		httpserver.Check{Name: "postgres", Fn: func(ctx context.Context) error { return s.db.PingContext(ctx) }},
		httpserver.Check{Name: "nats", Fn: func(context.Context) error {
			if !s.nc.IsConnected() {
				return errors.New("not connected")
			}
			return nil
		}},
	)
	httpapi.New(svc, httpapi.Config{MaxBodyBytes: cfg.MaxBodyBytes, Version: cfg.Version}, log).Routes(mux)
	if s.http, err = httpserver.Listen(cfg.HTTPAddr, mux, log); err != nil {
		return nil, err
	}
	return s, nil
}

// Addr is the HTTP listen address.
func (s *Service) Addr() string { return s.http.Addr() }

// Run serves until ctx ends, then shuts down in the order every service
// shares (platform/lifecycle): HTTP stops taking requests and drains while
// consumers finish their in-flight messages (their context is never
// cancelled early), the relay sends what both wrote and stops, and the
// connections close.
func (s *Service) Run(ctx context.Context) error {
	return lifecycle.Run(ctx, lifecycle.Parts{
		Name:    "ingest",
		Logger:  s.log,
		HTTP:    s.http,
		Routers: []lifecycle.Router{s.router},
		Workers: []lifecycle.Worker{{Name: "pruner", Run: lifecycle.Every(pruneInterval, s.prune)}},
		Relay:   s.relay,
		Backlog: func(ctx context.Context) (int64, error) { return outbox.Backlog(ctx, s.db.DB) },
		Close:   func() error { s.close(); return nil },
	})
}

// idempotencyTombstone is how long an expired idempotency key is still
// remembered, so a late retry gets IDEMPOTENCY_EXPIRED rather than running
// again; after that the row is deleted.
const idempotencyTombstone = 7 * 24 * time.Hour

// pruneInterval is how often prune runs.
const pruneInterval = 5 * time.Minute

// prune deletes relayed outbox rows and long-expired idempotency keys;
// neither table would otherwise stop growing.
func (s *Service) prune(ctx context.Context) {
	if n, err := outbox.Prune(ctx, s.db.DB); err != nil && ctx.Err() == nil {
		s.log.Warn("pruning outbox", "err", err)
	} else if n > 0 {
		s.log.Debug("pruned outbox", "rows", n)
	}
	if n, err := s.Store.PruneIdempotencyKeys(ctx, idempotencyTombstone); err != nil && ctx.Err() == nil {
		s.log.Warn("pruning idempotency keys", "err", err)
	} else if n > 0 {
		s.log.Debug("pruned idempotency keys", "rows", n)
	}
}

func (s *Service) close() {
	if s.http != nil {
		_ = s.http.Close() // a no-op once Serve has shut it down
	}
	if s.router != nil {
		_ = s.router.Close()
	}
	if s.relay != nil {
		_ = s.relay.Close()
	}
	if s.pub != nil {
		_ = s.pub.Close()
	}
	if s.nc != nil {
		s.nc.Close()
	}
	if s.db != nil {
		_ = s.db.Close()
	}
}

// String helps logs.
func (c Config) String() string {
	return fmt.Sprintf("http=%s nats=%s db=%s prefix=%q", c.HTTPAddr, c.NATSURL, pgdb.Redact(c.DatabaseURL), c.TopicPrefix)
}
