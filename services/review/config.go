package main

import (
	"strings"
	"time"

	"example.com/creativesync/platform/config"
	"example.com/creativesync/services/review/internal/httpapi"
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
//	REVIEWER_TOKEN                 development only: a shared API token acting as an admin,
//	                               recorded as "shared-token (development)"; the page never
//	                               accepts it (default unset: only reviewers' own tokens)
//	REVIEW_OIDC_ISSUER             OpenID Connect issuer URL; with the next three it turns on
//	                               "sign in with …" on the page (default unset)
//	REVIEW_OIDC_CLIENT_ID          client id registered at the provider
//	REVIEW_OIDC_CLIENT_SECRET      its secret
//	REVIEW_OIDC_REDIRECT_URL       this service's /reviews/oidc/callback as browsers reach it
//	REVIEW_OIDC_NAME               provider name on the button (default "your identity provider")
//	REVIEW_CLASSIFIER_URL          http(s) URL of an external classifier consulted after the
//	                               rules; its failure holds the creative for a person (default unset)
//	REVIEW_CLASSIFIER_TIMEOUT      deadline of one classifier call (default 2s, 50ms–5s; one
//	                               review has 10s in all)
//
// The shared variables are read and checked by platform/config. Tenants
// set their content standards with PUT /api/v1/policies/{account_id}.
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
			Categories:        review.DefaultCategories(),
			ClassifierTimeout: env.Duration("REVIEW_CLASSIFIER_TIMEOUT", 2*time.Second, 50*time.Millisecond, 5*time.Second),
			// Sellers want to know what an asset really is, so inspection is
			// on unless turned off (the development stack and the end-to-end
			// tests turn it off: their asset URLs are placeholders).
			Assets: service.AssetsConfig{
				Inspect:      env.Bool("REVIEW_INSPECT_ASSETS", true),
				AllowPrivate: env.Bool("REVIEW_ASSET_ALLOW_PRIVATE", false),
				Timeout:      env.Duration("REVIEW_ASSET_TIMEOUT", 10*time.Second, 100*time.Millisecond, 2*time.Minute),
				MaxBytes:     int64(env.Int("REVIEW_ASSET_MAX_BYTES", 50<<20, 1024, config.NoMaxInt)),
			},
		},
	}
	if env.String("REVIEW_CLASSIFIER_URL", "") != "" {
		cfg.Service.ClassifierURL = env.URL("REVIEW_CLASSIFIER_URL", "", "http", "https")
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
	oidcVars := []string{"REVIEW_OIDC_ISSUER", "REVIEW_OIDC_CLIENT_ID", "REVIEW_OIDC_CLIENT_SECRET", "REVIEW_OIDC_REDIRECT_URL"}
	var set, missing []string
	for _, k := range oidcVars {
		if env.String(k, "") != "" {
			set = append(set, k)
		} else {
			missing = append(missing, k)
		}
	}
	switch {
	case len(set) == len(oidcVars):
		cfg.Service.OIDC = &httpapi.OIDCConfig{
			Issuer:       env.URL("REVIEW_OIDC_ISSUER", "", "https", "http"),
			ClientID:     env.String("REVIEW_OIDC_CLIENT_ID", ""),
			ClientSecret: env.String("REVIEW_OIDC_CLIENT_SECRET", ""),
			RedirectURL:  env.URL("REVIEW_OIDC_REDIRECT_URL", "", "https", "http"),
			Name:         env.String("REVIEW_OIDC_NAME", ""),
		}
		if u := cfg.Service.OIDC.RedirectURL; env.Err() == nil && !strings.HasSuffix(strings.TrimRight(u, "/"), "/reviews/oidc/callback") {
			env.Problem("REVIEW_OIDC_REDIRECT_URL %q must end in /reviews/oidc/callback, where this service receives the answer", u)
		}
	case len(set) > 0:
		env.Problem("OIDC sign-in needs all of %s; %s unset", strings.Join(oidcVars, ", "), strings.Join(missing, ", "))
	}
	if err := env.Err(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}
