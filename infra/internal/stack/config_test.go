package stack

import (
	"slices"
	"strings"
	"testing"

	"example.com/creativesync/infra/internal/devstack"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := LoadConfig(env(nil), ".")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.LogLevel != "info" || cfg.TopicPrefix != "" || cfg.DatabaseURL != "" || cfg.NATSURL != "" {
		t.Errorf("defaults = %+v", cfg)
	}
	if cfg.LocalDatabaseURL != devstack.LocalDatabaseURL || cfg.LocalNATSURL != devstack.LocalNATSURL {
		t.Errorf("local servers = %q, %q", cfg.LocalDatabaseURL, cfg.LocalNATSURL)
	}
	if !strings.HasSuffix(cfg.DataDir, "/.data") || cfg.DataDir != cfg.Root+"/.data" {
		t.Errorf("DataDir = %q; want <root>/.data", cfg.DataDir)
	}
	if cfg.ForcePrivateNATS || cfg.ForcePrivatePostgres {
		t.Error("private servers forced by default")
	}
}

func TestLoadConfigReadsEnvironment(t *testing.T) {
	t.Parallel()
	cfg, err := LoadConfig(env(map[string]string{
		"DATABASE_URL": "postgres://u@h:1/d", "NATS_URL": "nats://h:2",
		"TOPIC_PREFIX": "dev1_", "LOG_LEVEL": "debug",
	}), ".")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DatabaseURL != "postgres://u@h:1/d" || cfg.NATSURL != "nats://h:2" || cfg.TopicPrefix != "dev1_" || cfg.LogLevel != "debug" {
		t.Errorf("cfg = %+v", cfg)
	}
}

func TestLoadConfigForcePrivate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		val      string
		pg, nats bool
		bad      bool
	}{
		{val: "", pg: false, nats: false},
		{val: "0", pg: false, nats: false},
		{val: "1", pg: true, nats: true},
		{val: "true", pg: true, nats: true},
		{val: "nats", pg: false, nats: true},
		{val: "postgres", pg: true, nats: false},
		{val: "Postgres, nats", pg: true, nats: true},
		{val: "redis", bad: true},
	} {
		cfg, err := LoadConfig(env(map[string]string{"STACK_FORCE_PRIVATE": tc.val}), ".")
		if tc.bad {
			if err == nil {
				t.Errorf("STACK_FORCE_PRIVATE=%q: want an error", tc.val)
			}
			continue
		}
		if err != nil || cfg.ForcePrivatePostgres != tc.pg || cfg.ForcePrivateNATS != tc.nats {
			t.Errorf("STACK_FORCE_PRIVATE=%q: pg=%v nats=%v err=%v; want pg=%v nats=%v",
				tc.val, cfg.ForcePrivatePostgres, cfg.ForcePrivateNATS, err, tc.pg, tc.nats)
		}
	}
}

func TestLoadConfigRejectsDottedPrefix(t *testing.T) {
	t.Parallel()
	if _, err := LoadConfig(env(map[string]string{"TOPIC_PREFIX": "dev."}), "."); err == nil {
		t.Fatal("TOPIC_PREFIX with a dot: want an error (stream names cannot hold dots)")
	}
}

func TestLoadConfigOutsideRepository(t *testing.T) {
	t.Parallel()
	if _, err := LoadConfig(env(nil), t.TempDir()); err == nil {
		t.Fatal("outside the repository: want an error")
	}
}

func TestServiceEnv(t *testing.T) {
	t.Parallel()
	cfg := Config{
		TopicPrefix: "p_", LogLevel: "debug", ReviewerToken: "rev_x",
		Environ: []string{"DATABASE_URL=postgres://user-set", "EXTRA=kept", "HTTP_ADDR=:1"},
	}
	ports := map[string]int{"ingest": 8080, "review": 8081, "notifier": 18082}
	get := func(env []string, k string) string {
		// exec keeps the last value of a duplicate key, so read it that way.
		v := ""
		for _, kv := range env {
			if key, val, _ := strings.Cut(kv, "="); key == k {
				v = val
			}
		}
		return v
	}
	ingest := ServiceEnv(cfg, "ingest", "postgres://db/creativesync_ingest", "nats://n:1", ports)
	for k, want := range map[string]string{
		"DATABASE_URL": "postgres://db/creativesync_ingest", "NATS_URL": "nats://n:1",
		"HTTP_ADDR": "127.0.0.1:8080", "TOPIC_PREFIX": "p_", "LOG_LEVEL": "debug",
		"PUBLIC_BASE_URL": "http://127.0.0.1:8080", "EXTRA": "kept", "NOTIFIER_ALLOW_PRIVATE_TARGETS": "",
	} {
		if got := get(ingest, k); got != want {
			t.Errorf("ingest %s = %q; want %q", k, got, want)
		}
	}
	notifier := ServiceEnv(cfg, "notifier", "postgres://db/n", "nats://n:1", ports)
	if get(notifier, "NOTIFIER_ALLOW_PRIVATE_TARGETS") != "true" || get(notifier, "HTTP_ADDR") != "127.0.0.1:18082" {
		t.Errorf("notifier env = %v", notifier)
	}
	if review := ServiceEnv(cfg, "review", "postgres://db/r", "nats://n:1", ports); get(review, "REVIEWER_TOKEN") != "rev_x" {
		t.Errorf("review REVIEWER_TOKEN = %q; want rev_x", get(review, "REVIEWER_TOKEN"))
	}
	if get(notifier, "PUBLIC_BASE_URL") != "" {
		t.Error("PUBLIC_BASE_URL is ingest's alone")
	}
	if !slices.Equal(cfg.Environ, []string{"DATABASE_URL=postgres://user-set", "EXTRA=kept", "HTTP_ADDR=:1"}) {
		t.Error("ServiceEnv modified the shared environment")
	}
}
