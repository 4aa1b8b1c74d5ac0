package main

import (
	"crypto/ed25519"
	"time"

	"example.com/creativesync/platform/config"
	"example.com/creativesync/platform/signing"
	"example.com/creativesync/services/ingest/internal/service"
)

// Config is ingest's environment, validated at start. The variables every
// service shares are read and checked by platform/config.
type Config struct {
	// Service holds DATABASE_URL (required), NATS_URL, HTTP_ADDR (default
	// 127.0.0.1:8080: REST, MCP at /mcp and the ops endpoints), TOPIC_PREFIX
	// and LOG_LEVEL.
	config.Service
	// PUBLIC_BASE_URL (default http://<HTTP_ADDR>): this agent's URL as
	// buyers reach it; it is the agent_url of our formats.
	PublicBaseURL string
	// SELLER_AGENT_URLS (optional, comma separated): further agent URLs whose
	// format ids we accept as our own (aliases, the AdCP standard creative
	// agent, a test suite's placeholder URL).
	ExtraAgentURLs []string
	// IDEMPOTENCY_TTL (default 24h, 1h–168h): replay window declared in
	// get_adcp_capabilities.
	IdempotencyTTL time.Duration
	// MAX_BODY_BYTES (default 4194304): request body cap.
	MaxBodyBytes int64
	// OUTBOX_POLL_INTERVAL (default 50ms, 1ms–1m): how often the relay looks
	// for new outbox rows; commit-to-publish latency is about half of it.
	OutboxPoll time.Duration
	// SANDBOX_DEPLOYMENT (default false): this deployment is a sandbox or
	// staging one, so comply_test_controller acts on every account of the
	// caller; otherwise only on sandbox accounts.
	SandboxDeployment bool
	// WEBHOOK_SIGNING_KEY (default unset: a key per process) and
	// WEBHOOK_SIGNING_KEY_ID: the Ed25519 seed (base64) and key id that
	// subscriber challenges are signed with; use the notifier's
	// NOTIFIER_SIGNING_KEY so buyers verify both with one key.
	WebhookSigningKey   ed25519.PrivateKey
	WebhookSigningKeyID string
	// WEBHOOK_ALLOW_PRIVATE_TARGETS (default false): challenges may reach
	// loopback and private addresses (dev and tests only).
	WebhookAllowPrivateTargets bool
	// LIFECYCLE_COALESCE_WINDOW (default 0s, at most 5m): creative status
	// changes of one creative within it reach a subscriber as one
	// creative.status_changed; 0 sends each at once.
	CoalesceWindow time.Duration
}

func loadConfig(getenv func(string) string) (Config, error) {
	env := config.New(getenv)
	common := env.Service("127.0.0.1:8080", "ingest")
	c := Config{
		Service: common,
		// The agent URL is what buyers put in format ids, so it must be a
		// URL they can reach: absolute, http(s), with a host.
		PublicBaseURL:  env.URL("PUBLIC_BASE_URL", "http://"+common.HTTPAddr, "http", "https"),
		ExtraAgentURLs: env.List("SELLER_AGENT_URLS"),
		IdempotencyTTL: env.Duration("IDEMPOTENCY_TTL", 24*time.Hour, time.Hour, 168*time.Hour),
		MaxBodyBytes:   int64(env.Int("MAX_BODY_BYTES", 4<<20, 1024, config.NoMaxInt)),
		OutboxPoll:     env.OutboxPollInterval(),

		SandboxDeployment: env.Bool("SANDBOX_DEPLOYMENT", false),

		WebhookSigningKeyID:        env.String("WEBHOOK_SIGNING_KEY_ID", ""),
		WebhookAllowPrivateTargets: env.Bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", false),
		CoalesceWindow:             env.Duration("LIFECYCLE_COALESCE_WINDOW", 0, 0, 5*time.Minute),
	}
	if seed := env.String("WEBHOOK_SIGNING_KEY", ""); seed != "" {
		key, err := signing.ParseSeed(seed)
		if err != nil {
			env.Problem("WEBHOOK_SIGNING_KEY: %v", err)
		}
		c.WebhookSigningKey = key
	} else if c.WebhookSigningKeyID != "" {
		env.Problem("WEBHOOK_SIGNING_KEY_ID is set without WEBHOOK_SIGNING_KEY")
	}
	if c.WebhookSigningKeyID != "" && !signing.ValidKeyID(c.WebhookSigningKeyID) {
		env.Problem("WEBHOOK_SIGNING_KEY_ID must be 1–256 printable ASCII characters without quotes or backslashes")
	}
	if err := env.Err(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func (c Config) service(version string) service.Config {
	return service.Config{
		DatabaseURL: c.DatabaseURL, NATSURL: c.NATSURL, HTTPAddr: c.HTTPAddr, TopicPrefix: c.TopicPrefix,
		AgentURLs:      append([]string{c.PublicBaseURL}, c.ExtraAgentURLs...),
		IdempotencyTTL: c.IdempotencyTTL, MaxBodyBytes: c.MaxBodyBytes, OutboxPoll: c.OutboxPoll, Version: version,
		SandboxDeployment: c.SandboxDeployment,
		WebhookSigningKey: c.WebhookSigningKey, WebhookSigningKeyID: c.WebhookSigningKeyID,
		WebhookAllowPrivateTargets: c.WebhookAllowPrivateTargets, CoalesceWindow: c.CoalesceWindow,
	}
}
