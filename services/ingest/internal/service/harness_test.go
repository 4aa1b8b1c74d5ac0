package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/nats-io/nats.go"

	"example.com/creativesync/platform/broker"
	"example.com/creativesync/platform/natstest"
	"example.com/creativesync/platform/pgtest"
	"example.com/creativesync/services/ingest/internal/creative"
	"example.com/creativesync/services/ingest/internal/service"
)

const agentURL = "https://seller.example.com"

var natsURL = natstest.URL()

// stack is one ingest running on its own database and topic prefix.
type stack struct {
	t      testing.TB
	url    string
	db     *sqlx.DB
	js     nats.JetStreamContext
	prefix string
	key    string
	svc    *service.Service
}

func startIngest(t *testing.T) *stack {
	t.Helper()
	t.Parallel()
	return startIngestB(t)
}

// startIngestB starts ingest for a test or benchmark (not in parallel).
func startIngestB(t testing.TB) *stack {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	prefix := natstest.Prefix(t)
	cfg := service.Config{
		DatabaseURL: pgtest.NewDatabase(t), NATSURL: natstest.URL(), HTTPAddr: "127.0.0.1:0", TopicPrefix: prefix,
		AgentURLs: []string{agentURL}, IdempotencyTTL: time.Hour, MaxBodyBytes: 1 << 20, OutboxPoll: 10 * time.Millisecond,
		Version: "test",
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	svc, err := service.New(ctx, cfg, log)
	if err != nil {
		t.Fatalf("starting ingest: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("ingest stopped with error: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("ingest did not shut down within 30s")
		}
	})
	s := &stack{t: t, url: "http://" + svc.Addr(), prefix: prefix, svc: svc}
	s.db = sqlx.MustConnect("postgres", cfg.DatabaseURL)
	t.Cleanup(func() { s.db.Close() })
	nc, err := nats.Connect(cfg.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if s.js, err = nc.JetStream(); err != nil {
		t.Fatal(err)
	}
	s.key = s.provision("buyer", "acct_1")
	s.waitReady()
	return s
}

// provision makes a principal with one account and returns its API key.
func (s *stack) provision(principal, account string) string {
	s.t.Helper()
	ctx := context.Background()
	key := "key_" + principal + "_" + s.prefix
	must(s.t, s.svc.Store.UpsertPrincipal(ctx, principal, principal))
	must(s.t, s.svc.Store.AddAPIKey(ctx, principal, key, "test"))
	must(s.t, s.svc.Store.UpsertAccount(ctx, creative.Account{ID: account, PrincipalID: principal, BrandDomain: account + ".example", Operator: "agency.example"}))
	return key
}

func (s *stack) waitReady() {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatal("ingest not ready")
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// do sends a request and returns status and body.
func (s *stack) do(method, path, key string, body []byte, hdr ...string) (int, []byte) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp.StatusCode, b
}

func (s *stack) sync(body any) (int, map[string]any, []byte) {
	s.t.Helper()
	b := jsonOf(body)
	st, out := s.do("POST", "/api/v1/creatives/sync", s.key, b)
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		s.t.Fatalf("response is not a JSON object: %v: %s", err, out)
	}
	return st, m, out
}

var keyN atomic.Int64

func newKey() string {
	return fmt.Sprintf("idem-%d-%d-abcdefgh", time.Now().UnixNano(), keyN.Add(1))
}

func banner(id string) map[string]any {
	return map[string]any{
		"creative_id": id, "name": "Banner " + id,
		"format_id": map[string]any{"agent_url": agentURL, "id": "display_300x250"},
		"assets":    map[string]any{"image": map[string]any{"asset_type": "image", "url": "https://cdn.example.com/" + id + ".png", "width": 300, "height": 250}},
	}
}

func syncReq(creatives ...map[string]any) map[string]any {
	cs := make([]any, len(creatives))
	for i, c := range creatives {
		cs[i] = c
	}
	return map[string]any{"idempotency_key": newKey(), "account": map[string]any{"account_id": "acct_1"}, "creatives": cs,
		"context": map[string]any{"correlation_id": "test-ctx"}}
}

// streamCount is how many messages a topic's stream holds.
func (s *stack) streamCount(name string) uint64 {
	s.t.Helper()
	info, err := s.js.StreamInfo(broker.Topic(s.prefix, name))
	if err != nil {
		return 0
	}
	return info.State.Msgs
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func (s *stack) count(query string, args ...any) int {
	s.t.Helper()
	var n int
	if err := s.db.Get(&n, query, args...); err != nil {
		s.t.Fatal(err)
	}
	return n
}

// lastEvent returns the payload of the newest message on a topic.
func (s *stack) lastEvent(name string, v any) {
	s.t.Helper()
	msg, err := s.js.GetLastMsg(broker.Topic(s.prefix, name), broker.Topic(s.prefix, name))
	if err != nil {
		s.t.Fatalf("no %s event: %v", name, err)
	}
	if err := json.Unmarshal(msg.Data, v); err != nil {
		s.t.Fatal(err)
	}
}

func httpGet(url string) (*http.Response, error) { return http.Get(url) }

// jsonOf marshals a request the test built; that cannot fail.
func jsonOf(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
