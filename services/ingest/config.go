package main

import (
	"time"

	"example.com/creativesync/platform/config"
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
	// for new outbox rows when no commit woke it (LISTEN connection down).
	OutboxPoll time.Duration
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
	}
}
