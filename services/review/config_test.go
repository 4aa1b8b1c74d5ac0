package main

import (
	"strings"
	"testing"
	"time"

	"example.com/creativesync/services/review/internal/review"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(envOf(map[string]string{"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/review?sslmode=disable"}))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Service
	if s.NATSURL != "nats://127.0.0.1:4222" || s.HTTPAddr != "127.0.0.1:8081" || s.TopicPrefix != "" ||
		cfg.LogLevel != "info" || s.OutboxPollInterval != 50*time.Millisecond || s.ReviewerToken != "" {
		t.Fatalf("defaults = %+v", cfg)
	}
	if s.Thresholds != review.DefaultThresholds() {
		t.Fatalf("thresholds = %+v", s.Thresholds)
	}
	if len(s.Categories["political"]) == 0 || len(s.Categories["health"]) == 0 || len(s.Categories["finance"]) == 0 {
		t.Fatalf("categories = %v", s.Categories)
	}
}

func TestLoadConfigOverrides(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(envOf(map[string]string{
		"DATABASE_URL":                  "postgres://u:p@db:5432/review",
		"NATS_URL":                      "nats://nats:4222",
		"HTTP_ADDR":                     ":9000",
		"TOPIC_PREFIX":                  "stage_",
		"LOG_LEVEL":                     "DEBUG",
		"OUTBOX_POLL_INTERVAL":          "10ms",
		"REVIEW_AUTO_APPROVE_THRESHOLD": "0.8",
		"REVIEW_AUTO_REJECT_THRESHOLD":  "0.2",
		"REVIEW_SENSITIVE_KEYWORDS":     "gambling=casino,poker",
		"REVIEWER_TOKEN":                "s3cret",
		"REVIEW_CLASSIFIER_URL":         "http://127.0.0.1:9999/classify",
		"REVIEW_CLASSIFIER_TIMEOUT":     "500ms",
		"REVIEW_OIDC_ISSUER":            "https://sso.example.com",
		"REVIEW_OIDC_CLIENT_ID":         "review",
		"REVIEW_OIDC_CLIENT_SECRET":     "shh",
		"REVIEW_OIDC_REDIRECT_URL":      "https://review.example.com/reviews/oidc/callback",
		"REVIEW_OIDC_NAME":              "Seller SSO",
	}))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Service
	if s.NATSURL != "nats://nats:4222" || s.HTTPAddr != ":9000" || s.TopicPrefix != "stage_" || cfg.LogLevel != "debug" ||
		s.OutboxPollInterval != 10*time.Millisecond || s.Thresholds != (review.Thresholds{Approve: 0.8, Reject: 0.2}) ||
		s.ReviewerToken != "s3cret" || s.OIDC == nil || s.OIDC.ClientSecret != "shh" || s.OIDC.Name != "Seller SSO" || s.ClassifierURL != "http://127.0.0.1:9999/classify" || s.ClassifierTimeout != 500*time.Millisecond || len(s.Categories) != 1 || len(s.Categories["gambling"]) != 2 {
		t.Fatalf("config = %+v", cfg)
	}
}

func TestLoadConfigRejects(t *testing.T) {
	t.Parallel()
	base := map[string]string{"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/review"}
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no database", map[string]string{"DATABASE_URL": ""}, "DATABASE_URL is required"},
		{"database not a url", map[string]string{"DATABASE_URL": "host=x dbname=y"}, "DATABASE_URL"},
		{"nats scheme", map[string]string{"NATS_URL": "http://x:4222"}, "NATS_URL"},
		{"log level", map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{"dotted prefix", map[string]string{"TOPIC_PREFIX": "a.b"}, "TOPIC_PREFIX"},
		{"poll not a duration", map[string]string{"OUTBOX_POLL_INTERVAL": "fast"}, "OUTBOX_POLL_INTERVAL"},
		{"poll too long", map[string]string{"OUTBOX_POLL_INTERVAL": "2m"}, "OUTBOX_POLL_INTERVAL"},
		{"approve not a number", map[string]string{"REVIEW_AUTO_APPROVE_THRESHOLD": "high"}, "REVIEW_AUTO_APPROVE_THRESHOLD"},
		{"approve above one", map[string]string{"REVIEW_AUTO_APPROVE_THRESHOLD": "1.5"}, "REVIEW_AUTO_APPROVE_THRESHOLD must be between 0 and 1, got 1.5"},
		{"reject negative", map[string]string{"REVIEW_AUTO_REJECT_THRESHOLD": "-0.1"}, "REVIEW_AUTO_REJECT_THRESHOLD"},
		{"reject equals approve", map[string]string{"REVIEW_AUTO_APPROVE_THRESHOLD": "0.5", "REVIEW_AUTO_REJECT_THRESHOLD": "0.5"}, "must be below"},
		{"reject above approve", map[string]string{"REVIEW_AUTO_REJECT_THRESHOLD": "0.95"}, "must be below"},
		{"bad keywords", map[string]string{"REVIEW_SENSITIVE_KEYWORDS": "political"}, "REVIEW_SENSITIVE_KEYWORDS"},
		{"classifier scheme", map[string]string{"REVIEW_CLASSIFIER_URL": "ftp://x/classify"}, "REVIEW_CLASSIFIER_URL"},
		{"classifier timeout", map[string]string{"REVIEW_CLASSIFIER_TIMEOUT": "1m"}, "REVIEW_CLASSIFIER_TIMEOUT"},
		{"oidc half set", map[string]string{"REVIEW_OIDC_ISSUER": "https://sso.example.com"}, "REVIEW_OIDC_CLIENT_ID, REVIEW_OIDC_CLIENT_SECRET, REVIEW_OIDC_REDIRECT_URL unset"},
		{"oidc callback path", map[string]string{"REVIEW_OIDC_ISSUER": "https://sso.example.com", "REVIEW_OIDC_CLIENT_ID": "c",
			"REVIEW_OIDC_CLIENT_SECRET": "s", "REVIEW_OIDC_REDIRECT_URL": "https://review.example.com/callback"}, "must end in /reviews/oidc/callback"},
		{"oidc issuer", map[string]string{"REVIEW_OIDC_ISSUER": "sso.example.com", "REVIEW_OIDC_CLIENT_ID": "c",
			"REVIEW_OIDC_CLIENT_SECRET": "s", "REVIEW_OIDC_REDIRECT_URL": "https://review.example.com/reviews/oidc/callback"}, "REVIEW_OIDC_ISSUER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tt.env {
				env[k] = v
			}
			_, err := loadConfig(envOf(env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestLoadConfigReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := loadConfig(envOf(map[string]string{"LOG_LEVEL": "loud", "OUTBOX_POLL_INTERVAL": "x"}))
	for _, want := range []string{"DATABASE_URL", "LOG_LEVEL", "OUTBOX_POLL_INTERVAL"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to mention %s", err, want)
		}
	}
}
