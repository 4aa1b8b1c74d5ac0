package notify_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/apperr"
	"example.com/creativesync/platform/signing"
	"example.com/creativesync/services/notifier/internal/notify"
)

var now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func TestClassify(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		res        notify.Result
		want       notify.Verdict
		retryAfter time.Duration
		reason     string
	}{
		{"200", notify.Result{StatusCode: 200}, notify.VerdictDelivered, 0, "HTTP 200"},
		{"202", notify.Result{StatusCode: 202}, notify.VerdictDelivered, 0, ""},
		{"204", notify.Result{StatusCode: 204}, notify.VerdictDelivered, 0, ""},
		{"408", notify.Result{StatusCode: 408}, notify.VerdictRetry, 0, ""},
		{"429 with seconds", notify.Result{StatusCode: 429, RetryAfter: "30"}, notify.VerdictRetry, 30 * time.Second, ""},
		{"503 with date", notify.Result{StatusCode: 503, RetryAfter: now.Add(90 * time.Second).Format(http.TimeFormat)}, notify.VerdictRetry, 90 * time.Second, ""},
		{"503 with past date", notify.Result{StatusCode: 503, RetryAfter: now.Add(-time.Hour).Format(http.TimeFormat)}, notify.VerdictRetry, 0, ""},
		{"500 with junk", notify.Result{StatusCode: 500, RetryAfter: "soon"}, notify.VerdictRetry, 0, ""},
		{"502", notify.Result{StatusCode: 502}, notify.VerdictRetry, 0, ""},
		{"504", notify.Result{StatusCode: 504}, notify.VerdictRetry, 0, ""},
		{"599", notify.Result{StatusCode: 599}, notify.VerdictRetry, 0, ""},
		{"network", notify.Result{Err: errors.New("connection refused")}, notify.VerdictRetry, 0, "network"},
		{"undeliverable", notify.Result{Err: fmt.Errorf("%w: blocked", notify.ErrUndeliverable)}, notify.VerdictReject, 0, "blocked"},
		{"301", notify.Result{StatusCode: 301}, notify.VerdictReject, 0, "redirect"},
		{"307", notify.Result{StatusCode: 307}, notify.VerdictReject, 0, "redirect"},
		{"400", notify.Result{StatusCode: 400}, notify.VerdictReject, 0, "HTTP 400"},
		{"401 signature", notify.Result{StatusCode: 401, WWWAuthenticate: `Signature error="webhook_signature_invalid"`}, notify.VerdictReject, 0, "webhook_signature_invalid"},
		{"401 plain", notify.Result{StatusCode: 401, WWWAuthenticate: `Bearer realm="x"`}, notify.VerdictReject, 0, "HTTP 401"},
		{"403", notify.Result{StatusCode: 403}, notify.VerdictReject, 0, ""},
		{"404", notify.Result{StatusCode: 404}, notify.VerdictReject, 0, ""},
		{"409", notify.Result{StatusCode: 409}, notify.VerdictReject, 0, ""},
		{"410", notify.Result{StatusCode: 410}, notify.VerdictReject, 0, "gone"},
		{"413", notify.Result{StatusCode: 413}, notify.VerdictReject, 0, ""},
		{"422", notify.Result{StatusCode: 422}, notify.VerdictReject, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := notify.Classify(tc.res, now)
			if c.Verdict != tc.want {
				t.Fatalf("verdict %v, want %v (%s)", c.Verdict, tc.want, c.Reason)
			}
			if c.RetryAfter != tc.retryAfter {
				t.Fatalf("retry-after %s, want %s", c.RetryAfter, tc.retryAfter)
			}
			if !strings.Contains(c.Reason, tc.reason) {
				t.Fatalf("reason %q lacks %q", c.Reason, tc.reason)
			}
		})
	}
}

