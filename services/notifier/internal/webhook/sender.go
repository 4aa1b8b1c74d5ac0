package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"time"

	"example.com/creativesync/services/notifier/internal/notify"
	"example.com/creativesync/services/notifier/internal/signing"
)

// MaxResponseBytes is how much of a receiver's answer is read. The body is
// only drained so the connection can be reused; it is never stored or shown
// to anyone, so there is no reason to read more.
const MaxResponseBytes = 64 << 10

// Config configures a Sender.
type Config struct {
	// Signer is the RFC 9421 signer used when the buyer chose no legacy scheme.
	Signer notify.Signer
	// AllowPrivate permits http:// and private, loopback and link-local
	// targets. Only for development and tests.
	AllowPrivate bool
	// Timeout bounds one attempt end to end (connect, TLS, send, response).
	Timeout time.Duration
	// Resolve replaces DNS resolution; nil uses the system resolver.
	Resolve Resolver
	// Now is the clock for HMAC timestamps; nil means time.Now.
	Now func() time.Time
	// UserAgent identifies us to receivers.
	UserAgent string
}

// Sender posts deliveries.
type Sender struct {
	cfg    Config
	client *http.Client
}

// NewSender builds a sender with its own transport: no proxy (a proxy would
// dial on our behalf and bypass the address check), no redirects, TLS ≥ 1.2.
func NewSender(cfg Config) *Sender {
	if cfg.Signer == nil || cfg.Timeout <= 0 {
		panic("webhook: sender needs a signer and a timeout")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "creativesync-notifier/1"
	}
	dialer := &Dialer{AllowPrivate: cfg.AllowPrivate, Resolve: cfg.Resolve, Timeout: cfg.Timeout, Sentinel: notify.ErrUndeliverable}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
	}
	return &Sender{cfg: cfg, client: &http.Client{
		Transport: transport,
		Timeout:   cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// Close releases idle connections.
func (s *Sender) Close() { s.client.CloseIdleConnections() }

// Send makes one attempt and reports what happened; it never retries.
func (s *Sender) Send(ctx context.Context, d notify.Delivery) notify.Result {
	req, err := s.request(ctx, d)
	if err != nil {
		return notify.Result{Err: err}
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return notify.Result{Err: err}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxResponseBytes))
	_ = resp.Body.Close()
	return notify.Result{
		StatusCode:      resp.StatusCode,
		RetryAfter:      resp.Header.Get("Retry-After"),
		WWWAuthenticate: resp.Header.Get("WWW-Authenticate"),
	}
}

func (s *Sender) request(ctx context.Context, d notify.Delivery) (*http.Request, error) {
	u, err := CheckURL(d.URL, s.cfg.AllowPrivate)
	if err != nil {
		return nil, err
	}
	// Send to the canonical form of the URL, the same string the RFC 9421
	// signature covers, so any verifier's canonicalisation agrees with ours.
	target, _, err := signing.CanonicalTarget(u.String())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", notify.ErrUndeliverable, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(d.Payload))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", notify.ErrUndeliverable, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.cfg.UserAgent)
	// Standard Webhooks' event id header, equal to the payload's
	// idempotency_key: receivers can dedup without parsing the body.
	req.Header.Set("Webhook-Id", d.IdempotencyKey)

	var signer notify.Signer
	switch d.AuthScheme {
	case notify.SchemeRFC9421:
		signer = s.cfg.Signer
	case notify.SchemeHMAC:
		if signer, err = signing.NewHMACSigner(d.AuthCredentials, s.cfg.Now); err != nil {
			return nil, fmt.Errorf("%w: %v", notify.ErrUndeliverable, err)
		}
	case notify.SchemeBearer:
		signer = signing.BearerSigner{Token: d.AuthCredentials}
	default:
		return nil, fmt.Errorf("%w: unknown auth scheme %q", notify.ErrUndeliverable, d.AuthScheme)
	}
	if err := signer.Sign(req, d.Payload); err != nil {
		return nil, fmt.Errorf("%w: signing: %v", notify.ErrUndeliverable, err)
	}
	return req, nil
}
