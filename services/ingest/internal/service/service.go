// Package service wires ingest together: Postgres store and migrations, the
// format registry, the outbox relay, the JetStream consumers and the HTTP
// edge, all stopped together on shutdown.
package service

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/broker"
	"example.com/creativesync/platform/httpserver"
	"example.com/creativesync/platform/lifecycle"
	"example.com/creativesync/platform/outbox"
	"example.com/creativesync/platform/pgdb"
	"example.com/creativesync/platform/signing"
	"example.com/creativesync/services/ingest/internal/adcp"
	"example.com/creativesync/services/ingest/internal/assets"
	"example.com/creativesync/services/ingest/internal/challenge"
	"example.com/creativesync/services/ingest/internal/creative"
	"example.com/creativesync/services/ingest/internal/creativeagent"
	"example.com/creativesync/services/ingest/internal/drive"
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

	// SandboxDeployment lets comply_test_controller act on every account
	// (a sandbox/staging deployment), not only sandbox accounts.
	SandboxDeployment bool
	// WebhookSigningKey signs subscriber challenges (RFC 9421); give it the
	// notifier's seed so buyers verify both against one key. Nil generates
	// a key per process, published at /.well-known/jwks.json.
	WebhookSigningKey   ed25519.PrivateKey
	WebhookSigningKeyID string
	// WebhookAllowPrivateTargets lets challenges reach loopback and private
	// addresses (dev and tests).
	WebhookAllowPrivateTargets bool
	// ChallengeClient sends challenges (tests give one trusting their TLS
	// server); nil is a plain client.
	ChallengeClient *http.Client
	// CoalesceWindow holds creative.status_changed fires so transitions of
	// one creative within it reach a subscriber as one; 0 fires at once.
	CoalesceWindow time.Duration
	// CreativeAgentURLs are the outside creative agents whose formats are
	// accepted; their formats are learned over MCP and refreshed every
	// CreativeAgentRefresh.
	CreativeAgentURLs    []string
	CreativeAgentRefresh time.Duration
	// Drive creative_sync jobs: on when Drive has credentials.
	Jobs JobsConfig
}

// JobsConfig wires Drive creative_sync jobs.
type JobsConfig struct {
	Drive drive.Config
	// AssetBucketURL is where fetched files are kept (gocloud.dev/blob URL);
	// they are served at <AgentURLs[0]>/assets/{key}.
	AssetBucketURL       string
	MaxLinks             int
	MaxFolderFiles       int
	MaxFileBytes         int64
	AllowPrivateWebhooks bool
}

// enabled reports whether Drive has credentials to read with.
func (j JobsConfig) enabled() bool {
	return j.AssetBucketURL != "" && (j.Drive.APIKey != "" || len(j.Drive.CredentialsJSON) > 0 || j.Drive.HTTPClient != nil)
}

// creativeAgentTimeout bounds one agent's list_creative_formats refresh,
// so an agent that hangs delays neither start-up nor the next refresh much.
const creativeAgentTimeout = 10 * time.Second

// Name names the service's durable consumers (ingest_<handler>) and its
// NATS connection.
const Name = "ingest"

// Service is a running ingest.
type Service struct {
	cfg     Config
	log     *slog.Logger
	db      *sqlx.DB
	relay   *outbox.Relay
	router  *broker.Router
	http    *httpserver.Server
	closers lifecycle.Closers
	Store   *postgres.Store
	// Domain runs the use cases; operator actions (account approval) and
	// tests call it directly.
	Domain *creative.Service
	agents *creativeagent.Refresher
}

// Open connects to Postgres, migrates, seeds the format registry and opens
// the store, without touching NATS. The admin command uses it.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*sqlx.DB, *postgres.Store, error) {
	db, err := pgdb.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, err
	}
	if err := postgres.Migrate(ctx, db); err != nil {
		return nil, nil, errors.Join(err, db.Close())
	}
	store := postgres.New(db, cfg.TopicPrefix, log)
	defs, err := creative.StandardFormats(cfg.AgentURLs[0])
	if err == nil {
		err = store.SeedFormats(ctx, defs)
	}
	if err != nil {
		return nil, nil, errors.Join(err, db.Close())
	}
	return db, store, nil
}

