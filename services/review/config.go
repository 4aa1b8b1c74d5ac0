package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"example.com/creativesync/platform/pgdb"
	"example.com/creativesync/services/review/internal/review"
	"example.com/creativesync/services/review/internal/service"
)

// Config is the review service's configuration, read from the environment:
//
//	DATABASE_URL                   required; the review service's own Postgres database,
//	                               postgres://user:pass@host:5432/review?sslmode=disable
//	NATS_URL                       JetStream server (default nats://127.0.0.1:4222)
//	HTTP_ADDR                      listen address of the reviewer API, reviewer page,
//	                               /healthz, /readyz and /metrics (default 127.0.0.1:8081)
//	TOPIC_PREFIX                   prefix of every stream and subject, to run several
//	                               stacks on one NATS server (default "")
//	LOG_LEVEL                      debug, info, warn or error (default info)
//	OUTBOX_POLL_INTERVAL           how often the relay looks for new events; decisions reach
//	                               JetStream about half of it after commit (default 50ms)
//	REVIEW_AUTO_APPROVE_THRESHOLD  default approve threshold: a score (probability of
//	                               compliance) at or above it is approved (default 0.9)
//	REVIEW_AUTO_REJECT_THRESHOLD   default reject threshold: a score below it is rejected;
//	                               must be below the approve threshold (default 0.1)
//	REVIEW_SENSITIVE_KEYWORDS      categories always sent to a person, as
//	                               "political=vote,election;health=clinic" (default: a built-in
//	                               political/health/finance list)
//	REVIEWER_TOKEN                 bearer token of the reviewer API and page; unset disables
//	                               both (their routes answer 404) (default unset)
//
// Tenants override the thresholds with PUT /api/v1/policies/{account_id}.
type Config struct {
	LogLevel string
	Service  service.Config
}

func loadConfig(getenv func(string) string) (Config, error) {
	env := func(key, def string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		return def
	}
	cfg := Config{
		LogLevel: strings.ToLower(env("LOG_LEVEL", "info")),
		Service: service.Config{
			DatabaseURL:   env("DATABASE_URL", ""),
			NATSURL:       env("NATS_URL", "nats://127.0.0.1:4222"),
			HTTPAddr:      env("HTTP_ADDR", "127.0.0.1:8081"),
			TopicPrefix:   env("TOPIC_PREFIX", ""),
			ReviewerToken: getenv("REVIEWER_TOKEN"),
		},
	}
	var errs []error
	if cfg.Service.DatabaseURL == "" {
		errs = append(errs, errors.New("DATABASE_URL is required (postgres://user@host:5432/review?sslmode=disable)"))
	} else if _, err := pgdb.WithDatabase(cfg.Service.DatabaseURL, "x"); err != nil {
		errs = append(errs, fmt.Errorf("DATABASE_URL: %w", err))
	}
	if !strings.HasPrefix(cfg.Service.NATSURL, "nats://") && !strings.HasPrefix(cfg.Service.NATSURL, "tls://") {
		errs = append(errs, fmt.Errorf("NATS_URL must start with nats:// or tls://, got %q", cfg.Service.NATSURL))
	}
	switch cfg.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("LOG_LEVEL must be debug, info, warn or error, got %q", cfg.LogLevel))
	}
	if strings.ContainsAny(cfg.Service.TopicPrefix, ".*> \t") {
		errs = append(errs, fmt.Errorf("TOPIC_PREFIX %q may not contain dots, wildcards or spaces: it becomes part of stream names", cfg.Service.TopicPrefix))
	}

	poll, err := time.ParseDuration(env("OUTBOX_POLL_INTERVAL", "50ms"))
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("OUTBOX_POLL_INTERVAL: %w", err))
	case poll < time.Millisecond || poll > time.Minute:
		errs = append(errs, fmt.Errorf("OUTBOX_POLL_INTERVAL must be between 1ms and 1m, got %s", poll))
	}
	cfg.Service.OutboxPollInterval = poll

	approve, err := parseThreshold(env("REVIEW_AUTO_APPROVE_THRESHOLD", ""), review.DefaultApproveThreshold)
	if err != nil {
		errs = append(errs, fmt.Errorf("REVIEW_AUTO_APPROVE_THRESHOLD: %w", err))
	}
	reject, err := parseThreshold(env("REVIEW_AUTO_REJECT_THRESHOLD", ""), review.DefaultRejectThreshold)
	if err != nil {
		errs = append(errs, fmt.Errorf("REVIEW_AUTO_REJECT_THRESHOLD: %w", err))
	}
	cfg.Service.Thresholds = review.Thresholds{Approve: approve, Reject: reject}
	if len(errs) == 0 {
		if err := cfg.Service.Thresholds.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("REVIEW_AUTO_REJECT_THRESHOLD (%v) must be below REVIEW_AUTO_APPROVE_THRESHOLD (%v)", reject, approve))
		}
	}

	cfg.Service.Categories = review.DefaultCategories()
	if s := env("REVIEW_SENSITIVE_KEYWORDS", ""); s != "" {
		cats, err := review.ParseCategories(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("REVIEW_SENSITIVE_KEYWORDS: %w", err))
		}
		cfg.Service.Categories = cats
	}

	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, nil
}

func parseThreshold(s string, def float64) (float64, error) {
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if v < 0 || v > 1 || v != v {
		return 0, fmt.Errorf("%v is outside [0, 1]", v)
	}
	return v, nil
}
