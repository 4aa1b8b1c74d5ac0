package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/natstest"
	"example.com/creativesync/platform/pgtest"
	"example.com/creativesync/platform/servicetest"
	"example.com/creativesync/services/ingest/internal/creative"
	"example.com/creativesync/services/ingest/internal/service"
)

const agentURL = "https://seller.example.com"

// within bounds every asynchronous wait; generous because two cores are
// shared by every test binary.
const within = 15 * time.Second

// stack is one ingest running on its own database and topic prefix.
type stack struct {
	t   testing.TB
	url string
	db  *sqlx.DB
	bk  *natstest.Broker
	key string
	svc *service.Service
	cfg service.Config
	run *servicetest.Running[*service.Service]
}

func startIngest(t *testing.T, opts ...func(*service.Config)) *stack {
	t.Helper()
	t.Parallel()
	return startIngestB(t, opts...)
}

// startIngestB starts ingest for a test or benchmark (not in parallel);
// opts adjust its configuration.
func startIngestB(t testing.TB, opts ...func(*service.Config)) *stack {
	t.Helper()
	bk := natstest.NewBroker(t)
	cfg := service.Config{
		DatabaseURL: pgtest.NewDatabase(t), NATSURL: natstest.URL(), HTTPAddr: "127.0.0.1:0", TopicPrefix: bk.Prefix,
		AgentURLs: []string{agentURL}, IdempotencyTTL: time.Hour, MaxBodyBytes: 1 << 20, OutboxPoll: 10 * time.Millisecond,
		Version: "test",
	}
	for _, o := range opts {
		o(&cfg)
	}
	r := servicetest.Start(t, func(ctx context.Context) (*service.Service, error) {
		return service.New(ctx, cfg, servicetest.Logger(t))
	})
	s := &stack{t: t, url: r.URL, svc: r.Svc, bk: bk, db: pgtest.Connect(t, cfg.DatabaseURL), cfg: cfg, run: r}
	s.key = s.provision("buyer", "acct_1")
	return s
}

// restart stops ingest (a clean stop: in-flight messages finish or stay
// unacknowledged) and starts a new one on the same database and streams,
// as a deploy or a crash and restart would.
func (s *stack) restart() {
	s.t.Helper()
	s.run.Stop()
	s.run = servicetest.Start(s.t, func(ctx context.Context) (*service.Service, error) {
		return service.New(ctx, s.cfg, servicetest.Logger(s.t))
	})
	s.url, s.svc = s.run.URL, s.run.Svc
}

// provision makes a principal with one account and returns its API key.
func (s *stack) provision(principal, account string) string {
	s.t.Helper()
	ctx := context.Background()
	key := "key_" + principal + "_" + s.bk.Prefix
	must(s.t, s.svc.Store.UpsertPrincipal(ctx, principal, principal))
	must(s.t, s.svc.Store.AddAPIKey(ctx, principal, key, "test"))
	must(s.t, s.svc.Store.UpsertAccount(ctx, creative.Account{ID: account, PrincipalID: principal, BrandDomain: account + ".example", Operator: "agency.example"}))
	return key
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

func (s *stack) count(query string, args ...any) int {
	s.t.Helper()
	var n int
	if err := s.db.Get(&n, query, args...); err != nil {
		s.t.Fatal(err)
	}
	return n
}

// lastEvent decodes the payload of the newest message on a topic.
func (s *stack) lastEvent(name string, v any) {
	s.t.Helper()
	msgs := s.bk.Messages(name)
	if len(msgs) == 0 {
		s.t.Fatalf("no %s event", name)
	}
	if err := json.Unmarshal(msgs[len(msgs)-1].Data, v); err != nil {
		s.t.Fatal(err)
	}
}

// publish sends events to ingest as their producer (review) would.
func (s *stack) publish(evs ...events.Event) { s.bk.Publish(evs...) }

// jsonOf marshals a request the test built; that cannot fail.
func jsonOf(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// startIngestWith starts ingest with its test configuration changed by
// edit (nil: none).
func startIngestWith(t testing.TB, edit func(*service.Config)) *stack {
	t.Helper()
	if edit == nil {
		return startIngestB(t)
	}
	return startIngestB(t, edit)
}
