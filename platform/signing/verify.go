package signing

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// VerifyError carries an AdCP webhook error code (webhook_signature_*), the
// value a receiver puts in WWW-Authenticate: Signature error="…".
type VerifyError struct {
	Code   string
	Detail string
}

func (e *VerifyError) Error() string { return e.Code + ": " + e.Detail }

func verr(code, format string, args ...any) error {
	return &VerifyError{Code: code, Detail: fmt.Sprintf(format, args...)}
}

// Verifier checks RFC 9421 webhook signatures the way the AdCP webhook
// verifier checklist orders it. Key revocation (step 9) needs a revocation
// list and is not done here.
type Verifier struct {
	// Keys are the sender's published keys by kid.
	Keys map[string]JWK
	// Now is the verifier's clock; nil means time.Now.
	Now func() time.Time
	// Skew is the allowed clock difference; AdCP uses 60 s.
	Skew time.Duration
	// SeenNonce, if set, records (keyid, nonce) and reports whether it was
	// already recorded (checklist step 12).
	SeenNonce func(keyid, nonce string) bool
}

// NewVerifier returns a verifier for the keys in set.
func NewVerifier(set JWKS) *Verifier {
	keys := make(map[string]JWK, len(set.Keys))
	for _, k := range set.Keys {
		keys[k.Kid] = k
	}
	return &Verifier{Keys: keys, Skew: 60 * time.Second}
}

// Verify checks the sig1 signature of a request. targetURL is the full URL
// the request was sent to, as the receiver reconstructs it.
func (v *Verifier) Verify(method, targetURL string, h http.Header, body []byte) error {
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	// Step 1: both headers present and parseable, sig1 in both.
	siRaw, sigRaw := strings.Join(h.Values("Signature-Input"), ", "), strings.Join(h.Values("Signature"), ", ")
	if siRaw == "" || sigRaw == "" {
		return verr("webhook_signature_header_malformed", "Signature and Signature-Input must both be present")
	}
	inputs, err := parseDictionary(siRaw)
	if err != nil {
		return verr("webhook_signature_header_malformed", "Signature-Input: %v", err)
	}
	sigs, err := parseDictionary(sigRaw)
	if err != nil {
		return verr("webhook_signature_header_malformed", "Signature: %v", err)
	}
	in, ok1 := inputs[Label]
	sm, ok2 := sigs[Label]
	if !ok1 || !ok2 || in.kind != memberInnerList || sm.kind != memberBytes {
		return verr("webhook_signature_header_malformed", "label %s missing or of the wrong type", Label)
	}
	sig, err := decodeProfileBase64(sm.bytes)
	if err != nil {
		return verr("webhook_signature_header_malformed", "Signature: %v", err)
	}
	// Step 2: every parameter present.
	created, okC := in.params["created"].(int64)
	expires, okE := in.params["expires"].(int64)
	nonce, okN := in.params["nonce"].(string)
	keyid, okK := in.params["keyid"].(string)
	alg, okA := in.params["alg"].(string)
	tag, okT := in.params["tag"].(string)
	if !okC || !okE || !okN || !okK || !okA || !okT {
		return verr("webhook_signature_params_incomplete", "created, expires, nonce, keyid, alg and tag are all required")
	}
	// Step 3.
	if tag != WebhookTag {
		return verr("webhook_signature_tag_invalid", "tag %q", tag)
	}
	// Step 4.
	if alg != "ed25519" && alg != "ecdsa-p256-sha256" {
		return verr("webhook_signature_alg_not_allowed", "alg %q", alg)
	}
	// Step 5.
	nowS, skew := now.Unix(), int64(v.Skew/time.Second)
	if expires <= created || expires-created > int64(MaxValidity/time.Second) || created > nowS+skew || expires < nowS-skew {
		return verr("webhook_signature_window_invalid", "created=%d expires=%d now=%d", created, expires, nowS)
	}
	// Step 6.
	for _, c := range coveredComponents {
		if !slices.Contains(in.items, c) {
			return verr("webhook_signature_components_incomplete", "%s is not covered", c)
		}
	}
	// Steps 7 and 8.
	jwk, ok := v.Keys[keyid]
	if !ok {
		return verr("webhook_signature_key_unknown", "keyid %q", keyid)
	}
	if !jwk.usableForWebhooks() {
		return verr("webhook_signature_key_purpose_invalid", "key %q is not a webhook verification key", keyid)
	}
	// Step 10.
	target, authority, err := CanonicalTarget(targetURL)
	if err != nil {
		return verr("webhook_target_uri_malformed", "%v", err)
	}
	var b strings.Builder
	for _, c := range in.items {
		var val string
		switch c {
		case "@method":
			val = strings.ToUpper(method)
		case "@target-uri":
			val = target
		case "@authority":
			val = authority
		default:
			vals := h.Values(c)
			if len(vals) == 0 {
				return verr("webhook_signature_components_incomplete", "covered header %s is absent", c)
			}
			for i := range vals {
				vals[i] = strings.TrimSpace(vals[i])
			}
			val = strings.Join(vals, ", ")
		}
		fmt.Fprintf(&b, "%q: %s\n", c, val)
	}
	fmt.Fprintf(&b, "\"@signature-params\": %s", in.raw)
	pub, err := jwk.publicKey()
	if err != nil {
		return verr("webhook_signature_key_purpose_invalid", "%v", err)
	}
	if !verifyAlg(alg, pub, []byte(b.String()), sig) {
		return verr("webhook_signature_invalid", "signature does not verify with key %q", keyid)
	}
	// Step 11.
	if !digestMatches(h.Get("Content-Digest"), body) {
		return verr("webhook_signature_digest_mismatch", "Content-Digest does not match the body")
	}
	// Step 12.
	if v.SeenNonce != nil && v.SeenNonce(keyid, nonce) {
		return verr("webhook_signature_replayed", "nonce %q was already used", nonce)
	}
	return nil
}

