package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"example.com/creativesync/platform/pgtest"
)

// TestAdmin runs `review admin` commands against a real database, as an
// operator would.
func TestAdmin(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	env := map[string]string{"DATABASE_URL": dsn, "USER": "ops", "REVIEWER_PASSWORD": "a long enough password"}
	admin := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"admin"}, args...), func(k string) string { return env[k] }, &out)
		return out.String(), err
	}
	if out, err := admin("add", "-email", "Ana@Seller.example", "-role", "lead"); err != nil || !strings.Contains(out, "added ana@seller.example (lead)") {
		t.Fatalf("add: %q %v", out, err)
	}
	for _, bad := range [][]string{
		{"add", "-email", "ana@seller.example", "-role", "lead"},         // exists
		{"add", "-email", "bob@seller.example", "-role", "owner"},        // role
		{"add", "-email", "bob@seller.example"},                          // no role
		{"token", "-email", "ana@seller.example"},                        // no label
		{"set-role", "-email", "nobody@seller.example", "-role", "lead"}, // unknown
		{"frobnicate"},
		{"list", "extra"},
	} {
		if out, err := admin(bad...); err == nil {
			t.Errorf("%v: no error (%q)", bad, out)
		}
	}
	tok, err := admin("token", "-email", "ana@seller.example", "-label", "laptop")
	if err != nil || !strings.HasPrefix(tok, "rvt_") {
		t.Fatalf("token: %q %v", tok, err)
	}
	if out, err := admin("revoke-token", "-email", "ana@seller.example", "-label", "laptop"); err != nil || !strings.Contains(out, "revoked 1 tokens") {
		t.Fatalf("revoke-token: %q %v", out, err)
	}
	if out, err := admin("disable", "-email", "ana@seller.example"); err != nil {
		t.Fatalf("disable: %q %v", out, err)
	}
	for range 2 { // idempotent: the second run resets the password
		if out, err := admin("bootstrap-demo"); err != nil || !strings.Contains(out, "demo@review.example ready") {
			t.Fatalf("bootstrap-demo: %q %v", out, err)
		}
	}
	out, err := admin("list")
	if err != nil || !strings.Contains(out, "ana@seller.example") || !strings.Contains(out, "demo@review.example") {
		t.Fatalf("list: %q %v", out, err)
	}
	delete(env, "REVIEWER_PASSWORD")
	stdin = strings.NewReader("")
	if _, err := admin("add", "-email", "cy@seller.example", "-role", "reviewer"); err == nil || !strings.Contains(err.Error(), "no password") {
		t.Fatalf("add without a password: %v", err)
	}
	stdin = strings.NewReader("typed on standard input\n")
	if out, err := admin("add", "-email", "cy@seller.example", "-role", "reviewer"); err != nil {
		t.Fatalf("password from stdin: %q %v", out, err)
	}
	if _, err := admin("add", "-email", "oidc@seller.example", "-role", "reviewer", "-no-password"); err != nil {
		t.Fatalf("OIDC-only: %v", err)
	}
}
