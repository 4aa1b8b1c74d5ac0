package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"example.com/creativesync/platform/config"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfigDefaults(t *testing.T) {
	t.Parallel()
	c, err := loadConfig(env(map[string]string{"DATABASE_URL": "postgres://postgres@127.0.0.1/notifier"}))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Service: config.Service{DatabaseURL: "postgres://postgres@127.0.0.1/notifier", NATSURL: "nats://127.0.0.1:4222",
			HTTPAddr: "127.0.0.1:8082", LogLevel: "info"}, Workers: 4, PollInterval: time.Second,
		AttemptTimeout: 10 * time.Second, RetryBaseDelay: time.Second, RetryMaxDelay: time.Hour,
		MaxRetryAfter: time.Hour, MaxAge: 24 * time.Hour, MaxAttempts: 40, SignatureValidity: 300 * time.Second,
	}
	if c.DatabaseURL != want.DatabaseURL || c.NATSURL != want.NATSURL || c.HTTPAddr != want.HTTPAddr ||
		c.LogLevel != want.LogLevel || c.Workers != want.Workers || c.PollInterval != want.PollInterval ||
		c.AttemptTimeout != want.AttemptTimeout || c.RetryBaseDelay != want.RetryBaseDelay ||
		c.RetryMaxDelay != want.RetryMaxDelay || c.MaxRetryAfter != want.MaxRetryAfter || c.MaxAge != want.MaxAge ||
		c.MaxAttempts != want.MaxAttempts || c.SignatureValidity != want.SignatureValidity ||
		c.AllowPrivateTargets || c.AdminToken != "" || c.SigningKey != nil || c.TopicPrefix != "" {
		t.Fatalf("defaults:\n got %+v\nwant %+v", c, want)
	}
	if err := c.service().Retry.Validate(); err != nil {
		t.Fatalf("default retry policy: %v", err)
	}
}

func TestLoadConfigOverrides(t *testing.T) {
	t.Parallel()
	seed := bytes.Repeat([]byte{9}, 32)
	c, err := loadConfig(env(map[string]string{
		"DATABASE_URL": "postgres://x/y", "NATS_URL": "nats://n:4222", "HTTP_ADDR": ":9000", "TOPIC_PREFIX": "dev_",
		"LOG_LEVEL": "debug", "ADMIN_TOKEN": "s3cret", "NOTIFIER_WORKERS": "8", "NOTIFIER_POLL_INTERVAL": "250ms",
		"NOTIFIER_ATTEMPT_TIMEOUT": "5s", "NOTIFIER_RETRY_BASE_DELAY": "2s", "NOTIFIER_RETRY_MAX_DELAY": "30m",
		"NOTIFIER_MAX_RETRY_AFTER": "10m", "NOTIFIER_MAX_AGE": "12h", "NOTIFIER_MAX_ATTEMPTS": "12",
		"NOTIFIER_ALLOW_PRIVATE_TARGETS": "true", "NOTIFIER_SIGNING_KEY": base64.StdEncoding.EncodeToString(seed),
		"NOTIFIER_SIGNING_KEY_ID": "notifier-2026-11", "NOTIFIER_SIGNATURE_VALIDITY": "120s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	s := c.service()
	if s.Workers != 8 || s.PollInterval != 250*time.Millisecond || s.Retry.BaseDelay != 2*time.Second ||
		s.Retry.MaxDelay != 30*time.Minute || s.Retry.MaxRetryAfter != 10*time.Minute || s.Retry.MaxAge != 12*time.Hour ||
		s.Retry.MaxAttempts != 12 || !s.AllowPrivateTargets || s.SigningKeyID != "notifier-2026-11" ||
		!bytes.Equal(s.SigningKey.Seed(), seed) || s.SignatureValidity != 120*time.Second || s.AdminToken != "s3cret" ||
		s.TopicPrefix != "dev_" || s.HTTPAddr != ":9000" {
		t.Fatalf("service config %+v", s)
	}
	if len(s.SigningKey) != ed25519.PrivateKeySize {
		t.Fatal("signing key not parsed")
	}
}

func TestLoadConfigReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := loadConfig(env(map[string]string{
		"LOG_LEVEL": "loud", "NOTIFIER_WORKERS": "zero", "NOTIFIER_POLL_INTERVAL": "-1s",
		"NOTIFIER_ATTEMPT_TIMEOUT": "ten", "NOTIFIER_RETRY_BASE_DELAY": "1m", "NOTIFIER_RETRY_MAX_DELAY": "1s",
		"NOTIFIER_MAX_ATTEMPTS": "0", "NOTIFIER_ALLOW_PRIVATE_TARGETS": "maybe", "NOTIFIER_SIGNING_KEY": "not base64!",
		"NOTIFIER_SIGNATURE_VALIDITY": "10m", "NOTIFIER_SIGNING_KEY_ID": `bad"id`,
	}))
	if err == nil {
		t.Fatal("invalid configuration accepted")
	}
	for _, want := range []string{
		"DATABASE_URL is required", "LOG_LEVEL", "NOTIFIER_WORKERS", "NOTIFIER_POLL_INTERVAL must be positive",
		"NOTIFIER_ATTEMPT_TIMEOUT", "NOTIFIER_RETRY_MAX_DELAY", "NOTIFIER_MAX_ATTEMPTS", "NOTIFIER_ALLOW_PRIVATE_TARGETS",
		"NOTIFIER_SIGNING_KEY:", "NOTIFIER_SIGNATURE_VALIDITY", "NOTIFIER_SIGNING_KEY_ID",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

func TestKeyIDNeedsAKey(t *testing.T) {
	t.Parallel()
	_, err := loadConfig(env(map[string]string{"DATABASE_URL": "postgres://x/y", "NOTIFIER_SIGNING_KEY_ID": "k1"}))
	if err == nil || !strings.Contains(err.Error(), "without NOTIFIER_SIGNING_KEY") {
		t.Fatalf("got %v", err)
	}
}

func TestRunFailsOnBadConfig(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run(context.Background(), nil, env(map[string]string{}), &out)
	if err == nil || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Fatalf("run: %v", err)
	}
}
