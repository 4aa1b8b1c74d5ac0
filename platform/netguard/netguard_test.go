package netguard

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

var errNever = errors.New("never retry")

func TestDialerRefusesLoopbackAfterResolution(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	// A name that "resolves" to loopback: DNS rebinding, without DNS.
	rebind := func(context.Context, string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	d := &Dialer{Resolve: rebind, Timeout: time.Second, Sentinel: errNever}
	_, err = d.DialContext(context.Background(), "tcp", net.JoinHostPort("assets.example.com", port))
	var be *BlockedError
	if !errors.As(err, &be) || be.Reason != "loopback" || !errors.Is(err, errNever) {
		t.Fatalf("dial = %v", err)
	}
	// Development: private targets allowed.
	d.AllowPrivate = true
	conn, err := d.DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	// Without a sentinel a refusal is just a refusal.
	if (&BlockedError{Addr: "x", Reason: "y"}).Is(errNever) {
		t.Error("nil sentinel matched")
	}
}

func TestBlockReasonCoversNonPublicRanges(t *testing.T) {
	for _, s := range []string{"10.1.2.3", "169.254.169.254", "100.100.100.200", "::1", "fd00:ec2::254", "::ffff:127.0.0.1", "64:ff9b::a00:1", "2002:c0a8:101::1"} {
		if BlockReason(netip.MustParseAddr(s)) == "" {
			t.Errorf("%s allowed", s)
		}
	}
	for _, s := range []string{"8.8.8.8", "2606:4700::1111"} {
		if r := BlockReason(netip.MustParseAddr(s)); r != "" {
			t.Errorf("%s blocked: %s", s, r)
		}
	}
}

func TestNumericAndLocalHostFormsNeverReachDNS(t *testing.T) {
	asked := 0
	noDNS := func(context.Context, string) ([]netip.Addr, error) {
		asked++
		return nil, errors.New("DNS must not be asked")
	}
	d := &Dialer{Resolve: noDNS, Timeout: time.Second}
	for _, host := range []string{"2130706433", "0x7f000001", "0x7F.0.0.1", "0177.0.0.1", "127.1", "127.0.1", "10.1", "017700000001", "localhost", "localhost.", "api.localhost", "printer.local", "metadata.google.internal"} {
		_, err := d.DialContext(context.Background(), "tcp", net.JoinHostPort(host, "80"))
		var be *BlockedError
		if !errors.As(err, &be) {
			t.Errorf("%s: %v, want blocked", host, err)
		}
	}
	if asked != 0 {
		t.Errorf("DNS was asked %d times", asked)
	}
	for host, want := range map[string]string{"2130706433": "127.0.0.1", "0x7f000001": "127.0.0.1", "127.1": "127.0.0.1", "10.1.2": "10.1.0.2", "8.8.8.8.": "8.8.8.8", "134744072": "8.8.8.8"} {
		if ip, ok := LegacyIPv4(host); !ok || ip.String() != want {
			t.Errorf("LegacyIPv4(%q) = %v %v, want %s", host, ip, ok, want)
		}
	}
	for _, host := range []string{"cdn.example.com", "1.2.3.4.5", "256.1", "0x", "", "1..2", "99999999999"} {
		if ip, ok := LegacyIPv4(host); ok {
			t.Errorf("LegacyIPv4(%q) = %v", host, ip)
		}
	}
}