// Produces lists the events ingest publishes; each needs its stream before
// the relay runs (an event without a stream would be retried forever).
func Produces() []events.Event {
	return []events.Event{&events.CreativeSyncedV1{}, &events.CreativeArchivedV1{}, &events.NotificationRequestedV1{},
		&events.CreativeStatusChangedV1{}, &events.CreativeSyncFileRequestedV1{}}
}

// New connects to Postgres and NATS, migrates, seeds the format registry,
// provisions streams and durable consumers, and binds the HTTP listener.
// Nothing is consumed or served until Run.
func New(ctx context.Context, cfg Config, log *slog.Logger) (_ *Service, err error) {
	s := &Service{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.closers.Close())
		}
	}()
	if s.db, s.Store, err = Open(ctx, cfg, log); err != nil {
		return nil, err
	}
	s.closers.Add(s.db.Close)
	key := cfg.WebhookSigningKey
	if key == nil {
		// A per-process key still proves endpoints; buyers then verify the
		// challenge against this ingest's own JWKS.
		_, key, err = ed25519.GenerateKey(nil)
		if err != nil {
			return nil, fmt.Errorf("generating the challenge signing key: %w", err)
		}
		log.Warn("no WEBHOOK_SIGNING_KEY: subscriber challenges are signed with a generated key (see /.well-known/jwks.json)")
	}
	signKey := signing.NewKey(cfg.WebhookSigningKeyID, key)
	signer, err := signing.NewWebhookSigner(signKey, signing.MaxValidity, nil)
	if err != nil {
		return nil, err
	}
	prover := challenge.New(cfg.ChallengeClient, signer, cfg.AgentURLs[0], cfg.WebhookAllowPrivateTargets)
	agents := creative.NewAgentFormats(cfg.CreativeAgentURLs)
	s.agents = &creativeagent.Refresher{Agents: agents, Cache: s.Store, Log: log, Timeout: creativeAgentTimeout,
		Client: &creativeagent.Client{HTTP: &http.Client{Timeout: creativeAgentTimeout}, Version: cfg.Version}}
	// Start from what the agents last listed, then ask them, before
	// serving, so the first sync naming one is not refused; an agent that
	// is down only delays start-up by the timeout and is reported by
	// /readyz while its stored formats are served.
	if err := s.agents.Restore(ctx); err != nil {
		return nil, err
	}
	s.agents.Refresh(ctx)
	jobs := creative.JobOptions{MaxLinks: cfg.Jobs.MaxLinks, MaxFolderFiles: cfg.Jobs.MaxFolderFiles, MaxFileBytes: cfg.Jobs.MaxFileBytes}
	var assetStore *assets.Store
	if cfg.Jobs.AssetBucketURL != "" {
		if assetStore, err = assets.Open(ctx, cfg.Jobs.AssetBucketURL, strings.TrimRight(cfg.AgentURLs[0], "/")+"/assets/"); err != nil {
			return nil, err
		}
		s.closers.Add(assetStore.Close)
	}
	if cfg.Jobs.enabled() {
		dc, err := drive.New(ctx, cfg.Jobs.Drive)
		if err != nil {
			return nil, err
		}
		jobs.Files, jobs.Assets = drive.Source{C: dc}, assetStore
	}
	svc, err := creative.NewService(ctx, s.Store, creative.Options{IdempotencyTTL: cfg.IdempotencyTTL, AgentURLs: cfg.AgentURLs,
		Agents: agents, EncodeResult: adcp.EncodeTaskResult, Jobs: jobs,
		SandboxDeployment: cfg.SandboxDeployment, Prover: prover, CoalesceWindow: cfg.CoalesceWindow})
	if err != nil {
		return nil, err
	}
	s.Domain = svc
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
	if err := broker.EnsureStreams(js, topics...); err != nil {
		return nil, err
	}
	wlog := broker.Logger(log)
	pub, err := broker.NewPublisher(cfg.NATSURL, wlog)
	if err != nil {
		return nil, fmt.Errorf("JetStream publisher: %w", err)
	}
	s.closers.Add(pub.Close)
	// The relay publishes through js asynchronously and wakes on the
	// NOTIFY of each commit, on its own connection to DatabaseURL; the poll
	// interval is the fallback while that connection is down.
	relayCfg := outbox.RelayConfig{DSN: cfg.DatabaseURL, Poll: cfg.OutboxPoll}
	if s.relay, err = outbox.NewRelay(s.db.DB, js, relayCfg, wlog); err != nil {
		return nil, fmt.Errorf("outbox relay: %w", err)
	}
	s.closers.Add(s.relay.Close)
	reg := httpserver.NewRegistry()
	if s.router, err = broker.NewRouter(broker.RouterConfig{Service: Name, Prefix: cfg.TopicPrefix, NATSURL: cfg.NATSURL,
		JS: js, Poison: pub, Registry: reg, Logger: log}); err != nil {
		return nil, fmt.Errorf("message router: %w", err)
	}
	// Closing a router that never ran releases its subscribers; after Run
	// it does nothing.
	s.closers.Add(s.router.Close)
	if err := messaging.NewHandlers(svc).Register(s.router); err != nil {
		return nil, err
	}
	apiCfg := httpapi.Config{MaxBodyBytes: cfg.MaxBodyBytes, Version: cfg.Version,
		JWKS: signing.JWKS{Keys: []signing.JWK{signKey.PublicJWK()}},
		Jobs: adcp.JobRules{MaxLinks: svc.MaxJobLinks(), AllowPrivateWebhooks: cfg.Jobs.AllowPrivateWebhooks}}
	if assetStore != nil {
		apiCfg.Assets = assetStore
	}
	api := httpapi.New(svc, apiCfg, log)
	checks := lifecycle.Checks(s.db, nc, s.router)
	if len(cfg.CreativeAgentURLs) > 0 {
		checks = append(checks, httpserver.Check{Name: "creative_agents", Degraded: true,
			Fn: func(context.Context) error { return agents.Health() }})
	}
	handler := httpserver.Handler(reg, checks, api.Routes)
	if s.http, err = httpserver.Listen(cfg.HTTPAddr, handler, log); err != nil {
		return nil, err
	}
	s.closers.Add(s.http.Close)
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
		Name:       Name,
		Logger:     s.log,
		HTTP:       s.http,
		Routers:    []lifecycle.Router{s.router},
		Workers:    s.workers(),
		Relay:      s.relay,
		Backlog:    func(ctx context.Context) (int64, error) { return outbox.Backlog(ctx, s.db.DB) },
		Close:      s.closers.Close,
		ReadyAttrs: []any{"topic_prefix", s.cfg.TopicPrefix},
	})
}

