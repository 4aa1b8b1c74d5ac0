// Package netguard refuses to connect where an address supplied by an
// outsider must never lead (SSRF): loopback, private, link-local and cloud
// metadata ranges, and every other non-public range. The check runs on the
// address actually dialled, after DNS, so a name that resolves to a public
// address when checked and to 127.0.0.1 when dialled is still refused. The
// notifier uses it for buyers' webhook URLs and review for asset URLs.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// BlockedError says why a target address was refused.
type BlockedError struct {
	Addr   string
	Reason string
	// Sentinel, when set, is what errors.Is reports the refusal as (the
	// caller's "never retry this" error).
	Sentinel error
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("target address %s is blocked (%s)", e.Addr, e.Reason)
}

// Is reports the refusal as the caller's Sentinel: retrying cannot
// unblock an address.
func (e *BlockedError) Is(target error) bool { return e.Sentinel != nil && target == e.Sentinel }

type blockedRange struct {
	prefix netip.Prefix
	reason string
}

func mustRanges(pairs ...string) []blockedRange {
	out := make([]blockedRange, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, blockedRange{netip.MustParsePrefix(pairs[i]), pairs[i+1]})
	}
	return out
}

// blockedV4 covers every IPv4 range that is not ordinary public unicast.
// Cloud metadata endpoints fall inside link-local (169.254.169.254) and
// CGNAT (Alibaba's 100.100.100.200).
var blockedV4 = mustRanges(
	"0.0.0.0/8", "unspecified or this-network",
	"10.0.0.0/8", "private",
	"100.64.0.0/10", "carrier-grade NAT",
	"127.0.0.0/8", "loopback",
	"169.254.0.0/16", "link-local or cloud metadata",
	"172.16.0.0/12", "private",
	"192.0.0.0/24", "IETF protocol assignments",
	"192.0.2.0/24", "documentation",
	"192.88.99.0/24", "6to4 relay anycast",
	"192.168.0.0/16", "private",
	"198.18.0.0/15", "benchmarking",
	"198.51.100.0/24", "documentation",
	"203.0.113.0/24", "documentation",
	"224.0.0.0/4", "multicast",
	"240.0.0.0/4", "reserved or broadcast",
)

// blockedV6 covers IPv6 ranges. The transition prefixes that embed an IPv4
// address (IPv4-mapped, NAT64, 6to4) are not listed: the embedded address
// is extracted and judged by the IPv4 rules instead.
var blockedV6 = mustRanges(
	"::/128", "unspecified",
	"::1/128", "loopback",
	"::/96", "IPv4-compatible (deprecated)",
	"64:ff9b:1::/48", "local-use NAT64",
	"100::/64", "discard-only",
	"2001::/32", "Teredo",
	"2001:db8::/32", "documentation",
	"fc00::/7", "unique local (includes AWS metadata fd00:ec2::254)",
	"fe80::/10", "link-local",
	"fec0::/10", "site-local (deprecated)",
	"ff00::/8", "multicast",
)

var (
	nat64   = netip.MustParsePrefix("64:ff9b::/96")
	sixTo4  = netip.MustParsePrefix("2002::/16")
	mapped4 = netip.MustParsePrefix("::ffff:0:0/96")
)

// BlockReason returns why ip must not be dialled, or "" if it may be.
func BlockReason(ip netip.Addr) string {
	if !ip.IsValid() {
		return "not an IP address"
	}
	ip = ip.WithZone("")
	if ip.Is6() {
		b := ip.As16()
		switch {
		case mapped4.Contains(ip):
			if r := BlockReason(ip.Unmap()); r != "" {
				return "IPv4-mapped " + r
			}
			return ""
		case nat64.Contains(ip):
			if r := BlockReason(netip.AddrFrom4([4]byte(b[12:16]))); r != "" {
				return "NAT64-embedded " + r
			}
			return ""
		case sixTo4.Contains(ip):
			if r := BlockReason(netip.AddrFrom4([4]byte(b[2:6]))); r != "" {
				return "6to4-embedded " + r
			}
			return ""
		}
		for _, r := range blockedV6 {
			if r.prefix.Contains(ip) {
				return r.reason
			}
		}
		return ""
	}
	for _, r := range blockedV4 {
		if r.prefix.Contains(ip) {
			return r.reason
		}
	}
	return ""
}

// Resolver looks up a host's addresses; tests replace it to simulate DNS
// rebinding without a DNS server.
type Resolver func(ctx context.Context, host string) ([]netip.Addr, error)

