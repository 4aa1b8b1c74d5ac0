package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfigDefaults(t *testing.T) {
	t.Parallel()
	c, err := loadConfig(envOf(map[string]string{"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/ingest"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != "127.0.0.1:8080" || c.NATSURL != "nats://127.0.0.1:4222" || c.LogLevel != "info" ||
		c.PublicBaseURL != "http://127.0.0.1:8080" || c.ExtraAgentURLs != nil || c.IdempotencyTTL != 24*time.Hour ||
		c.MaxBodyBytes != 4<<20 || c.OutboxPoll != 50*time.Millisecond ||
		c.CreativeAgentURLs != nil || c.CreativeAgentRefresh != 5*time.Minute {
		t.Fatalf("defaults = %+v", c)
	}
	s := c.service("v")
	if len(s.AgentURLs) != 1 || s.AgentURLs[0] != c.PublicBaseURL || s.Version != "v" {
		t.Fatalf("service config = %+v", s)
	}
}

func TestLoadConfigReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := loadConfig(envOf(map[string]string{
		"TOPIC_PREFIX": "ingest.", "PUBLIC_BASE_URL": "seller.example", "IDEMPOTENCY_TTL": "30m",
		"MAX_BODY_BYTES": "1k", "OUTBOX_POLL_INTERVAL": "0s", "LOG_LEVEL": "trace",
		"CREATIVE_AGENT_URLS": "https://creative.example.com,creative.example.org", "CREATIVE_AGENT_REFRESH_INTERVAL": "1s",
	}))
	if err == nil {
		t.Fatal("invalid configuration accepted")
	}
	for _, want := range []string{
		"DATABASE_URL is required", `TOPIC_PREFIX "ingest." has '.'`, `PUBLIC_BASE_URL "seller.example" must be an absolute http or https URL`,
		"IDEMPOTENCY_TTL must be between 1h0m0s and 168h0m0s, got 30m0s", `MAX_BODY_BYTES: "1k" is not an integer`,
		"OUTBOX_POLL_INTERVAL must be between 1ms and 1m0s, got 0s", "LOG_LEVEL",
		`CREATIVE_AGENT_URLS item 2 "creative.example.org" must be an absolute http or https URL`,
		"CREATIVE_AGENT_REFRESH_INTERVAL must be between 10s and 24h0m0s, got 1s",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

func TestRunRefusesAnUnknownCommand(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run(context.Background(), []string{"serve"}, envOf(map[string]string{"DATABASE_URL": "postgres://h/ingest"}), &out)
	if err == nil || !strings.Contains(err.Error(), `unknown command "serve"`) {
		t.Fatalf("run: %v", err)
	}
}