func TestBackoffLadder(t *testing.T) {
	t.Parallel()
	p := notify.DefaultRetryPolicy()
	want := []time.Duration{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 3600, 3600}
	for i, w := range want {
		if got := p.Backoff(i + 1); got != w*time.Second {
			t.Errorf("Backoff(%d) = %s, want %s", i+1, got, w*time.Second)
		}
	}
	if got := p.Backoff(1000); got != time.Hour {
		t.Errorf("Backoff(1000) = %s; the cap must hold without overflow", got)
	}
	// The AdCP webhook storyboard wants at least two deliveries within 90 s
	// when the receiver answers 503 three times.
	if worst := time.Duration(float64(p.Backoff(1)) * (1 + p.Jitter)); worst > 90*time.Second {
		t.Error("second delivery would miss the storyboard's 90 s")
	}
	// The default ladder must reach the 24 h horizon before MaxAttempts.
	var total time.Duration
	for n := 1; n < p.MaxAttempts; n++ {
		total += p.Backoff(n)
	}
	if total < p.MaxAge {
		t.Errorf("%d attempts span %s, short of the %s horizon", p.MaxAttempts, total, p.MaxAge)
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	p := notify.DefaultRetryPolicy()
	mid := func() float64 { return 0.5 } // no jitter
	hi := func() float64 { return 0.999999 }
	lo := func() float64 { return 0 }
	fresh := notify.Delivery{WindowStart: now, WindowAttempts: 1}
	retry := notify.Classification{Verdict: notify.VerdictRetry, Reason: "HTTP 503"}

	for _, tc := range []struct {
		name     string
		d        notify.Delivery
		c        notify.Classification
		rnd      func() float64
		status   notify.Status
		delay    time.Duration
		inReason string
	}{
		{"delivered", fresh, notify.Classification{Verdict: notify.VerdictDelivered}, mid, notify.StatusDelivered, 0, ""},
		{"rejected", fresh, notify.Classification{Verdict: notify.VerdictReject, Reason: "HTTP 400"}, mid, notify.StatusFailed, 0, "HTTP 400"},
		{"first retry", fresh, retry, mid, notify.StatusPending, time.Second, "HTTP 503"},
		{"jitter up", fresh, retry, hi, notify.StatusPending, 1199999600 * time.Nanosecond, ""},
		{"jitter down", fresh, retry, lo, notify.StatusPending, 800 * time.Millisecond, ""},
		{"fifth retry", notify.Delivery{WindowStart: now, WindowAttempts: 5}, retry, mid, notify.StatusPending, 16 * time.Second, ""},
		{"retry-after longer", fresh, notify.Classification{Verdict: notify.VerdictRetry, RetryAfter: 2 * time.Minute}, mid, notify.StatusPending, 2 * time.Minute, ""},
		{"retry-after shorter", notify.Delivery{WindowStart: now, WindowAttempts: 5}, notify.Classification{Verdict: notify.VerdictRetry, RetryAfter: time.Second}, mid, notify.StatusPending, 16 * time.Second, ""},
		{"retry-after capped", fresh, notify.Classification{Verdict: notify.VerdictRetry, RetryAfter: 48 * time.Hour}, mid, notify.StatusPending, time.Hour, ""},
		{"attempts exhausted", notify.Delivery{WindowStart: now, WindowAttempts: p.MaxAttempts}, retry, mid, notify.StatusDead, 0, "gave up after 40 attempts"},
		{"horizon reached", notify.Delivery{WindowStart: now.Add(-24*time.Hour + 30*time.Minute), WindowAttempts: 20}, retry, mid, notify.StatusDead, 0, "horizon"},
		{"horizon not yet", notify.Delivery{WindowStart: now.Add(-22 * time.Hour), WindowAttempts: 20}, retry, mid, notify.StatusPending, time.Hour, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := p.Decide(tc.d, tc.c, now, tc.rnd)
			if tr.Status != tc.status {
				t.Fatalf("status %s, want %s (%s)", tr.Status, tc.status, tr.Reason)
			}
			if tc.status == notify.StatusPending {
				if got := tr.NextAttemptAt.Sub(now); got != tc.delay {
					t.Fatalf("delay %s, want %s", got, tc.delay)
				}
			}
			if !strings.Contains(tr.Reason, tc.inReason) {
				t.Fatalf("reason %q lacks %q", tr.Reason, tc.inReason)
			}
		})
	}
}

