package main

import (
	"crypto/ed25519"
	"time"

	"example.com/creativesync/platform/config"
	"example.com/creativesync/platform/signing"
	"example.com/creativesync/services/notifier/internal/notify"
	"example.com/creativesync/services/notifier/internal/service"
)

// Config is the notifier's configuration, read from the environment.
// Durations use Go syntax (500ms, 10s, 1h). The variables every service
// shares are read and checked by platform/config.
type Config struct {
	// Service holds DATABASE_URL (required), NATS_URL, HTTP_ADDR (default
	// 127.0.0.1:8082: /healthz, /readyz, /metrics, /.well-known/jwks.json
	// and the operator API), TOPIC_PREFIX and LOG_LEVEL.
	config.Service
	// AdminToken (ADMIN_TOKEN, default unset) is the bearer token for
	// /api/v1/deliveries…; when unset those endpoints are disabled and answer 404.
	AdminToken string

	// Workers (NOTIFIER_WORKERS, default 4) is how many attempts run at once
	// in this process. Replicas add their own workers.
	Workers int
	// PollInterval (NOTIFIER_POLL_INTERVAL, default 1s) is how often idle
	// workers look for due retries; new notifications wake them at once.
	PollInterval time.Duration
	// AttemptTimeout (NOTIFIER_ATTEMPT_TIMEOUT, default 10s) bounds one HTTP
	// attempt: connect, TLS, request and response.
	AttemptTimeout time.Duration
	// RetryBaseDelay (NOTIFIER_RETRY_BASE_DELAY, default 1s) is the wait after
	// the first failure; it doubles per failure, with ±20% jitter.
	RetryBaseDelay time.Duration
	// RetryMaxDelay (NOTIFIER_RETRY_MAX_DELAY, default 1h) caps that wait.
	RetryMaxDelay time.Duration
	// MaxRetryAfter (NOTIFIER_MAX_RETRY_AFTER, default 1h) caps how far a
	// receiver's Retry-After header can push the next attempt.
	MaxRetryAfter time.Duration
	// MaxAge (NOTIFIER_MAX_AGE, default 24h) is the retry horizon: a delivery
	// whose next attempt would fall later becomes dead. AdCP receivers keep
	// dedup state for 24 h, so do not raise it past that.
	MaxAge time.Duration
	// MaxAttempts (NOTIFIER_MAX_ATTEMPTS, default 40) ends retries after this
	// many attempts; with the default ladder MaxAge usually ends them first.
	MaxAttempts int
	// AllowPrivateTargets (NOTIFIER_ALLOW_PRIVATE_TARGETS, default false)
	// allows http:// URLs and loopback/private/link-local targets. Only for
	// development and tests; it disables the SSRF guard.
	AllowPrivateTargets bool
	// SigningKey (NOTIFIER_SIGNING_KEY, default unset) is the base64 32-byte
	// Ed25519 seed for RFC 9421 webhook signatures. When unset, a key is
	// generated on first start and stored in the database, so restarts and
	// replicas share it.
	SigningKey ed25519.PrivateKey
	// SigningKeyID (NOTIFIER_SIGNING_KEY_ID, default the key's RFC 7638
	// thumbprint) is the kid published in the JWKS and sent in keyid.
	SigningKeyID string
	// SignatureValidity (NOTIFIER_SIGNATURE_VALIDITY, default 300s) is
	// expires − created of each signature; AdCP allows at most 300s.
	SignatureValidity time.Duration
}

func loadConfig(getenv func(string) string) (Config, error) {
	env := config.New(getenv)
	common := env.Service("127.0.0.1:8082", "notifier")
	def := notify.DefaultRetryPolicy()
	c := Config{
		Service:             common,
		AdminToken:          env.String("ADMIN_TOKEN", ""),
		Workers:             env.Int("NOTIFIER_WORKERS", 4, 1, 256),
		PollInterval:        env.Duration("NOTIFIER_POLL_INTERVAL", time.Second, config.Positive, config.NoMaxDur),
		AttemptTimeout:      env.Duration("NOTIFIER_ATTEMPT_TIMEOUT", 10*time.Second, config.Positive, config.NoMaxDur),
		RetryBaseDelay:      env.Duration("NOTIFIER_RETRY_BASE_DELAY", def.BaseDelay, config.Positive, config.NoMaxDur),
		RetryMaxDelay:       env.Duration("NOTIFIER_RETRY_MAX_DELAY", def.MaxDelay, 0, config.NoMaxDur),
		MaxRetryAfter:       env.Duration("NOTIFIER_MAX_RETRY_AFTER", def.MaxRetryAfter, 0, config.NoMaxDur),
		MaxAge:              env.Duration("NOTIFIER_MAX_AGE", def.MaxAge, config.Positive, config.NoMaxDur),
		MaxAttempts:         env.Int("NOTIFIER_MAX_ATTEMPTS", def.MaxAttempts, 1, config.NoMaxInt),
		AllowPrivateTargets: env.Bool("NOTIFIER_ALLOW_PRIVATE_TARGETS", false),
		SigningKeyID:        env.String("NOTIFIER_SIGNING_KEY_ID", ""),
		SignatureValidity:   env.Duration("NOTIFIER_SIGNATURE_VALIDITY", signing.MaxValidity, config.Positive, signing.MaxValidity),
	}
	if c.RetryMaxDelay < c.RetryBaseDelay {
		env.Problem("NOTIFIER_RETRY_MAX_DELAY (%s) must be at least NOTIFIER_RETRY_BASE_DELAY (%s)", c.RetryMaxDelay, c.RetryBaseDelay)
	}
	if seed := env.String("NOTIFIER_SIGNING_KEY", ""); seed != "" {
		key, err := signing.ParseSeed(seed)
		if err != nil {
			env.Problem("NOTIFIER_SIGNING_KEY: %v", err)
		}
		c.SigningKey = key
	} else if c.SigningKeyID != "" {
		env.Problem("NOTIFIER_SIGNING_KEY_ID is set without NOTIFIER_SIGNING_KEY; the generated key names itself")
	}
	if c.SigningKeyID != "" && !signing.ValidKeyID(c.SigningKeyID) {
		env.Problem("NOTIFIER_SIGNING_KEY_ID must be 1–256 printable ASCII characters without quotes or backslashes")
	}
	if err := env.Err(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func (c Config) service() service.Config {
	return service.Config{
		DatabaseURL:         c.DatabaseURL,
		NATSURL:             c.NATSURL,
		HTTPAddr:            c.HTTPAddr,
		TopicPrefix:         c.TopicPrefix,
		AdminToken:          c.AdminToken,
		Workers:             c.Workers,
		PollInterval:        c.PollInterval,
		AttemptTimeout:      c.AttemptTimeout,
		AllowPrivateTargets: c.AllowPrivateTargets,
		SigningKey:          c.SigningKey,
		SigningKeyID:        c.SigningKeyID,
		SignatureValidity:   c.SignatureValidity,
		QueueGaugeInterval:  5 * time.Second,
		Retry: notify.RetryPolicy{
			BaseDelay:     c.RetryBaseDelay,
			MaxDelay:      c.RetryMaxDelay,
			MaxRetryAfter: c.MaxRetryAfter,
			MaxAge:        c.MaxAge,
			MaxAttempts:   c.MaxAttempts,
			Jitter:        notify.DefaultRetryPolicy().Jitter,
		},
	}
}
