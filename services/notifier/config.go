package main

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"example.com/creativesync/services/notifier/internal/notify"
	"example.com/creativesync/services/notifier/internal/service"
	"example.com/creativesync/services/notifier/internal/signing"
)

// Config is the notifier's configuration, read from the environment.
// Durations use Go syntax (500ms, 10s, 1h).
type Config struct {
	// DatabaseURL (DATABASE_URL, required) is the notifier's own Postgres
	// database, e.g. postgres://postgres@127.0.0.1:5432/notifier?sslmode=disable.
	DatabaseURL string
	// NATSURL (NATS_URL, default nats://127.0.0.1:4222) is a JetStream-enabled NATS server.
	NATSURL string
	// HTTPAddr (HTTP_ADDR, default 127.0.0.1:8082) serves /healthz, /readyz,
	// /metrics, /.well-known/jwks.json and the operator API.
	HTTPAddr string
	// TopicPrefix (TOPIC_PREFIX, default "") is put before every topic, so
	// parallel stacks and tests can share one NATS server.
	TopicPrefix string
	// LogLevel (LOG_LEVEL, default info) is debug, info, warn or error.
	LogLevel string
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
	l := loader{getenv: getenv}
	def := notify.DefaultRetryPolicy()
	c := Config{
		DatabaseURL:         l.str("DATABASE_URL", ""),
		NATSURL:             l.str("NATS_URL", "nats://127.0.0.1:4222"),
		HTTPAddr:            l.str("HTTP_ADDR", "127.0.0.1:8082"),
		TopicPrefix:         l.str("TOPIC_PREFIX", ""),
		LogLevel:            l.str("LOG_LEVEL", "info"),
		AdminToken:          l.str("ADMIN_TOKEN", ""),
		Workers:             l.int("NOTIFIER_WORKERS", 4),
		PollInterval:        l.duration("NOTIFIER_POLL_INTERVAL", time.Second),
		AttemptTimeout:      l.duration("NOTIFIER_ATTEMPT_TIMEOUT", 10*time.Second),
		RetryBaseDelay:      l.duration("NOTIFIER_RETRY_BASE_DELAY", def.BaseDelay),
		RetryMaxDelay:       l.duration("NOTIFIER_RETRY_MAX_DELAY", def.MaxDelay),
		MaxRetryAfter:       l.duration("NOTIFIER_MAX_RETRY_AFTER", def.MaxRetryAfter),
		MaxAge:              l.duration("NOTIFIER_MAX_AGE", def.MaxAge),
		MaxAttempts:         l.int("NOTIFIER_MAX_ATTEMPTS", def.MaxAttempts),
		AllowPrivateTargets: l.bool("NOTIFIER_ALLOW_PRIVATE_TARGETS", false),
		SigningKeyID:        l.str("NOTIFIER_SIGNING_KEY_ID", ""),
		SignatureValidity:   l.duration("NOTIFIER_SIGNATURE_VALIDITY", signing.MaxValidity),
	}
	if c.DatabaseURL == "" {
		l.fail("DATABASE_URL is required")
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		l.fail("LOG_LEVEL %q: want debug, info, warn or error", c.LogLevel)
	}
	if c.Workers < 1 || c.Workers > 256 {
		l.fail("NOTIFIER_WORKERS must be between 1 and 256, got %d", c.Workers)
	}
	l.positive("NOTIFIER_POLL_INTERVAL", c.PollInterval)
	l.positive("NOTIFIER_ATTEMPT_TIMEOUT", c.AttemptTimeout)
	l.positive("NOTIFIER_RETRY_BASE_DELAY", c.RetryBaseDelay)
	if c.RetryMaxDelay < c.RetryBaseDelay {
		l.fail("NOTIFIER_RETRY_MAX_DELAY (%s) must be at least NOTIFIER_RETRY_BASE_DELAY (%s)", c.RetryMaxDelay, c.RetryBaseDelay)
	}
	if c.MaxRetryAfter < 0 {
		l.fail("NOTIFIER_MAX_RETRY_AFTER must not be negative")
	}
	l.positive("NOTIFIER_MAX_AGE", c.MaxAge)
	if c.MaxAttempts < 1 {
		l.fail("NOTIFIER_MAX_ATTEMPTS must be at least 1, got %d", c.MaxAttempts)
	}
	if c.SignatureValidity <= 0 || c.SignatureValidity > signing.MaxValidity {
		l.fail("NOTIFIER_SIGNATURE_VALIDITY must be in (0, %s], got %s", signing.MaxValidity, c.SignatureValidity)
	}
	if seed := getenv("NOTIFIER_SIGNING_KEY"); seed != "" {
		key, err := signing.ParseSeed(seed)
		if err != nil {
			l.fail("NOTIFIER_SIGNING_KEY: %v", err)
		}
		c.SigningKey = key
	} else if c.SigningKeyID != "" {
		l.fail("NOTIFIER_SIGNING_KEY_ID is set without NOTIFIER_SIGNING_KEY; the generated key names itself")
	}
	if c.SigningKeyID != "" && !signing.ValidKeyID(c.SigningKeyID) {
		l.fail("NOTIFIER_SIGNING_KEY_ID must be 1–256 printable ASCII characters without quotes or backslashes")
	}
	if len(l.errs) > 0 {
		return Config{}, fmt.Errorf("configuration: %w", errors.Join(l.errs...))
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

// loader reads variables and collects every problem, so one run of the
// service reports all of them.
type loader struct {
	getenv func(string) string
	errs   []error
}

func (l *loader) fail(format string, args ...any) {
	l.errs = append(l.errs, fmt.Errorf(format, args...))
}

func (l *loader) str(key, def string) string {
	if v := strings.TrimSpace(l.getenv(key)); v != "" {
		return v
	}
	return def
}

func (l *loader) int(key string, def int) int {
	v := strings.TrimSpace(l.getenv(key))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		l.fail("%s: %q is not an integer", key, v)
		return def
	}
	return n
}

func (l *loader) duration(key string, def time.Duration) time.Duration {
	v := strings.TrimSpace(l.getenv(key))
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		l.fail("%s: %q is not a duration (use e.g. 500ms, 10s, 1h)", key, v)
		return def
	}
	return d
}

func (l *loader) bool(key string, def bool) bool {
	v := strings.TrimSpace(l.getenv(key))
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		l.fail("%s: %q is not true or false", key, v)
		return def
	}
	return b
}

func (l *loader) positive(key string, d time.Duration) {
	if d <= 0 {
		l.fail("%s must be positive, got %s", key, d)
	}
}
