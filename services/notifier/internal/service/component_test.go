package service_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/broker"
	"example.com/creativesync/platform/natstest"
	"example.com/creativesync/platform/pgtest"
	"example.com/creativesync/services/notifier/internal/notify"
	"example.com/creativesync/services/notifier/internal/service"
	"example.com/creativesync/services/notifier/internal/signing"
)

const adminToken = "test-admin-token"

// syncBuffer collects a service's logs; they are printed only if the test fails.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testConfig is a time-compressed configuration: retries start at 100 ms
// instead of 1 s, and receivers are httptest servers on loopback.
func testConfig(dbURL, prefix string) service.Config {
	return service.Config{
		DatabaseURL:         dbURL,
		NATSURL:             natstest.URL(),
		HTTPAddr:            "127.0.0.1:0",
		TopicPrefix:         prefix,
		AdminToken:          adminToken,
		Workers:             2,
		PollInterval:        50 * time.Millisecond,
		AttemptTimeout:      5 * time.Second,
		AllowPrivateTargets: true,
		SignatureValidity:   300 * time.Second,
		QueueGaugeInterval:  100 * time.Millisecond,
		Retry: notify.RetryPolicy{
			BaseDelay:     100 * time.Millisecond,
			MaxDelay:      500 * time.Millisecond,
			MaxRetryAfter: time.Second,
			MaxAge:        time.Minute,
			MaxAttempts:   5,
			Jitter:        0.2,
		},
	}
}

type running struct {
	svc  *service.Service
	base string
	stop func()
}

// start runs a service and waits until it is ready; stop (also run at
// cleanup) shuts it down and waits for Run to return.
func start(t testing.TB, cfg service.Config) *running {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := service.New(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatalf("service.New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("service did not stop within 30 s")
			}
		})
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("service logs:\n%s", logs.String())
		}
	})
	r := &running{svc: svc, base: "http://" + svc.Addr(), stop: stop}
	eventually(t, 20*time.Second, func() (bool, string) {
		resp, err := http.Get(r.base + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, string(b)
	})
	return r
}

// eventually polls cond until it holds or the deadline passes. Deadlines
// are generous; tests never assert on how fast something happened.
func eventually(t testing.TB, within time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("condition not met within %s; last state: %s", within, last)
}

func publish(t testing.TB, prefix string, evs ...*events.NotificationRequestedV1) {
	t.Helper()
	nc, err := broker.Connect(natstest.URL(), "notifier-test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	topic := broker.Topic(prefix, (&events.NotificationRequestedV1{}).EventName())
	if err := broker.EnsureStreams(js, topic); err != nil {
		t.Fatal(err)
	}
	pub, err := broker.NewPublisher(natstest.URL(), broker.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	for _, ev := range evs {
		msg, err := broker.NewMessage(ev)
		if err != nil {
			t.Fatal(err)
		}
		if err := pub.Publish(topic, msg); err != nil {
			t.Fatal(err)
		}
	}
}

var keySeq struct {
	sync.Mutex
	n int
}

func newEvent(url string, auth *events.WebhookAuth) *events.NotificationRequestedV1 {
	keySeq.Lock()
	keySeq.n++
	n := keySeq.n
	keySeq.Unlock()
	key := fmt.Sprintf("whk_component_%d_%d", time.Now().UnixNano(), n)
	return &events.NotificationRequestedV1{
		Header:         events.Header{EventID: fmt.Sprintf("ev-%s", key), CorrelationID: "corr-" + key},
		IdempotencyKey: key,
		AccountID:      "acct_demo",
		TaskID:         "task_01",
		Kind:           "task_status",
		URL:            url,
		Auth:           auth,
		Payload: json.RawMessage(`{"idempotency_key":"` + key + `","task_id":"task_01","task_type":"sync_creatives",` +
			`"status":"completed","timestamp":"2026-11-23T10:00:00Z","message":"Café Münchën ✓"}`),
	}
}

type request struct {
	header http.Header
	body   []byte
	url    string
}

// buyer is an httptest receiver that answers from a script, then 200.
type buyer struct {
	*httptest.Server
	mu       sync.Mutex
	script   []int
	requests []request
}

func newBuyer(t testing.TB, script ...int) *buyer {
	b := &buyer{script: script}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		b.mu.Lock()
		b.requests = append(b.requests, request{header: r.Header.Clone(), body: body, url: "http://" + r.Host + r.URL.RequestURI()})
		status := http.StatusOK
		if len(b.script) > 0 {
			status, b.script = b.script[0], b.script[1:]
		}
		b.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *buyer) got() []request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]request(nil), b.requests...)
}

