package webhook_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"example.com/creativesync/services/notifier/internal/notify"
	"example.com/creativesync/services/notifier/internal/signing"
	"example.com/creativesync/services/notifier/internal/webhook"
)

func TestBlockReason(t *testing.T) {
	t.Parallel()
	blocked := []string{
		"0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255", "100.64.0.1", "100.100.100.200", "127.0.0.1", "127.8.9.10",
		"169.254.169.254", "169.254.0.1", "172.16.0.1", "172.31.255.254", "192.0.0.192", "192.0.2.5", "192.168.1.1",
		"198.18.0.1", "198.51.100.7", "203.0.113.9", "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
		"::", "::1", "fe80::1", "fe80::1%eth0", "fc00::1", "fd00:ec2::254", "ff02::1", "fec0::1", "2001:db8::1",
		"2001::1", "100::1", "::7f00:1", "64:ff9b:1::1",
		// IPv4 hidden in IPv6 forms.
		"::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "64:ff9b::7f00:1",
		"2002:7f00:1::1", "2002:a9fe:a9fe::",
	}
	allowed := []string{
		"8.8.8.8", "1.1.1.1", "93.184.215.14", "100.63.255.255", "100.128.0.1", "172.15.255.255", "172.32.0.1",
		"192.169.0.1", "2606:4700::1111", "2a00:1450::1", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
	}
	for _, s := range blocked {
		if r := webhook.BlockReason(netip.MustParseAddr(s)); r == "" {
			t.Errorf("%s is allowed; want blocked", s)
		}
	}
	for _, s := range allowed {
		if r := webhook.BlockReason(netip.MustParseAddr(s)); r != "" {
			t.Errorf("%s is blocked (%s); want allowed", s, r)
		}
	}
	if webhook.BlockReason(netip.Addr{}) == "" {
		t.Error("the zero address must be blocked (fail closed)")
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url          string
		allowPrivate bool
		ok           bool
	}{
		{"https://buyer.example.com/hook", false, true},
		{"http://buyer.example.com/hook", false, false},
		{"http://buyer.example.com/hook", true, true},
		{"ftp://buyer.example.com/hook", true, false},
		{"https://user:pw@buyer.example.com/hook", false, false},
		{"https://127.0.0.1/hook", false, false},
		{"https://[::1]/hook", false, false},
		{"https://[::ffff:169.254.169.254]/latest", false, false},
		{"https://127.0.0.1/hook", true, true},
		{"https://2130706433/hook", false, false},
		{"https://0x7f000001/hook", false, false},
		{"https://127.1/hook", false, false},
		{"https:///nohost", false, false},
		{"::not a url", false, false},
	} {
		_, err := webhook.CheckURL(tc.url, tc.allowPrivate)
		if (err == nil) != tc.ok {
			t.Errorf("CheckURL(%s, %v) = %v; want ok=%v", tc.url, tc.allowPrivate, err, tc.ok)
		}
		if err != nil && !errors.Is(err, notify.ErrUndeliverable) {
			t.Errorf("CheckURL(%s): %v is not undeliverable", tc.url, err)
		}
	}
}

// TestDialerChecksTheDialledAddress simulates DNS rebinding: the name passes
// every check that looks only at the URL, and resolves to loopback when the
// connection is made. The Control hook must refuse it, and nothing may
// reach the listener.
func TestDialerChecksTheDialledAddress(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	port := srv.Listener.Addr().(interface{ AddrPort() netip.AddrPort }).AddrPort().Port()

	rebind := func(context.Context, string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	s := newSender(t, false, rebind)
	url := "https://rebind.buyer.example:" + strconv.Itoa(int(port)) + "/hook"
	if _, err := webhook.CheckURL(url, false); err != nil {
		t.Fatalf("the URL alone must look fine: %v", err)
	}
	res := s.Send(context.Background(), delivery(url, notify.SchemeRFC9421, ""))
	var be *webhook.BlockedError
	if !errors.As(res.Err, &be) || !errors.Is(res.Err, notify.ErrUndeliverable) {
		t.Fatalf("want a blocked, undeliverable error; got %v", res.Err)
	}
	if !strings.Contains(be.Reason, "loopback") {
		t.Fatalf("reason %q", be.Reason)
	}
	if hits.Load() != 0 {
		t.Fatal("the blocked target was reached")
	}
	if c := notify.Classify(res, time.Now()); c.Verdict != notify.VerdictReject {
		t.Fatalf("a blocked target must be terminal, got %v", c.Verdict)
	}

	// A name that resolves to several addresses, all blocked, is blocked.
	multi := func(context.Context, string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("::ffff:127.0.0.1"), netip.MustParseAddr("169.254.169.254")}, nil
	}
	res = newSender(t, false, multi).Send(context.Background(), delivery(url, notify.SchemeRFC9421, ""))
	if !errors.Is(res.Err, notify.ErrUndeliverable) {
		t.Fatalf("want undeliverable, got %v", res.Err)
	}
}

var testKey = signing.NewKey("test-kid", ed25519.NewKeyFromSeed(make([]byte, 32)))