func TestRetryPolicyValidate(t *testing.T) {
	t.Parallel()
	if err := notify.DefaultRetryPolicy().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := notify.RetryPolicy{BaseDelay: 0, MaxDelay: -1, MaxAge: 0, MaxAttempts: 0, Jitter: 1}
	err := bad.Validate()
	if err == nil {
		t.Fatal("bad policy accepted")
	}
	for _, want := range []string{"base delay", "max delay", "max age", "max attempts", "jitter"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func validEvent() *events.NotificationRequestedV1 {
	return &events.NotificationRequestedV1{
		Header:         events.Header{EventID: "ev-1", CorrelationID: "corr-1"},
		IdempotencyKey: "whk_0b8e5a521c1d4c55",
		AccountID:      "acct_demo",
		TaskID:         "task_01",
		Kind:           "task_status",
		URL:            "https://buyer.example.com/hooks",
		Payload:        json.RawMessage(`{"task_id":"task_01","status":"completed"}`),
	}
}

func TestFromEvent(t *testing.T) {
	t.Parallel()
	d, err := notify.FromEvent(validEvent(), now, signing.CheckHMACSecret, signing.CheckPayload)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != notify.StatusPending || !d.NextAttemptAt.Equal(now) || !d.WindowStart.Equal(now) || d.AuthScheme != notify.SchemeRFC9421 {
		t.Fatalf("delivery %+v", d)
	}
	if string(d.Payload) != `{"task_id":"task_01","status":"completed"}` {
		t.Fatalf("payload changed: %s", d.Payload)
	}

	for _, tc := range []struct {
		name   string
		mutate func(*events.NotificationRequestedV1)
		want   string
	}{
		{"short key", func(e *events.NotificationRequestedV1) { e.IdempotencyKey = "short" }, "idempotency_key"},
		{"key with newline", func(e *events.NotificationRequestedV1) { e.IdempotencyKey = "whk_0123456789abcdef\r\nX: y" }, "idempotency_key"},
		{"no account", func(e *events.NotificationRequestedV1) { e.AccountID = "" }, "account_id"},
		{"relative url", func(e *events.NotificationRequestedV1) { e.URL = "/hooks" }, "url"},
		{"no payload", func(e *events.NotificationRequestedV1) { e.Payload = nil }, "payload"},
		{"duplicate keys", func(e *events.NotificationRequestedV1) { e.Payload = json.RawMessage(`{"s":"a","s":"b"}`) }, "duplicate_key_input"},
		{"huge payload", func(e *events.NotificationRequestedV1) {
			e.Payload = json.RawMessage(`"` + strings.Repeat("x", notify.MaxPayloadBytes) + `"`)
		}, "limit"},
		{"unknown scheme", func(e *events.NotificationRequestedV1) {
			e.Auth = &events.WebhookAuth{Scheme: "Basic", Credentials: "x"}
		}, "Basic"},
		{"weak secret", func(e *events.NotificationRequestedV1) {
			e.Auth = &events.WebhookAuth{Scheme: "HMAC-SHA256", Credentials: "too-short"}
		}, "HMAC secret"},
		{"empty bearer", func(e *events.NotificationRequestedV1) { e.Auth = &events.WebhookAuth{Scheme: "Bearer"} }, "Bearer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := validEvent()
			tc.mutate(ev)
			_, err := notify.FromEvent(ev, now, signing.CheckHMACSecret, signing.CheckPayload)
			if err == nil || !apperr.IsPermanent(err) {
				t.Fatalf("want a permanent error, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q lacks %q", err, tc.want)
			}
		})
	}
}
