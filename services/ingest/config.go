package main

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"example.com/creativesync/services/ingest/internal/service"
)

// Config is ingest's environment, validated at start.
type Config struct {
	// DATABASE_URL (required): ingest's own Postgres database.
	DatabaseURL string
	// NATS_URL (default nats://127.0.0.1:4222): JetStream server.
	NATSURL string
	// HTTP_ADDR (default 127.0.0.1:8080): REST, MCP (/mcp) and ops endpoints.
	HTTPAddr string
	// TOPIC_PREFIX (default empty): prefix for every stream/topic, to run
	// several pipelines on one NATS server.
	TopicPrefix string
	// LOG_LEVEL (default info): debug, info, warn or error.
	LogLevel string
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
	// OUTBOX_POLL_INTERVAL (default 50ms): how often the relay looks for new
	// outbox rows; commit-to-publish latency is about half of it.
	OutboxPoll time.Duration
}

func loadConfig(getenv func(string) string) (Config, error) {
	get := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	var errs []error
	c := Config{
		DatabaseURL: get("DATABASE_URL", ""),
		NATSURL:     get("NATS_URL", "nats://127.0.0.1:4222"),
		HTTPAddr:    get("HTTP_ADDR", "127.0.0.1:8080"),
		TopicPrefix: get("TOPIC_PREFIX", ""),
		LogLevel:    get("LOG_LEVEL", "info"),
	}
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("DATABASE_URL is required (postgres://user@host:port/db)"))
	}
	c.PublicBaseURL = get("PUBLIC_BASE_URL", "http://"+c.HTTPAddr)
	if u, err := url.Parse(c.PublicBaseURL); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		errs = append(errs, fmt.Errorf("PUBLIC_BASE_URL %q must be an absolute http(s) URL", c.PublicBaseURL))
	}
	for _, u := range strings.Split(get("SELLER_AGENT_URLS", ""), ",") {
		if u = strings.TrimSpace(u); u != "" {
			c.ExtraAgentURLs = append(c.ExtraAgentURLs, u)
		}
	}
	dur := func(k, def string, lo, hi time.Duration) time.Duration {
		d, err := time.ParseDuration(get(k, def))
		if err != nil || d < lo || d > hi {
			errs = append(errs, fmt.Errorf("%s must be a duration between %s and %s", k, lo, hi))
		}
		return d
	}
	c.IdempotencyTTL = dur("IDEMPOTENCY_TTL", "24h", time.Hour, 168*time.Hour)
	c.OutboxPoll = dur("OUTBOX_POLL_INTERVAL", "50ms", time.Millisecond, 10*time.Second)
	n, err := strconv.ParseInt(get("MAX_BODY_BYTES", "4194304"), 10, 64)
	if err != nil || n < 1024 {
		errs = append(errs, errors.New("MAX_BODY_BYTES must be an integer of at least 1024"))
	}
	c.MaxBodyBytes = n
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("LOG_LEVEL %q must be debug, info, warn or error", c.LogLevel))
	}
	return c, errors.Join(errs...)
}

func (c Config) service(version string) service.Config {
	return service.Config{
		DatabaseURL: c.DatabaseURL, NATSURL: c.NATSURL, HTTPAddr: c.HTTPAddr, TopicPrefix: c.TopicPrefix,
		AgentURLs:      append([]string{c.PublicBaseURL}, c.ExtraAgentURLs...),
		IdempotencyTTL: c.IdempotencyTTL, MaxBodyBytes: c.MaxBodyBytes, OutboxPoll: c.OutboxPoll, Version: version,
	}
}