func verifyAlg(alg string, pub any, base, sig []byte) bool {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return alg == "ed25519" && ed25519.Verify(k, base, sig)
	case *ecdsa.PublicKey:
		if alg != "ecdsa-p256-sha256" || len(sig) != 64 {
			return false
		}
		sum := sha256.Sum256(base)
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(k, sum[:], r, s)
	}
	return false
}

func digestMatches(header string, body []byte) bool {
	members, err := parseDictionary(header)
	if err != nil {
		return false
	}
	m, ok := members["sha-256"]
	if !ok || m.kind != memberBytes {
		return false
	}
	got, err := decodeProfileBase64(m.bytes)
	if err != nil {
		return false
	}
	want := sha256.Sum256(body)
	return subtle.ConstantTimeCompare(got, want[:]) == 1
}

// decodeProfileBase64 accepts base64url (the profile) or standard base64
// (RFC 8941, and what the 3.0.0 vectors use for Content-Digest), padded or
// not, but never a mix of the two alphabets.
func decodeProfileBase64(s string) ([]byte, error) {
	url := strings.ContainsAny(s, "-_")
	std := strings.ContainsAny(s, "+/")
	if url && std {
		return nil, fmt.Errorf("value mixes base64url and standard base64 alphabets")
	}
	s = strings.TrimRight(s, "=")
	if std {
		return base64.RawStdEncoding.DecodeString(s)
	}
	return base64.RawURLEncoding.DecodeString(s)
}

// A tiny RFC 8941 dictionary parser: enough for Signature-Input (inner
// lists of strings with parameters), Signature and Content-Digest (byte
// sequences).

type memberKind int

const (
	memberInnerList memberKind = iota + 1
	memberBytes
	memberOther
)

type member struct {
	kind   memberKind
	items  []string       // inner list items
	bytes  string         // byte sequence, still encoded
	params map[string]any // int64 or string values
	raw    string         // the member value as written, for @signature-params
}

func parseDictionary(s string) (map[string]member, error) {
	p := &sfParser{s: s}
	out := map[string]member{}
	p.skipSpaces()
	for !p.done() {
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		if !p.eat('=') {
			return nil, fmt.Errorf("member %q has no value", key)
		}
		start := p.i
		var m member
		switch p.peek() {
		case '(':
			m.kind = memberInnerList
			if m.items, err = p.innerList(); err != nil {
				return nil, err
			}
		case ':':
			m.kind = memberBytes
			if m.bytes, err = p.byteSeq(); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("member %q: expected an inner list or a byte sequence", key)
		}
		if m.params, err = p.parameters(); err != nil {
			return nil, err
		}
		m.raw = s[start:p.i]
		out[key] = m
		p.skipOWS()
		if p.done() {
			break
		}
		if !p.eat(',') {
			return nil, fmt.Errorf("unexpected %q after member %q", p.peek(), key)
		}
		p.skipOWS()
		if p.done() {
			return nil, fmt.Errorf("trailing comma")
		}
	}
	return out, nil
}