type deliveryJSON struct {
	ID             int64  `json:"id"`
	IdempotencyKey string `json:"idempotency_key"`
	Status         string `json:"status"`
	Attempts       int    `json:"attempts"`
	LastStatusCode int    `json:"last_status_code"`
	LastError      string `json:"last_error"`
	Signing        string `json:"signing"`
	AttemptLog     []struct {
		Attempt    int    `json:"attempt"`
		StatusCode int    `json:"status_code"`
		Outcome    string `json:"outcome"`
	} `json:"attempt_log"`
}

func (r *running) call(t testing.TB, method, path, token string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, r.base+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

func (r *running) deliveries(t testing.TB, query string) []deliveryJSON {
	t.Helper()
	var out struct {
		Deliveries []deliveryJSON `json:"deliveries"`
	}
	if code := r.call(t, http.MethodGet, "/api/v1/deliveries?"+query, adminToken, &out); code != http.StatusOK {
		t.Fatalf("list deliveries: HTTP %d", code)
	}
	return out.Deliveries
}

func (r *running) delivery(t *testing.T, key string) (deliveryJSON, bool) {
	t.Helper()
	for _, d := range r.deliveries(t, "limit=1000") {
		if d.IdempotencyKey == key {
			var full deliveryJSON
			r.call(t, http.MethodGet, fmt.Sprintf("/api/v1/deliveries/%d", d.ID), adminToken, &full)
			return full, true
		}
	}
	return deliveryJSON{}, false
}

func (r *running) waitStatus(t *testing.T, key, status string) deliveryJSON {
	t.Helper()
	var d deliveryJSON
	eventually(t, 20*time.Second, func() (bool, string) {
		var ok bool
		d, ok = r.delivery(t, key)
		return ok && d.Status == status, fmt.Sprintf("%+v", d)
	})
	return d
}

func TestDeliversExactBytesSignedWithRFC9421(t *testing.T) {
	t.Parallel()
	prefix := natstest.Prefix(t)
	r := start(t, testConfig(pgtest.NewDatabase(t), prefix))
	b := newBuyer(t)
	ev := newEvent(b.URL+"/adcp/webhook/sync_creatives/op_1?x=1", nil)
	publish(t, prefix, ev)

	d := r.waitStatus(t, ev.IdempotencyKey, "delivered")
	if d.Attempts != 1 || d.Signing != "rfc9421" || len(d.AttemptLog) != 1 || d.AttemptLog[0].StatusCode != 200 {
		t.Fatalf("delivery %+v", d)
	}
	reqs := b.got()
	if len(reqs) != 1 {
		t.Fatalf("buyer got %d requests", len(reqs))
	}
	got := reqs[0]
	if !bytes.Equal(got.body, ev.Payload) {
		t.Fatalf("body\n got %s\nwant %s", got.body, ev.Payload)
	}
	if got.header.Get("Webhook-Id") != ev.IdempotencyKey || got.header.Get("Content-Type") != "application/json" {
		t.Fatalf("headers %v", got.header)
	}

	var jwks signing.JWKS
	if code := r.call(t, http.MethodGet, "/.well-known/jwks.json", "", &jwks); code != http.StatusOK || len(jwks.Keys) != 1 {
		t.Fatalf("jwks: HTTP %d, %+v", code, jwks)
	}
	k := jwks.Keys[0]
	if k.Kid != r.svc.KeyID() || k.AdcpUse != "webhook-signing" || k.Alg != "EdDSA" || k.Use != "sig" {
		t.Fatalf("jwk %+v", k)
	}
	if err := signing.NewVerifier(jwks).Verify(http.MethodPost, got.url, got.header, got.body); err != nil {
		t.Fatalf("signature does not verify against the published JWKS: %v", err)
	}

	eventually(t, 10*time.Second, func() (bool, string) {
		resp, err := http.Get(r.base + "/metrics")
		if err != nil {
			return false, err.Error()
		}
		m, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ok := strings.Contains(string(m), `notifier_deliveries_total{outcome="delivered"} 1`) &&
			strings.Contains(string(m), `notifier_attempt_duration_seconds_count{verdict="delivered"} 1`) &&
			strings.Contains(string(m), "notifier_queue_due 0")
		return ok, "metrics not updated yet"
	})
}

func TestDeliversWithLegacyHMAC(t *testing.T) {
	t.Parallel()
	prefix := natstest.Prefix(t)
	r := start(t, testConfig(pgtest.NewDatabase(t), prefix))
	b := newBuyer(t)
	secret := "7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c1e"
	ev := newEvent(b.URL+"/hooks", &events.WebhookAuth{Scheme: "HMAC-SHA256", Credentials: secret})
	publish(t, prefix, ev)

	d := r.waitStatus(t, ev.IdempotencyKey, "delivered")
	if d.Signing != "HMAC-SHA256" {
		t.Fatalf("signing %q", d.Signing)
	}
	got := b.got()[0]
	err := signing.VerifyHMAC([]byte(secret), got.header.Get("X-ADCP-Timestamp"), got.header.Get("X-ADCP-Signature"), got.body, time.Now())
	if err != nil {
		t.Fatalf("HMAC does not verify: %v", err)
	}
	if got.header.Get("Signature") != "" || !bytes.Equal(got.body, ev.Payload) {
		t.Fatal("HMAC mode must send the exact payload and no RFC 9421 signature")
	}
}

func TestRetriesTransientFailuresWithTheSameKey(t *testing.T) {
	t.Parallel()
	prefix := natstest.Prefix(t)
	r := start(t, testConfig(pgtest.NewDatabase(t), prefix))
	b := newBuyer(t, http.StatusServiceUnavailable, http.StatusServiceUnavailable, http.StatusOK)
	ev := newEvent(b.URL+"/hooks", nil)
	publish(t, prefix, ev)

	d := r.waitStatus(t, ev.IdempotencyKey, "delivered")
	if d.Attempts != 3 || len(d.AttemptLog) != 3 {
		t.Fatalf("delivery %+v; want 3 attempts", d)
	}
	for i, want := range []struct {
		code    int
		outcome string
	}{{503, "pending"}, {503, "pending"}, {200, "delivered"}} {
		if a := d.AttemptLog[i]; a.StatusCode != want.code || a.Outcome != want.outcome || a.Attempt != i+1 {
			t.Errorf("attempt %d: %+v, want %+v", i+1, a, want)
		}
	}
	reqs := b.got()
	if len(reqs) != 3 {
		t.Fatalf("buyer got %d requests", len(reqs))
	}
	sigs := map[string]bool{}
	for _, q := range reqs {
		if q.header.Get("Webhook-Id") != ev.IdempotencyKey || !bytes.Equal(q.body, ev.Payload) {
			t.Fatalf("a retry changed the key or the body: %v %s", q.header, q.body)
		}
		sigs[q.header.Get("Signature-Input")] = true
	}
	if len(sigs) != 3 {
		t.Fatal("each attempt must carry a fresh signature (new nonce)")
	}
}

func TestClientErrorFailsAtOnceAndCanBeRequeued(t *testing.T) {
	t.Parallel()
	prefix := natstest.Prefix(t)
	r := start(t, testConfig(pgtest.NewDatabase(t), prefix))
	b := newBuyer(t, http.StatusBadRequest) // then 200
	ev := newEvent(b.URL+"/hooks", nil)
	publish(t, prefix, ev)

	d := r.waitStatus(t, ev.IdempotencyKey, "failed")
	if d.Attempts != 1 || d.LastStatusCode != 400 || !strings.Contains(d.LastError, "HTTP 400") {
		t.Fatalf("delivery %+v", d)
	}
	if n := len(b.got()); n != 1 {
		t.Fatalf("buyer got %d requests", n)
	}

	path := fmt.Sprintf("/api/v1/deliveries/%d/retry", d.ID)
	if code := r.call(t, http.MethodPost, path, "", nil); code != http.StatusUnauthorized {
		t.Fatalf("retry without token: HTTP %d", code)
	}
	if code := r.call(t, http.MethodPost, path, "wrong", nil); code != http.StatusUnauthorized {
		t.Fatalf("retry with a wrong token: HTTP %d", code)
	}
	if code := r.call(t, http.MethodPost, path, adminToken, nil); code != http.StatusAccepted {
		t.Fatalf("retry: HTTP %d", code)
	}
	d = r.waitStatus(t, ev.IdempotencyKey, "delivered")
	if d.Attempts != 2 {
		t.Fatalf("after re-queue %+v", d)
	}
	if code := r.call(t, http.MethodPost, path, adminToken, nil); code != http.StatusConflict {
		t.Fatalf("retry of a delivered delivery: HTTP %d", code)
	}
	if code := r.call(t, http.MethodPost, "/api/v1/deliveries/999999/retry", adminToken, nil); code != http.StatusNotFound {
		t.Fatalf("retry of a missing delivery: HTTP %d", code)
	}
	if code := r.call(t, http.MethodGet, "/api/v1/deliveries?status=bogus", adminToken, nil); code != http.StatusBadRequest {
		t.Fatalf("bad status filter: HTTP %d", code)
	}
	if got := r.deliveries(t, "status=delivered&account_id=acct_demo"); len(got) != 1 {
		t.Fatalf("filtered list has %d rows", len(got))
	}
}

func TestRetriesEndInTheDeadLetterState(t *testing.T) {
	t.Parallel()
	prefix := natstest.Prefix(t)
	cfg := testConfig(pgtest.NewDatabase(t), prefix)
	cfg.Retry.MaxAttempts = 3
	r := start(t, cfg)
	b := newBuyer(t, 500, 502, 504, 500, 500)
	ev := newEvent(b.URL+"/hooks", nil)
	publish(t, prefix, ev)

	d := r.waitStatus(t, ev.IdempotencyKey, "dead")
	if d.Attempts != 3 || !strings.Contains(d.LastError, "gave up after 3 attempts") {
		t.Fatalf("delivery %+v", d)
	}
	if got := r.deliveries(t, "status=dead"); len(got) != 1 {
		t.Fatalf("dead letters: %d", len(got))
	}
}

func TestDuplicateEventsDeliverOnce(t *testing.T) {
	t.Parallel()
	prefix := natstest.Prefix(t)
	r := start(t, testConfig(pgtest.NewDatabase(t), prefix))
	b := newBuyer(t)
	ev := newEvent(b.URL+"/hooks", nil)
	// Same event republished (same id: JetStream dedups it) and the same
	// notification under a new event id (only our idempotent insert can
	// catch that one), then a sentinel. The consumer handles messages in
	// order, so once the sentinel's row exists both copies were handled.
	again := *ev
	again.EventID = ev.EventID + "-republished"
	sentinel := newEvent(b.URL+"/sentinel", nil)
	publish(t, prefix, ev, ev, &again, sentinel)

	r.waitStatus(t, sentinel.IdempotencyKey, "delivered")
	d := r.waitStatus(t, ev.IdempotencyKey, "delivered")
	if d.Attempts != 1 {
		t.Fatalf("delivery %+v", d)
	}
	if n := len(r.deliveries(t, "")); n != 2 {
		t.Fatalf("%d delivery rows, want 2 (one per idempotency key)", n)
	}
	count := 0
	for _, q := range b.got() {
		if q.header.Get("Webhook-Id") == ev.IdempotencyKey {
			count++
		}
	}
	if count != 1 {
		t.Fatalf("buyer received the notification %d times", count)
	}
}

func TestInvalidEventGoesToPoison(t *testing.T) {
	t.Parallel()
	prefix := natstest.Prefix(t)
	r := start(t, testConfig(pgtest.NewDatabase(t), prefix))
	bad := newEvent("http://127.0.0.1:9/hooks", nil)
	bad.Payload = json.RawMessage(`{"status":"approved","status":"rejected"}`)
	publish(t, prefix, bad)

	nc, err := broker.Connect(natstest.URL(), "notifier-test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := nc.JetStream()
	eventually(t, 20*time.Second, func() (bool, string) {
		info, err := js.StreamInfo(broker.Topic(prefix, broker.PoisonTopic))
		if err != nil {
			return false, err.Error()
		}
		return info.State.Msgs == 1, fmt.Sprintf("%d poison messages", info.State.Msgs)
	})
	if n := len(r.deliveries(t, "")); n != 0 {
		t.Fatalf("an invalid event created %d deliveries", n)
	}
}

func TestRestartResumesPendingRetry(t *testing.T) {
	t.Parallel()
	prefix := natstest.Prefix(t)
	dbURL := pgtest.NewDatabase(t)
	cfg := testConfig(dbURL, prefix)
	// Long enough that the retry cannot happen before the first instance
	// is stopped; short enough to keep the test quick.
	cfg.Retry.BaseDelay, cfg.Retry.MaxDelay = 2*time.Second, 2*time.Second
	first := start(t, cfg)
	kid := first.svc.KeyID()
	b := newBuyer(t, http.StatusServiceUnavailable) // then 200
	ev := newEvent(b.URL+"/hooks", nil)
	publish(t, prefix, ev)

	eventually(t, 20*time.Second, func() (bool, string) {
		d, ok := first.delivery(t, ev.IdempotencyKey)
		return ok && d.Attempts == 1 && d.Status == "pending" && d.LastStatusCode == 503, fmt.Sprintf("%+v", d)
	})
	first.stop()
	if n := len(b.got()); n != 1 {
		t.Fatalf("buyer got %d requests before the restart", n)
	}

	second := start(t, cfg)
	if second.svc.KeyID() != kid {
		t.Fatalf("signing key changed across restart: %s → %s", kid, second.svc.KeyID())
	}
	d := second.waitStatus(t, ev.IdempotencyKey, "delivered")
	if d.Attempts != 2 {
		t.Fatalf("delivery %+v", d)
	}
	reqs := b.got()
	if len(reqs) != 2 || reqs[1].header.Get("Webhook-Id") != ev.IdempotencyKey {
		t.Fatalf("buyer got %d requests", len(reqs))
	}
	var jwks signing.JWKS
	second.call(t, http.MethodGet, "/.well-known/jwks.json", "", &jwks)
	if err := signing.NewVerifier(jwks).Verify(http.MethodPost, reqs[1].url, reqs[1].header, reqs[1].body); err != nil {
		t.Fatalf("retry after restart does not verify: %v", err)
	}
}

func TestOperatorAPIDisabledWithoutAdminToken(t *testing.T) {
	t.Parallel()
	cfg := testConfig(pgtest.NewDatabase(t), natstest.Prefix(t))
	cfg.AdminToken = ""
	cfg.SigningKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize))
	cfg.SigningKeyID = "notifier-test-2026"
	r := start(t, cfg)
	if code := r.call(t, http.MethodGet, "/api/v1/deliveries", "", nil); code != http.StatusNotFound {
		t.Fatalf("list without ADMIN_TOKEN: HTTP %d, want 404", code)
	}
	if code := r.call(t, http.MethodPost, "/api/v1/deliveries/1/retry", "anything", nil); code != http.StatusNotFound {
		t.Fatalf("retry without ADMIN_TOKEN: HTTP %d, want 404", code)
	}
	var jwks signing.JWKS
	if code := r.call(t, http.MethodGet, "/.well-known/jwks.json", "", &jwks); code != http.StatusOK || len(jwks.Keys) != 1 {
		t.Fatalf("jwks: HTTP %d", code)
	}
	want := signing.NewKey(cfg.SigningKeyID, cfg.SigningKey).PublicJWK()
	if got := jwks.Keys[0]; got.Kid != want.Kid || got.X != want.X {
		t.Fatalf("published %+v, want the configured key %+v", got, want)
	}
}

