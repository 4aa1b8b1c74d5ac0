package main

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"time"

	"example.com/creativesync/platform/config"
	"example.com/creativesync/platform/signing"
	"example.com/creativesync/services/ingest/internal/drive"
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
	// CREATIVE_AGENT_URLS (optional, comma separated http(s) URLs): outside
	// creative agents whose formats buyers may use; their formats are
	// learned from their MCP list_creative_formats (at <url>/mcp).
	CreativeAgentURLs []string
	// CREATIVE_AGENT_REFRESH_INTERVAL (default 5m, 10s–24h): how often
	// those formats are fetched again.
	CreativeAgentRefresh time.Duration
	// OUTBOX_POLL_INTERVAL (default 50ms, 1ms–1m): how often the relay looks
	// for new outbox rows when no commit woke it (LISTEN connection down).
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
	// Drive creative_sync jobs (POST /api/external/creative_sync) run when
	// Drive has credentials: DRIVE_API_KEY (files shared by link) or
	// DRIVE_CREDENTIALS_FILE (a service account's JSON key). DRIVE_ENDPOINT
	// (default Google's) points the client elsewhere, e.g. a local
	// stand-in. ASSET_BUCKET_URL (default a directory .data/assets) keeps the
	// fetched files (gocloud.dev/blob URL). CREATIVE_SYNC_MAX_LINKS (100),
	// CREATIVE_SYNC_MAX_FOLDER_FILES (500) and CREATIVE_SYNC_MAX_FILE_BYTES
	// (512 MiB) bound a job. NOTIFIER_ALLOW_PRIVATE_TARGETS (the notifier's
	// development switch) also lets a job's webhook_url be http or private.
	Jobs service.JobsConfig
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

		// An agent URL is what format ids name and where MCP is called.
		CreativeAgentURLs:    env.URLList("CREATIVE_AGENT_URLS", "http", "https"),
		CreativeAgentRefresh: env.Duration("CREATIVE_AGENT_REFRESH_INTERVAL", 5*time.Minute, 10*time.Second, 24*time.Hour),
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
	c.Jobs = jobsConfig(env)
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
		CreativeAgentURLs: c.CreativeAgentURLs, CreativeAgentRefresh: c.CreativeAgentRefresh,
		Jobs: c.Jobs,
	}
}

func jobsConfig(env *config.Env) service.JobsConfig {
	j := service.JobsConfig{
		Drive: drive.Config{
			APIKey: env.String("DRIVE_API_KEY", ""),
		},
		MaxLinks:             env.Int("CREATIVE_SYNC_MAX_LINKS", 100, 1, 10000),
		MaxFolderFiles:       env.Int("CREATIVE_SYNC_MAX_FOLDER_FILES", 500, 1, 100000),
		MaxFileBytes:         int64(env.Int("CREATIVE_SYNC_MAX_FILE_BYTES", 512<<20, 1024, config.NoMaxInt)),
		AllowPrivateWebhooks: env.Bool("NOTIFIER_ALLOW_PRIVATE_TARGETS", false),
	}
	if env.String("DRIVE_ENDPOINT", "") != "" {
		j.Drive.Endpoint = env.URL("DRIVE_ENDPOINT", "", "http", "https")
	}
	if path := env.String("DRIVE_CREDENTIALS_FILE", ""); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			env.Problem("DRIVE_CREDENTIALS_FILE %s cannot be read: %v", path, err)
		}
		j.Drive.CredentialsJSON = b
	}
	dir, err := filepath.Abs(filepath.Join(".data", "assets"))
	if err != nil {
		env.Problem("the default asset directory cannot be resolved: %v", err)
	}
	j.AssetBucketURL = env.String("ASSET_BUCKET_URL", "file://"+filepath.ToSlash(dir)+"?create_dir=true")
	return j
}