func newSender(t *testing.T, allowPrivate bool, resolve webhook.Resolver) *webhook.Sender {
	t.Helper()
	ws, err := signing.NewWebhookSigner(testKey, 300*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := webhook.NewSender(webhook.Config{Signer: ws, AllowPrivate: allowPrivate, Timeout: 2 * time.Second, Resolve: resolve})
	t.Cleanup(s.Close)
	return s
}

const payload = `{"idempotency_key":"whk_0123456789abcdef","task_id":"task_1","status":"completed","note":"<&>"}`

func delivery(url, scheme, creds string) notify.Delivery {
	return notify.Delivery{ID: 1, IdempotencyKey: "whk_0123456789abcdef", URL: url,
		AuthScheme: scheme, AuthCredentials: creds, Payload: []byte(payload)}
}

type captured struct {
	header http.Header
	body   []byte
	url    string
}

func receiver(t *testing.T, status int, got chan<- captured) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- captured{header: r.Header.Clone(), body: b, url: "http://" + r.Host + r.URL.RequestURI()}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestSenderSignsEachMode(t *testing.T) {
	t.Parallel()
	got := make(chan captured, 1)
	srv := receiver(t, http.StatusNoContent, got)
	s := newSender(t, true, nil)
	secret := "0123456789abcdef0123456789abcdef-secret"

	t.Run("rfc9421", func(t *testing.T) {
		res := s.Send(context.Background(), delivery(srv.URL+"/hooks/./a/../op_1?b=2&a=1", notify.SchemeRFC9421, ""))
		if res.Err != nil || res.StatusCode != http.StatusNoContent {
			t.Fatalf("result %+v", res)
		}
		c := <-got
		if string(c.body) != payload {
			t.Fatalf("body %q", c.body)
		}
		if !strings.HasSuffix(c.url, "/hooks/op_1?b=2&a=1") {
			t.Fatalf("sent to %s; want the canonical target", c.url)
		}
		v := signing.NewVerifier(signing.JWKS{Keys: []signing.JWK{testKey.PublicJWK()}})
		if err := v.Verify(http.MethodPost, c.url, c.header, c.body); err != nil {
			t.Fatalf("verify: %v", err)
		}
		if c.header.Get("Webhook-Id") != "whk_0123456789abcdef" || c.header.Get("Content-Type") != "application/json" {
			t.Fatalf("headers %v", c.header)
		}
		if c.header.Get(signing.HeaderADCPSignature) != "" || c.header.Get("Authorization") != "" {
			t.Fatal("RFC 9421 mode must not also sign the legacy way")
		}
	})
	t.Run("hmac", func(t *testing.T) {
		res := s.Send(context.Background(), delivery(srv.URL, notify.SchemeHMAC, secret))
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		c := <-got
		err := signing.VerifyHMAC([]byte(secret), c.header.Get(signing.HeaderADCPTimestamp), c.header.Get(signing.HeaderADCPSignature), c.body, time.Now())
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		if c.header.Get("Signature") != "" {
			t.Fatal("HMAC mode must not also sign with RFC 9421")
		}
	})
	t.Run("bearer", func(t *testing.T) {
		res := s.Send(context.Background(), delivery(srv.URL, notify.SchemeBearer, secret))
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		if c := <-got; c.header.Get("Authorization") != "Bearer "+secret {
			t.Fatalf("Authorization %q", c.header.Get("Authorization"))
		}
	})
	t.Run("weak hmac secret is undeliverable", func(t *testing.T) {
		res := s.Send(context.Background(), delivery(srv.URL, notify.SchemeHMAC, "short"))
		if !errors.Is(res.Err, notify.ErrUndeliverable) {
			t.Fatalf("got %v", res.Err)
		}
	})
}

func TestSenderDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	var followed atomic.Bool
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { followed.Store(true) }))
	defer target.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()
	res := newSender(t, true, nil).Send(context.Background(), delivery(redirect.URL, notify.SchemeRFC9421, ""))
	if res.Err != nil || res.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("result %+v", res)
	}
	if followed.Load() {
		t.Fatal("redirect was followed")
	}
	if c := notify.Classify(res, time.Now()); c.Verdict != notify.VerdictReject {
		t.Fatalf("3xx verdict %v", c.Verdict)
	}
}

func TestSenderCapsAndTimesOut(t *testing.T) {
	t.Parallel()
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusServiceUnavailable)
		chunk := []byte(strings.Repeat("x", 1<<16))
		for range 64 { // 4 MiB, far past the cap
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer huge.Close()
	res := newSender(t, true, nil).Send(context.Background(), delivery(huge.URL, notify.SchemeRFC9421, ""))
	if res.StatusCode != http.StatusServiceUnavailable || res.RetryAfter != "7" {
		t.Fatalf("result %+v", res)
	}

	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	res = newSender(t, true, nil).Send(context.Background(), delivery(slow.URL, notify.SchemeRFC9421, ""))
	if res.Err == nil || errors.Is(res.Err, notify.ErrUndeliverable) {
		t.Fatalf("a timeout must be a retryable error, got %+v", res)
	}
	if c := notify.Classify(res, time.Now()); c.Verdict != notify.VerdictRetry {
		t.Fatalf("timeout verdict %v", c.Verdict)
	}
}

func TestSenderRequiresHTTPSForPublicTargets(t *testing.T) {
	t.Parallel()
	res := newSender(t, false, nil).Send(context.Background(), delivery("http://buyer.example.com/hook", notify.SchemeRFC9421, ""))
	if !errors.Is(res.Err, notify.ErrUndeliverable) || !strings.Contains(res.Err.Error(), "https") {
		t.Fatalf("got %v", res.Err)
	}
}

// BenchmarkSend is one attempt without the database: RFC 9421 signing plus
// an HTTP POST to a loopback receiver over a kept-alive connection.
func BenchmarkSend(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	ws, err := signing.NewWebhookSigner(testKey, 300*time.Second, nil)
	if err != nil {
		b.Fatal(err)
	}
	s := webhook.NewSender(webhook.Config{Signer: ws, AllowPrivate: true, Timeout: 5 * time.Second})
	defer s.Close()
	d := delivery(srv.URL+"/hooks", notify.SchemeRFC9421, "")
	b.ReportAllocs()
	for b.Loop() {
		if res := s.Send(context.Background(), d); res.StatusCode != http.StatusNoContent {
			b.Fatalf("result %+v", res)
		}
	}
}