// TestShutdownFinishesTheAttemptInFlight stops the service while a buyer is
// still answering: Run must wait for the answer and record it.
func TestShutdownFinishesTheAttemptInFlight(t *testing.T) {
	t.Parallel()
	prefix := natstest.Prefix(t)
	dbURL := pgtest.NewDatabase(t)
	r := start(t, testConfig(dbURL, prefix))
	arrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		once.Do(func() { close(arrived) })
		<-release
		w.WriteHeader(http.StatusOK)
	}))
	defer slow.Close()
	ev := newEvent(slow.URL+"/hooks", nil)
	publish(t, prefix, ev)

	select {
	case <-arrived:
	case <-time.After(20 * time.Second):
		t.Fatal("the attempt never started")
	}
	stopped := make(chan struct{})
	go func() { r.stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("Run returned while an attempt was in flight")
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("service did not stop after the attempt finished")
	}
	// A fresh instance sees the outcome the stopped one recorded.
	again := start(t, testConfig(dbURL, prefix))
	if d, ok := again.delivery(t, ev.IdempotencyKey); !ok || d.Status != "delivered" || d.Attempts != 1 {
		t.Fatalf("after shutdown: %+v", d)
	}
}

// TestReplicasShareTheWork runs two instances on one database and one
// consumer: each notification is consumed by one of them, and each delivery
// is claimed by one worker only.
func TestReplicasShareTheWork(t *testing.T) {
	t.Parallel()
	prefix := natstest.Prefix(t)
	cfg := testConfig(pgtest.NewDatabase(t), prefix)
	a := start(t, cfg)
	bSvc := start(t, cfg)
	if a.svc.KeyID() != bSvc.svc.KeyID() {
		t.Fatalf("replicas sign with different keys: %s, %s", a.svc.KeyID(), bSvc.svc.KeyID())
	}
	buyer := newBuyer(t)
	evs := make([]*events.NotificationRequestedV1, 30)
	for i := range evs {
		evs[i] = newEvent(buyer.URL+"/hooks", nil)
	}
	publish(t, prefix, evs...)
	eventually(t, 30*time.Second, func() (bool, string) {
		n := len(a.deliveries(t, "status=delivered&limit=1000"))
		return n == len(evs), fmt.Sprintf("%d of %d delivered", n, len(evs))
	})
	seen := map[string]int{}
	for _, q := range buyer.got() {
		seen[q.header.Get("Webhook-Id")]++
	}
	for _, ev := range evs {
		if seen[ev.IdempotencyKey] != 1 {
			t.Errorf("%s received %d times", ev.IdempotencyKey, seen[ev.IdempotencyKey])
		}
	}
}
