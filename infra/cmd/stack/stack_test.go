package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"example.com/creativesync/infra/internal/devstack"
	"example.com/creativesync/infra/internal/stack"
	"example.com/creativesync/platform/natstest"
	"example.com/creativesync/platform/pgtest"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestRunRejectsBadUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{nil, {"nope"}, {"exec"}, {"exec", "--"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, env(nil), &out); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("run %q = %v; want a usage error", args, err)
		}
	}
}

// stackConfig is a config for tests: its own data dir, Postgres from the
// environment (skipping when none answers, so no test starts a private
// cluster by accident) and no local NATS, so NATS_URL decides.
func stackConfig(t *testing.T, natsURL string) stack.Config {
	t.Helper()
	admin := pgtest.AdminURL()
	if err := devstack.PingPostgres(context.Background(), admin, 3*time.Second); err != nil {
		if os.Getenv("TEST_DATABASE_URL") != "" {
			t.Fatalf("TEST_DATABASE_URL: %v", err)
		}
		t.Skipf("no Postgres at %s (run through `make test`): %v", admin, err)
	}
	cfg, err := stack.LoadConfig(env(nil), ".")
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = t.TempDir()
	cfg.DatabaseURL, cfg.LocalDatabaseURL = admin, ""
	cfg.NATSURL, cfg.LocalNATSURL = natsURL, unusedNATSURL(t)
	cfg.Environ = os.Environ()
	return cfg
}

func unusedNATSURL(t *testing.T) string {
	t.Helper()
	var p devstack.Ports
	port, err := p.Free()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("nats://127.0.0.1:%d", port)
}

// TestExecStartsEmbeddedNATS runs this test binary as the command, pointed
// at a NATS_URL where nothing listens: the stack must embed a server, hand
// it to the command as TEST_NATS_URL, pass the command's exit status on, and
// stop the server afterwards.
func TestExecStartsEmbeddedNATS(t *testing.T) {
	t.Parallel()
	cfg := stackConfig(t, unusedNATSURL(t))
	cfg.Environ = append(cfg.Environ, "STACK_TEST_HELPER=exec")
	var out bytes.Buffer
	con := stack.NewConsole(&out)
	err := execCommand(context.Background(), cfg, con, []string{os.Args[0], "-test.run=^TestHelperProcess$", "-test.v=false"})
	var ec exitCodeError
	if !errors.As(err, &ec) || ec.code != 7 {
		t.Fatalf("exec = %v; want the helper's exit status 7\n%s", err, out.String())
	}
	m := regexp.MustCompile(`helper ok nats=(\S+) pg=(\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("helper did not report success:\n%s", out.String())
	}
	if m[1] == cfg.NATSURL || !strings.Contains(out.String(), "embedded") {
		t.Errorf("TEST_NATS_URL = %s; want a new embedded server\n%s", m[1], out.String())
	}
	if m[2] != cfg.DatabaseURL {
		t.Errorf("TEST_DATABASE_URL = %s; want %s", m[2], cfg.DatabaseURL)
	}
	if err := devstack.ProbeNATS(m[1], time.Second); err == nil {
		t.Error("embedded NATS still answers after exec returned")
	}
	if entries, _ := os.ReadDir(cfg.DataDir + "/tmp"); len(entries) != 0 {
		t.Errorf("exec left its NATS store behind: %v", entries)
	}
}

// TestHelperProcess is the command TestExecStartsEmbeddedNATS runs; on its
// own it does nothing.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("STACK_TEST_HELPER") != "exec" {
		return
	}
	fail := func(format string, args ...any) {
		fmt.Printf("helper failed: "+format+"\n", args...)
		os.Exit(2)
	}
	natsURL, pgURL := os.Getenv("TEST_NATS_URL"), os.Getenv("TEST_DATABASE_URL")
	if err := devstack.ProbeNATS(natsURL, 2*time.Second); err != nil {
		fail("%v", err)
	}
	nc, err := nats.Connect(natsURL)
	if err != nil {
		fail("%v", err)
	}
	js, _ := nc.JetStream()
	if _, err := js.AddStream(&nats.StreamConfig{Name: "helper", Subjects: []string{"helper"}}); err != nil {
		fail("add stream: %v", err)
	}
	if _, err := js.Publish("helper", []byte("x")); err != nil {
		fail("publish: %v", err)
	}
	nc.Close()
	db, err := sql.Open("postgres", pgURL)
	if err != nil {
		fail("%v", err)
	}
	if err := db.Ping(); err != nil {
		fail("postgres: %v", err)
	}
	db.Close()
	fmt.Printf("helper ok nats=%s pg=%s\n", natsURL, pgURL)
	os.Exit(7)
}

func TestExecReusesAnsweringNATS(t *testing.T) {
	t.Parallel()
	url := natstest.URL()
	if err := devstack.ProbeNATS(url, 2*time.Second); err != nil {
		t.Skipf("no JetStream server at %s: %v", url, err)
	}
	cfg := stackConfig(t, url)
	var out bytes.Buffer
	err := execCommand(context.Background(), cfg, stack.NewConsole(&out), []string{"/bin/sh", "-c", `echo "got $TEST_NATS_URL"`})
	if err != nil {
		t.Fatalf("exec: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "got "+url+"\n") {
		t.Errorf("command did not get TEST_NATS_URL=%s:\n%s", url, out.String())
	}
	if err := devstack.ProbeNATS(url, 2*time.Second); err != nil {
		t.Errorf("reused server gone after exec: %v", err)
	}
}

func TestEnvPrintsExportsForReusedServers(t *testing.T) {
	t.Parallel()
	url := natstest.URL()
	if err := devstack.ProbeNATS(url, 2*time.Second); err != nil {
		t.Skipf("no JetStream server at %s: %v", url, err)
	}
	cfg := stackConfig(t, url)
	var out bytes.Buffer
	if err := printEnv(context.Background(), cfg, stack.NewConsole(&out)); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if !strings.HasPrefix(line, "export ") && !strings.HasPrefix(line, "# ") {
			t.Errorf("line %q is neither an export nor a comment; eval would choke", line)
		}
	}
	if !strings.Contains(out.String(), fmt.Sprintf("export TEST_NATS_URL=%q", url)) {
		t.Errorf("no TEST_NATS_URL export:\n%s", out.String())
	}
}

func TestEnvRefusesEmbeddedNATS(t *testing.T) {
	t.Parallel()
	cfg := stackConfig(t, unusedNATSURL(t))
	var out bytes.Buffer
	if err := printEnv(context.Background(), cfg, stack.NewConsole(&out)); err == nil {
		t.Fatalf("env with only an embedded NATS: want an error, got\n%s", out.String())
	}
}
