package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Verifier checks the RFC 9421 signature of a webhook the way a buyer does:
// against the key the notifier publishes at /.well-known/jwks.json. It is
// the check e2e/pipeline_test.go makes, plus the body's Content-Digest and
// the signature's expiry, which a real receiver must not skip either.
type Verifier struct {
	JWKSURL string
	Client  *http.Client
	Now     func() time.Time

	mu        sync.Mutex
	keys      map[string]ed25519.PublicKey
	lastFetch time.Time
}

// refetchEvery bounds JWKS fetches for unknown key ids, so a flood of bad
// signatures cannot turn into a flood of requests to the notifier.
const refetchEvery = time.Second

// Verify checks one delivery: method and targetURI as the receiver saw them,
// its headers and exact body.
func (v *Verifier) Verify(method, targetURI string, h http.Header, body []byte) error {
	sum := sha256.Sum256(body)
	wantDigest := "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
	digest := strings.TrimSpace(h.Get("Content-Digest"))
	if subtle.ConstantTimeCompare([]byte(digest), []byte(wantDigest)) != 1 {
		return fmt.Errorf("Content-Digest %q does not match the body", digest)
	}
	sp, err := parseSignatureInput(h.Get("Signature-Input"))
	if err != nil {
		return err
	}
	if exp, ok := sp.params["expires"]; ok {
		sec, err := strconv.ParseInt(exp, 10, 64)
		if err != nil {
			return fmt.Errorf("expires %q: %w", exp, err)
		}
		if v.now().After(time.Unix(sec, 0)) {
			return errors.New("signature expired")
		}
	}
	if alg := sp.params["alg"]; alg != "" && alg != "ed25519" {
		return fmt.Errorf("alg %q: want ed25519", alg)
	}
	u, err := url.Parse(targetURI)
	if err != nil {
		return err
	}
	var base strings.Builder
	for _, c := range sp.components {
		var val string
		switch c {
		case "@method":
			val = strings.ToUpper(method)
		case "@target-uri":
			val = targetURI
		case "@authority":
			val = strings.ToLower(u.Host)
		default:
			if strings.HasPrefix(c, "@") {
				return fmt.Errorf("covered component %q is not supported", c)
			}
			val = strings.TrimSpace(h.Get(c))
		}
		fmt.Fprintf(&base, "%q: %s\n", c, val)
	}
	fmt.Fprintf(&base, "\"@signature-params\": %s", sp.raw)

	sig, err := signatureValue(h.Get("Signature"), sp.label)
	if err != nil {
		return err
	}
	key, err := v.key(sp.params["keyid"])
	if err != nil {
		return err
	}
	if !ed25519.Verify(key, []byte(base.String()), sig) {
		return errors.New("signature does not verify with the published key")
	}
	return nil
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// key returns the published key kid, fetching the JWKS when it is unknown
// (the first time, and after a rotation).
func (v *Verifier) key(kid string) (ed25519.PublicKey, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if k, ok := v.keys[kid]; ok {
		return k, nil
	}
	if time.Since(v.lastFetch) < refetchEvery {
		return nil, fmt.Errorf("keyid %q is not in the JWKS", kid)
	}
	v.lastFetch = time.Now()
	keys, err := fetchJWKS(v.Client, v.JWKSURL)
	if err != nil {
		return nil, err
	}
	v.keys = keys
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("keyid %q is not in the JWKS", kid)
}

func fetchJWKS(client *http.Client, jwksURL string) (map[string]ed25519.PublicKey, error) {
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Get(jwksURL)
	if err != nil {
		return nil, fmt.Errorf("JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("JWKS: %s", resp.Status)
	}
	var jwks struct {
		Keys []struct {
			Kty string `json:"kty"`
			Crv string `json:"crv"`
			Kid string `json:"kid"`
			X   string `json:"x"`
		} `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&jwks); err != nil {
		return nil, fmt.Errorf("JWKS: %w", err)
	}
	keys := map[string]ed25519.PublicKey{}
	for _, k := range jwks.Keys {
		if k.Kty != "OKP" || k.Crv != "Ed25519" {
			continue
		}
		x, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			continue // not a key we can use; another may be
		}
		keys[k.Kid] = ed25519.PublicKey(x)
	}
	if len(keys) == 0 {
		return nil, errors.New("JWKS has no Ed25519 key")
	}
	return keys, nil
}

// signatureInput is one parsed Signature-Input member.
type signatureInput struct {
	label      string
	raw        string   // the member's value, as it goes into @signature-params
	components []string // covered components, in order
	params     map[string]string
}

// parseSignatureInput reads `label=("c1" "c2");k=v;k="v"`, the one
// signature a webhook carries.
func parseSignatureInput(s string) (signatureInput, error) {
	label, raw, ok := strings.Cut(strings.TrimSpace(s), "=")
	if !ok || !strings.HasPrefix(raw, "(") {
		return signatureInput{}, fmt.Errorf("Signature-Input %q is malformed", s)
	}
	inner, rest, ok := strings.Cut(raw[1:], ")")
	if !ok {
		return signatureInput{}, fmt.Errorf("Signature-Input %q is malformed", s)
	}
	si := signatureInput{label: label, raw: raw, params: map[string]string{}}
	for _, f := range strings.Fields(inner) {
		c, err := strconv.Unquote(f)
		if err != nil {
			return signatureInput{}, fmt.Errorf("component %s: %w", f, err)
		}
		si.components = append(si.components, c)
	}
	for _, p := range strings.Split(rest, ";") {
		if p == "" {
			continue
		}
		k, val, _ := strings.Cut(p, "=")
		if uq, err := strconv.Unquote(val); err == nil {
			val = uq
		}
		si.params[k] = val
	}
	return si, nil
}

// signatureValue decodes `label=:<base64>:`. The AdCP profile sends
// base64url without padding; RFC 8941 byte sequences are standard base64,
// so both are accepted.
func signatureValue(h, label string) ([]byte, error) {
	raw, ok := strings.CutPrefix(strings.TrimSpace(h), label+"=:")
	if !ok || !strings.HasSuffix(raw, ":") {
		return nil, fmt.Errorf("Signature header has no %s member", label)
	}
	raw = strings.TrimSuffix(raw, ":")
	if b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(raw, "=")); err == nil {
		return b, nil
	}
	return base64.StdEncoding.DecodeString(raw)
}
