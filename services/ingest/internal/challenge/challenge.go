// Package challenge proves that a buyer controls a webhook endpoint before
// its account-level subscription goes active (AdCP 3.1 sync_accounts
// notification_configs): a webhook.challenge POST, signed with the seller's
// RFC 9421 webhook key, whose random token the endpoint must echo.
package challenge

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"example.com/creativesync/platform/netguard"
	"example.com/creativesync/platform/signing"
	"example.com/creativesync/services/ingest/internal/creative"
)

// Timeout bounds one challenge (AdCP: the SSRF fetch caps, 10 s).
const Timeout = 10 * time.Second

// maxResponse bounds the echo we read.
const maxResponse = 64 << 10

// Prover sends challenges. It implements creative.Prover.
type Prover struct {
	client         *http.Client
	signer         *signing.WebhookSigner
	sellerAgentURL string
	allowPrivate   bool
}

// New returns a prover; client may be nil: then a client with Timeout
// whose connections go through platform/netguard (the notifier's delivery
// guard), so the address actually dialled, after DNS and on redirects, is
// checked too. allowPrivate permits loopback and private targets (dev and
// tests).
func New(client *http.Client, signer *signing.WebhookSigner, sellerAgentURL string, allowPrivate bool) *Prover {
	if signer == nil {
		panic("challenge.New: nil signer")
	}
	if client == nil {
		d := &netguard.Dialer{AllowPrivate: allowPrivate, Timeout: Timeout}
		client = &http.Client{Timeout: Timeout, Transport: &http.Transport{DialContext: d.DialContext,
			TLSHandshakeTimeout: Timeout, ResponseHeaderTimeout: Timeout, MaxIdleConnsPerHost: 2}}
	}
	return &Prover{client: client, signer: signer, sellerAgentURL: sellerAgentURL, allowPrivate: allowPrivate}
}

// body is core/webhook-challenge.json.
type body struct {
	Type           string       `json:"type"`
	Challenge      string       `json:"challenge"`
	AccountID      string       `json:"account_id"`
	SubscriberID   string       `json:"subscriber_id"`
	SellerAgentURL string       `json:"seller_agent_url"`
	DeliveryAuth   deliveryAuth `json:"delivery_auth"`
	EventTypes     []string     `json:"event_types"`
}

type deliveryAuth struct {
	Mode string `json:"mode"`
}

// Prove sends one challenge and checks the echo. The error says why the
// proof failed, for the buyer.
func (p *Prover) Prove(ctx context.Context, c creative.Challenge) error {
	u, err := url.Parse(c.URL)
	if err != nil {
		return errors.New("the url does not parse")
	}
	if err := p.checkTarget(ctx, u.Hostname()); err != nil {
		return err
	}
	var raw [24]byte
	_, _ = rand.Read(raw[:]) // never fails (Go 1.24+ aborts instead)
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	mode := "rfc9421"
	switch c.AuthScheme {
	case "Bearer":
		mode = "bearer"
	case "HMAC-SHA256":
		mode = "hmac-sha256"
	}
	b, err := json.Marshal(body{Type: "webhook.challenge", Challenge: token, AccountID: c.AccountID, SubscriberID: c.SubscriberID,
		SellerAgentURL: p.sellerAgentURL, DeliveryAuth: deliveryAuth{Mode: mode}, EventTypes: c.EventTypes})
	if err != nil {
		return fmt.Errorf("encoding the challenge: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(b))
	if err != nil {
		return errors.New("the url is not usable for a POST")
	}
	// The challenge is always signed with the RFC 9421 profile, whatever
	// delivery authentication the subscriber chose.
	if err := p.signer.Sign(req, b); err != nil {
		return fmt.Errorf("signing the challenge: %w", err)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return errors.New("the endpoint could not be reached")
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the endpoint answered HTTP %d", resp.StatusCode)
	}
	echo, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return errors.New("the endpoint's answer could not be read")
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(echo, &m) != nil || len(m) != 1 {
		return errors.New(`the endpoint must answer {"challenge": "<token>"} (or {"token": …}) and nothing else`)
	}
	for _, field := range []string{"challenge", "token"} {
		if v, ok := m[field]; ok {
			var got string
			if json.Unmarshal(v, &got) == nil && got == token {
				return nil
			}
		}
	}
	return errors.New("the endpoint did not echo the challenge token")
}

// checkTarget refuses, unless allowed, a host that resolves to an address
// netguard blocks (loopback, private, link-local, cloud metadata, every
// non-public range), with a reason the buyer can act on. It is the early,
// friendly check; the default client's dialer enforces the same rule on the
// address it connects to.
func (p *Prover) checkTarget(ctx context.Context, host string) error {
	if p.allowPrivate {
		return nil
	}
	var addrs []netip.Addr
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else if a, ok := netguard.LegacyIPv4(host); ok {
		// 2130706433, 0x7f000001, 127.1: addresses that look like names,
		// judged as those addresses and never sent to DNS.
		addrs = []netip.Addr{a}
	} else if name == "localhost" || strings.HasSuffix(name, ".localhost") || strings.HasSuffix(name, ".local") ||
		strings.HasSuffix(name, ".internal") {
		return errors.New("the url's host is a local name, not a public host")
	} else if addrs, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host); err != nil || len(addrs) == 0 {
		return errors.New("the url's host does not resolve")
	}
	for _, a := range addrs {
		if r := netguard.BlockReason(a); r != "" {
			return fmt.Errorf("the url's host is not a public address (%s)", r)
		}
	}
	return nil
}
