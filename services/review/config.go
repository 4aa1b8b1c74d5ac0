package main

import (
	"example.com/creativesync/platform/config"
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
//	OUTBOX_POLL_INTERVAL           how often the relay looks for new events when no commit
//	                               woke it (default 50ms, 1ms–1m)
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
// The shared variables are read and checked by platform/config. Tenants
// override the thresholds with PUT /api/v1/policies/{account_id}.
type Config struct {
	LogLevel string
	Service  service.Config
}

func loadConfig(getenv func(string) string) (Config, error) {
	env := config.New(getenv)
	common := env.Service("127.0.0.1:8081", "review")
	cfg := Config{
		LogLevel: common.LogLevel,
		Service: service.Config{
			DatabaseURL:        common.DatabaseURL,
			NATSURL:            common.NATSURL,
			HTTPAddr:           common.HTTPAddr,
			TopicPrefix:        common.TopicPrefix,
			OutboxPollInterval: env.OutboxPollInterval(),
			ReviewerToken:      env.String("REVIEWER_TOKEN", ""),
			Thresholds: review.Thresholds{
				Approve: env.Float("REVIEW_AUTO_APPROVE_THRESHOLD", review.DefaultApproveThreshold, 0, 1),
				Reject:  env.Float("REVIEW_AUTO_REJECT_THRESHOLD", review.DefaultRejectThreshold, 0, 1),
			},
			Categories: review.DefaultCategories(),
		},
	}
	// Compared only when each threshold parsed, so a typo is not also
	// reported as a contradiction.
	if t := cfg.Service.Thresholds; env.Err() == nil && t.Validate() != nil {
		env.Problem("REVIEW_AUTO_REJECT_THRESHOLD (%v) must be below REVIEW_AUTO_APPROVE_THRESHOLD (%v)", t.Reject, t.Approve)
	}
	if s := env.String("REVIEW_SENSITIVE_KEYWORDS", ""); s != "" {
		cats, err := review.ParseCategories(s)
		if err != nil {
			env.Problem("REVIEW_SENSITIVE_KEYWORDS: %v", err)
		}
		cfg.Service.Categories = cats
	}
	if err := env.Err(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}