func (s *Service) workers() []lifecycle.Worker {
	ws := []lifecycle.Worker{{Name: "pruner", Run: lifecycle.Every(pruneInterval, s.prune)},
		{Name: "lifecycle-fires", Run: lifecycle.Every(s.flushInterval(), s.flushFires)}}
	if len(s.cfg.CreativeAgentURLs) == 0 {
		return ws
	}
	interval := s.cfg.CreativeAgentRefresh
	if interval <= 0 {
		interval = 5 * time.Minute
	}
	// New refreshed once already; Every runs at once, so skip that run.
	started := false
	return append(ws, lifecycle.Worker{Name: "creative agent formats", Run: lifecycle.Every(interval, func(ctx context.Context) {
		if started {
			s.agents.Refresh(ctx)
		}
		started = true
	})})
}

// idempotencyTombstone is how long an expired idempotency key is still
// remembered, so a late retry gets IDEMPOTENCY_EXPIRED rather than running
// again; after that the row is deleted.
const idempotencyTombstone = 7 * 24 * time.Hour

// pruneInterval is how often prune runs.
const pruneInterval = 5 * time.Minute

// prune deletes relayed outbox rows and long-expired idempotency keys;
// neither table would otherwise stop growing.
// flushInterval is how often coalesced fires are looked for: a quarter of
// the window, between 50 ms and 5 s (and rarely when nothing coalesces).
func (s *Service) flushInterval() time.Duration {
	if s.cfg.CoalesceWindow <= 0 {
		return time.Minute // rows can only be left from an earlier configuration
	}
	return min(max(s.cfg.CoalesceWindow/4, 50*time.Millisecond), 5*time.Second)
}

func (s *Service) flushFires(ctx context.Context) {
	for {
		n, err := s.Domain.FlushFires(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("sending coalesced lifecycle webhooks", "err", err)
			}
			return
		}
		if n < 100 { // a full batch means more may be due
			return
		}
	}
}

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

// String helps logs.
func (c Config) String() string {
	return fmt.Sprintf("http=%s nats=%s db=%s prefix=%q", c.HTTPAddr, c.NATSURL, pgdb.Redact(c.DatabaseURL), c.TopicPrefix)
}
