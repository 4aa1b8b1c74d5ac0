package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// sign produces the headers the notifier sends under the AdCP RFC 9421
// webhook profile (services/notifier/internal/signing), independently of
// the verifier under test.
func sign(priv ed25519.PrivateKey, kid, target string, body []byte, created time.Time) http.Header {
	sum := sha256.Sum256(body)
	digest := "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
	params := fmt.Sprintf(`("@method" "@target-uri" "@authority" "content-type" "content-digest");created=%d;expires=%d;nonce="bm9uY2U";keyid="%s";alg="ed25519";tag="adcp/webhook-signing/v1"`,
		created.Unix(), created.Add(300*time.Second).Unix(), kid)
	authority := strings.TrimPrefix(target, "http://")
	authority = authority[:strings.IndexByte(authority, '/')]
	base := strings.Join([]string{
		`"@method": POST`, `"@target-uri": ` + target, `"@authority": ` + authority,
		`"content-type": application/json`, `"content-digest": ` + digest, `"@signature-params": ` + params,
	}, "\n")
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Digest", digest)
	h.Set("Signature-Input", "sig1="+params)
	h.Set("Signature", "sig1=:"+base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(base)))+":")
	return h
}

func jwksServer(t *testing.T, kid string, pub ed25519.PublicKey, fetches *atomic.Int32) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		// The encoder writes to a live test connection; a failure shows as
		// a failed verification in the test.
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{
			{"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": base64.RawURLEncoding.EncodeToString(pub), "alg": "EdDSA"},
		}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestVerifierAcceptsNotifierSignature(t *testing.T) {
	t.Parallel()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var fetches atomic.Int32
	srv := jwksServer(t, "k1", pub, &fetches)
	now := time.Unix(1_800_000_000, 0)
	v := &Verifier{JWKSURL: srv.URL, Client: srv.Client(), Now: func() time.Time { return now }}
	target := "http://127.0.0.1:4567/webhooks/buyer1"
	body := []byte(`{"idempotency_key":"whk_1","status":"completed"}`)

	for range 3 {
		if err := v.Verify("POST", target, sign(priv, "k1", target, body, now), body); err != nil {
			t.Fatalf("a valid signature failed: %v", err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("JWKS fetched %d times; want once, then cached", n)
	}

	h := sign(priv, "k1", target, body, now)
	for name, tc := range map[string]struct {
		target string
		header http.Header
		body   []byte
	}{
		"tampered body":     {target, h, []byte(`{"idempotency_key":"whk_1","status":"failed"}`)},
		"other target":      {"http://127.0.0.1:4567/webhooks/buyer2", h, body},
		"expired":           {target, sign(priv, "k1", target, body, now.Add(-301*time.Second)), body},
		"unknown key":       {target, sign(priv, "k2", target, body, now), body},
		"no signature":      {target, http.Header{"Content-Digest": h["Content-Digest"]}, body},
		"digest of another": {target, withHeader(h, "Content-Digest", "sha-256=:AAAA:"), body},
	} {
		if err := v.Verify("POST", tc.target, tc.header, tc.body); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	if err := v.Verify("POST", target, sign(other, "k1", target, body, now), body); err == nil {
		t.Error("a signature by another key verified")
	}
}

func withHeader(h http.Header, k, v string) http.Header {
	c := h.Clone()
	c.Set(k, v)
	return c
}

func TestParseSignatureInput(t *testing.T) {
	t.Parallel()
	si, err := parseSignatureInput(`sig1=("@method" "content-digest");created=1;keyid="abc";alg="ed25519"`)
	if err != nil {
		t.Fatal(err)
	}
	if si.label != "sig1" || len(si.components) != 2 || si.components[1] != "content-digest" ||
		si.params["keyid"] != "abc" || si.params["created"] != "1" {
		t.Errorf("parsed %+v", si)
	}
	if si.raw != `("@method" "content-digest");created=1;keyid="abc";alg="ed25519"` {
		t.Errorf("raw = %q: @signature-params must repeat the member verbatim", si.raw)
	}
	for _, bad := range []string{"", "sig1", `sig1="@method"`, `sig1=("@method"`} {
		if _, err := parseSignatureInput(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