type sfParser struct {
	s string
	i int
}

func (p *sfParser) done() bool { return p.i >= len(p.s) }

func (p *sfParser) peek() byte {
	if p.done() {
		return 0
	}
	return p.s[p.i]
}

func (p *sfParser) eat(c byte) bool {
	if p.peek() == c && !p.done() {
		p.i++
		return true
	}
	return false
}

func (p *sfParser) skipSpaces() {
	for p.peek() == ' ' {
		p.i++
	}
}

func (p *sfParser) skipOWS() {
	for c := p.peek(); c == ' ' || c == '\t'; c = p.peek() {
		p.i++
	}
}

func (p *sfParser) key() (string, error) {
	start := p.i
	c := p.peek()
	if !(c >= 'a' && c <= 'z' || c == '*') {
		return "", fmt.Errorf("invalid key at offset %d", p.i)
	}
	for c := p.peek(); c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("_-.*", c) >= 0 && c != 0; c = p.peek() {
		p.i++
	}
	return p.s[start:p.i], nil
}

func (p *sfParser) innerList() ([]string, error) {
	p.eat('(')
	var items []string
	for {
		p.skipSpaces()
		if p.eat(')') {
			return items, nil
		}
		if p.peek() != '"' {
			return nil, fmt.Errorf("inner list items must be strings")
		}
		str, err := p.str()
		if err != nil {
			return nil, err
		}
		items = append(items, str)
		if c := p.peek(); c != ' ' && c != ')' {
			return nil, fmt.Errorf("malformed inner list")
		}
	}
}

func (p *sfParser) str() (string, error) {
	p.eat('"')
	var b strings.Builder
	for !p.done() {
		c := p.s[p.i]
		p.i++
		switch {
		case c == '\\':
			if p.done() || (p.s[p.i] != '"' && p.s[p.i] != '\\') {
				return "", fmt.Errorf("bad escape in string")
			}
			b.WriteByte(p.s[p.i])
			p.i++
		case c == '"':
			return b.String(), nil
		case c < 0x20 || c > 0x7e:
			return "", fmt.Errorf("invalid character in string")
		default:
			b.WriteByte(c)
		}
	}
	return "", fmt.Errorf("unterminated string")
}

func (p *sfParser) byteSeq() (string, error) {
	p.eat(':')
	end := strings.IndexByte(p.s[p.i:], ':')
	if end < 0 {
		return "", fmt.Errorf("unterminated byte sequence")
	}
	v := p.s[p.i : p.i+end]
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("+/=-_", c) >= 0) {
			return "", fmt.Errorf("invalid character in byte sequence")
		}
	}
	p.i += end + 1
	return v, nil
}

func (p *sfParser) parameters() (map[string]any, error) {
	params := map[string]any{}
	for p.eat(';') {
		p.skipSpaces()
		k, err := p.key()
		if err != nil {
			return nil, err
		}
		if !p.eat('=') {
			params[k] = true
			continue
		}
		switch c := p.peek(); {
		case c == '"':
			s, err := p.str()
			if err != nil {
				return nil, err
			}
			params[k] = s
		case c == '-' || c >= '0' && c <= '9':
			start := p.i
			p.i++
			for c := p.peek(); c >= '0' && c <= '9'; c = p.peek() {
				p.i++
			}
			n, err := strconv.ParseInt(p.s[start:p.i], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("parameter %s: %v", k, err)
			}
			params[k] = n
		default:
			start := p.i
			for c := p.peek(); c > 0x20 && c < 0x7f && strings.IndexByte(`;,()"`, c) < 0; c = p.peek() {
				p.i++
			}
			if p.i == start {
				return nil, fmt.Errorf("parameter %s has no value", k)
			}
			params[k] = p.s[start:p.i]
		}
	}
	return params, nil
}
