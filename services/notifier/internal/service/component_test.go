package service_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	"example.com/creativesync/platform/servicetest"
	"example.com/creativesync/platform/signing"
	"example.com/creativesync/services/notifier/internal/notify"
	"example.com/creativesync/services/notifier/internal/service"
)

const adminToken = "test-admin-token"

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

// running is a started service instance.
type running struct {
	*servicetest.Running[*service.Service]
}

// start runs a service until Stop or the end of the test and waits until
// it is ready.
func start(t testing.TB, cfg service.Config) running {
	t.Helper()
	log := servicetest.Logger(t)
	return running{servicetest.Start(t, func(ctx context.Context) (*service.Service, error) {
		return service.New(ctx, cfg, log)
	})}
}

// publish sends notifications as ingest would.
func publish(bk *natstest.Broker, evs ...*events.NotificationRequestedV1) {
	for _, ev := range evs {
		bk.Publish(ev)
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

func (r running) call(t testing.TB, method, path, token string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, r.URL+path, nil)
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

func (r running) deliveries(t testing.TB, query string) []deliveryJSON {
	t.Helper()
	var out struct {
		Deliveries []deliveryJSON `json:"deliveries"`
	}
	if code := r.call(t, http.MethodGet, "/api/v1/deliveries?"+query, adminToken, &out); code != http.StatusOK {
		t.Fatalf("list deliveries: HTTP %d", code)
	}
	return out.Deliveries
}

func (r running) delivery(t *testing.T, key string) (deliveryJSON, bool) {
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

func (r running) waitStatus(t *testing.T, key, status string) deliveryJSON {
	t.Helper()
	var d deliveryJSON
	servicetest.Eventually(t, 20*time.Second, func() error {
		var ok bool
		d, ok = r.delivery(t, key)
		if !ok || d.Status != status {
			return fmt.Errorf("want status %s, have %+v", status, d)
		}
		return nil
	})
	return d
}

func TestDeliversExactBytesSignedWithRFC9421(t *testing.T) {
	t.Parallel()
	bk := natstest.NewBroker(t)
	r := start(t, testConfig(pgtest.NewDatabase(t), bk.Prefix))
	b := newBuyer(t)
	ev := newEvent(b.URL+"/adcp/webhook/sync_creatives/op_1?x=1", nil)
	publish(bk, ev)

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
	if k.Kid != r.Svc.KeyID() || k.AdcpUse != "webhook-signing" || k.Alg != "EdDSA" || k.Use != "sig" {
		t.Fatalf("jwk %+v", k)
	}
	if err := signing.NewVerifier(jwks).Verify(http.MethodPost, got.url, got.header, got.body); err != nil {
		t.Fatalf("signature does not verify against the published JWKS: %v", err)
	}

	servicetest.Eventually(t, 10*time.Second, func() error {
		resp, err := http.Get(r.URL + "/metrics")
		if err != nil {
			return err
		}
		m, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ok := strings.Contains(string(m), `notifier_deliveries_total{outcome="delivered"} 1`) &&
			strings.Contains(string(m), `notifier_attempt_duration_seconds_count{verdict="delivered"} 1`) &&
			strings.Contains(string(m), "notifier_queue_due 0")
		if !ok {
			return errors.New("metrics not updated yet")
		}
		return nil
	})
}

func TestDeliversWithLegacyHMAC(t *testing.T) {
	t.Parallel()
	bk := natstest.NewBroker(t)
	r := start(t, testConfig(pgtest.NewDatabase(t), bk.Prefix))
	b := newBuyer(t)
	secret := "7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c1e"
	ev := newEvent(b.URL+"/hooks", &events.WebhookAuth{Scheme: "HMAC-SHA256", Credentials: secret})
	publish(bk, ev)

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
	bk := natstest.NewBroker(t)
	r := start(t, testConfig(pgtest.NewDatabase(t), bk.Prefix))
	b := newBuyer(t, http.StatusServiceUnavailable, http.StatusServiceUnavailable, http.StatusOK)
	ev := newEvent(b.URL+"/hooks", nil)
	publish(bk, ev)

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
	bk := natstest.NewBroker(t)
	r := start(t, testConfig(pgtest.NewDatabase(t), bk.Prefix))
	b := newBuyer(t, http.StatusBadRequest) // then 200
	ev := newEvent(b.URL+"/hooks", nil)
	publish(bk, ev)

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
	bk := natstest.NewBroker(t)
	cfg := testConfig(pgtest.NewDatabase(t), bk.Prefix)
	cfg.Retry.MaxAttempts = 3
	r := start(t, cfg)
	b := newBuyer(t, 500, 502, 504, 500, 500)
	ev := newEvent(b.URL+"/hooks", nil)
	publish(bk, ev)

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
	bk := natstest.NewBroker(t)
	r := start(t, testConfig(pgtest.NewDatabase(t), bk.Prefix))
	b := newBuyer(t)
	ev := newEvent(b.URL+"/hooks", nil)
	// Same event republished (same id: JetStream dedups it) and the same
	// notification under a new event id (only our idempotent insert can
	// catch that one), then a sentinel. The consumer handles messages in
	// order, so once the sentinel's row exists both copies were handled.
	again := *ev
	again.EventID = ev.EventID + "-republished"
	sentinel := newEvent(b.URL+"/sentinel", nil)
	publish(bk, ev, ev, &again, sentinel)

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
	bk := natstest.NewBroker(t)
	r := start(t, testConfig(pgtest.NewDatabase(t), bk.Prefix))
	bad := newEvent("http://127.0.0.1:9/hooks", nil)
	bad.Payload = json.RawMessage(`{"status":"approved","status":"rejected"}`)
	publish(bk, bad)

	servicetest.Eventually(t, 20*time.Second, func() error {
		if n := bk.Count(broker.PoisonTopic); n != 1 {
			return fmt.Errorf("%d poison messages, want 1", n)
		}
		return nil
	})
	if n := len(r.deliveries(t, "")); n != 0 {
		t.Fatalf("an invalid event created %d deliveries", n)
	}
}

func TestRestartResumesPendingRetry(t *testing.T) {
	t.Parallel()
	bk := natstest.NewBroker(t)
	dbURL := pgtest.NewDatabase(t)
	cfg := testConfig(dbURL, bk.Prefix)
	// Long enough that the retry cannot happen before the first instance
	// is stopped; short enough to keep the test quick.
	cfg.Retry.BaseDelay, cfg.Retry.MaxDelay = 2*time.Second, 2*time.Second
	first := start(t, cfg)
	kid := first.Svc.KeyID()
	b := newBuyer(t, http.StatusServiceUnavailable) // then 200
	ev := newEvent(b.URL+"/hooks", nil)
	publish(bk, ev)

	servicetest.Eventually(t, 20*time.Second, func() error {
		d, ok := first.delivery(t, ev.IdempotencyKey)
		if !ok || d.Attempts != 1 || d.Status != "pending" || d.LastStatusCode != 503 {
			return fmt.Errorf("want one failed attempt pending a retry, have %+v", d)
		}
		return nil
	})
	first.Stop()
	if n := len(b.got()); n != 1 {
		t.Fatalf("buyer got %d requests before the restart", n)
	}

	second := start(t, cfg)
	if second.Svc.KeyID() != kid {
		t.Fatalf("signing key changed across restart: %s → %s", kid, second.Svc.KeyID())
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
	bk := natstest.NewBroker(t)
	dbURL := pgtest.NewDatabase(t)
	r := start(t, testConfig(dbURL, bk.Prefix))
	arrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		once.Do(func() { close(arrived) })
		<-release
		w.WriteHeader(http.StatusOK)
	}))
	defer slow.Close()
	ev := newEvent(slow.URL+"/hooks", nil)
	publish(bk, ev)

	select {
	case <-arrived:
	case <-time.After(20 * time.Second):
		t.Fatal("the attempt never started")
	}
	stopped := make(chan struct{})
	go func() { r.Stop(); close(stopped) }()
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
	again := start(t, testConfig(dbURL, bk.Prefix))
	if d, ok := again.delivery(t, ev.IdempotencyKey); !ok || d.Status != "delivered" || d.Attempts != 1 {
		t.Fatalf("after shutdown: %+v", d)
	}
}

// TestReplicasShareTheWork runs two instances on one database and one
// consumer: each notification is consumed by one of them, and each delivery
// is claimed by one worker only.
func TestReplicasShareTheWork(t *testing.T) {
	t.Parallel()
	bk := natstest.NewBroker(t)
	cfg := testConfig(pgtest.NewDatabase(t), bk.Prefix)
	a := start(t, cfg)
	bSvc := start(t, cfg)
	if a.Svc.KeyID() != bSvc.Svc.KeyID() {
		t.Fatalf("replicas sign with different keys: %s, %s", a.Svc.KeyID(), bSvc.Svc.KeyID())
	}
	buyer := newBuyer(t)
	evs := make([]*events.NotificationRequestedV1, 30)
	for i := range evs {
		evs[i] = newEvent(buyer.URL+"/hooks", nil)
	}
	publish(bk, evs...)
	servicetest.Eventually(t, 30*time.Second, func() error {
		n := len(a.deliveries(t, "status=delivered&limit=1000"))
		if n != len(evs) {
			return fmt.Errorf("%d of %d delivered", n, len(evs))
		}
		return nil
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