// Dialer dials only addresses BlockReason allows. The check runs in the
// net.Dialer Control hook, on the address actually being connected to after
// resolution, so a name that resolves to a public address when checked and
// to 127.0.0.1 when dialled (DNS rebinding) is still refused.
type Dialer struct {
	AllowPrivate bool
	Resolve      Resolver
	Timeout      time.Duration
	// Sentinel is set on every BlockedError the dialer returns.
	Sentinel error
}

// DialContext implements http.Transport.DialContext.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else if ip, ok := LegacyIPv4(host); ok {
		// A host the system resolver would read as an IPv4 address
		// (2130706433, 0x7f000001, 127.1): judged as that address, never
		// sent to DNS.
		addrs = []netip.Addr{ip}
	} else if isLocalName(host) && !d.AllowPrivate {
		return nil, &BlockedError{Addr: host, Reason: "local host name", Sentinel: d.Sentinel}
	} else {
		resolve := d.Resolve
		if resolve == nil {
			resolve = func(ctx context.Context, host string) ([]netip.Addr, error) {
				return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
			}
		}
		if addrs, err = resolve(ctx, host); err != nil {
			return nil, err
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("no addresses for %s", host)
		}
	}
	nd := &net.Dialer{Timeout: d.Timeout, KeepAlive: 30 * time.Second, Control: d.control}
	var errs []error
	for _, ip := range addrs {
		conn, err := nd.DialContext(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	// If every address was blocked, say so plainly: that is terminal, while
	// a mix of blocked and unreachable addresses is worth a retry.
	var be *BlockedError
	allBlocked := true
	for _, e := range errs {
		if !errors.As(e, &be) {
			allBlocked = false
		}
	}
	if allBlocked {
		return nil, errs[0]
	}
	// Flattened to text so the blocked addresses among them do not make the
	// whole error look undeliverable.
	return nil, errors.New(errors.Join(errs...).Error())
}

func (d *Dialer) control(network, address string, _ syscall.RawConn) error {
	if d.AllowPrivate {
		return nil
	}
	if network != "tcp4" && network != "tcp6" {
		return &BlockedError{Addr: address, Reason: "network " + network + " is not allowed", Sentinel: d.Sentinel}
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &BlockedError{Addr: address, Reason: "unparsable address", Sentinel: d.Sentinel} // fail closed
	}
	if r := BlockReason(ap.Addr()); r != "" {
		return &BlockedError{Addr: ap.Addr().String(), Reason: r, Sentinel: d.Sentinel}
	}
	return nil
}

// LegacyIPv4 reads the numeric host forms inet_aton accepts and resolvers
// pass through as addresses: a 32-bit number (2130706433), hex or octal
// parts (0x7f000001, 0177.0.0.1) and shorthand dotted forms (127.1,
// 10.1.1), which would otherwise reach a loopback or private address
// looking like a name.
func LegacyIPv4(host string) (netip.Addr, bool) {
	host = strings.TrimSuffix(host, ".")
	parts := strings.Split(host, ".")
	if len(parts) == 0 || len(parts) > 4 {
		return netip.Addr{}, false
	}
	nums := make([]uint64, len(parts))
	for i, p := range parts {
		n, ok := parseInetNumber(p)
		if !ok {
			return netip.Addr{}, false
		}
		nums[i] = n
	}
	// The last part fills the remaining bytes; the others are one byte.
	var v uint64
	for _, n := range nums[:len(nums)-1] {
		if n > 0xff {
			return netip.Addr{}, false
		}
		v = v<<8 | n
	}
	rest := 8 * uint(4-len(nums)+1)
	last := nums[len(nums)-1]
	if last >= 1<<rest {
		return netip.Addr{}, false
	}
	v = v<<rest | last
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// parseInetNumber reads one part as inet_aton does: 0x hex, leading-0
// octal, else decimal.
func parseInetNumber(p string) (uint64, bool) {
	if p == "" {
		return 0, false
	}
	base := 10
	switch {
	case len(p) > 2 && (p[:2] == "0x" || p[:2] == "0X"):
		base, p = 16, p[2:]
	case len(p) > 1 && p[0] == '0':
		base, p = 8, p[1:]
	}
	n, err := strconv.ParseUint(p, base, 32)
	return n, err == nil
}

// isLocalName reports names that mean this machine or its network
// whatever DNS says: localhost (with or without the root dot) and the
// special-use .localhost, .local and .internal zones.
func isLocalName(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	return h == "localhost" || strings.HasSuffix(h, ".localhost") || strings.HasSuffix(h, ".local") || strings.HasSuffix(h, ".internal")
}
