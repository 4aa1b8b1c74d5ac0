// Package webhook sends deliveries over HTTP: it picks the signer the buyer
// chose, posts the exact payload bytes and refuses to reach addresses a
// buyer-supplied URL must never reach (SSRF, through platform/netguard).
package webhook

import (
	"fmt"
	"net/netip"
	"net/url"

	"example.com/creativesync/platform/netguard"
	"example.com/creativesync/services/notifier/internal/notify"
)

// BlockedError says why a target address was refused; it is undeliverable
// (errors.Is notify.ErrUndeliverable).
type BlockedError = netguard.BlockedError

// Dialer dials only public addresses (see netguard.Dialer).
type Dialer = netguard.Dialer

// Resolver looks up a host's addresses; tests replace it.
type Resolver = netguard.Resolver

// BlockReason returns why ip must not be dialled, or "" if it may be.
func BlockReason(ip netip.Addr) string { return netguard.BlockReason(ip) }

// CheckURL applies the rules that need no DNS: an absolute http(s) URL
// with a host, https unless private targets are allowed, no credentials in
// the URL (Go would send them as Basic auth), and no literal blocked IP.
func CheckURL(raw string, allowPrivate bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: url does not parse: %v", notify.ErrUndeliverable, err)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowPrivate:
	default:
		return nil, fmt.Errorf("%w: url scheme %q is not allowed; webhooks require https", notify.ErrUndeliverable, u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%w: url has no host", notify.ErrUndeliverable)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: url must not carry credentials", notify.ErrUndeliverable)
	}
	if !allowPrivate {
		ip, err := netip.ParseAddr(u.Hostname())
		if err != nil {
			// 2130706433, 0x7f000001, 127.1: addresses that look like names.
			ip, _ = netguard.LegacyIPv4(u.Hostname())
		}
		if ip.IsValid() {
			if r := BlockReason(ip); r != "" {
				return nil, &BlockedError{Addr: ip.String(), Reason: r, Sentinel: notify.ErrUndeliverable}
			}
		}
	}
	return u, nil
}
