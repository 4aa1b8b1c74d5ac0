package signing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Legacy HMAC headers (AdCP 3.0 "Legacy HMAC-SHA256 fallback").
const (
	HeaderADCPTimestamp = "X-ADCP-Timestamp"
	HeaderADCPSignature = "X-ADCP-Signature"
)

// MinHMACSecretLen is AdCP's floor for shared secrets (256 bits).
const MinHMACSecretLen = 32

// HMACWindow is how far a legacy timestamp may be from the verifier's clock.
const HMACWindow = 300 * time.Second

// CheckHMACSecret rejects secrets AdCP says must never be used: shorter than
// 32 bytes, or a single repeated byte (all zeros, all "a"), which meet the
// length bar with no entropy.
func CheckHMACSecret(secret string) error {
	if len(secret) < MinHMACSecretLen {
		return fmt.Errorf("HMAC secret is %d bytes; at least %d are required", len(secret), MinHMACSecretLen)
	}
	if strings.Count(secret, secret[:1]) == len(secret) {
		return errors.New("HMAC secret repeats a single character and has no entropy")
	}
	return nil
}

// HMACSignature is the X-ADCP-Signature value for body sent at ts: HMAC-SHA256
// keyed with the secret's bytes as given (not hex-decoded) over
// "<ts>.<body>", as "sha256=<lowercase hex>".
func HMACSignature(secret []byte, ts int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(strconv.AppendInt(nil, ts, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// HMACSigner signs in the legacy mode a buyer selects with
// authentication.schemes = ["HMAC-SHA256"].
type HMACSigner struct {
	secret []byte
	now    func() time.Time
}

// NewHMACSigner checks secret and returns a signer; now may be nil.
func NewHMACSigner(secret string, now func() time.Time) (*HMACSigner, error) {
	if err := CheckHMACSecret(secret); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &HMACSigner{secret: []byte(secret), now: now}, nil
}

// Sign sets the timestamp and signature headers for body, which must be
// exactly the request's body.
func (s *HMACSigner) Sign(r *http.Request, body []byte) error {
	if err := CheckPayload(body); err != nil {
		return err
	}
	ts := s.now().Unix()
	r.Header.Set(HeaderADCPTimestamp, strconv.FormatInt(ts, 10))
	r.Header.Set(HeaderADCPSignature, HMACSignature(s.secret, ts, body))
	return nil
}

// VerifyHMAC checks legacy headers the way AdCP receivers must: numeric
// timestamp within HMACWindow of now, "sha256=" plus exactly 64 hex digits,
// constant-time comparison over the raw body.
func VerifyHMAC(secret []byte, timestamp, signature string, body []byte, now time.Time) error {
	if signature == "" {
		return errors.New("missing signature")
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp %q is not a number", timestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > HMACWindow || d < -HMACWindow {
		return fmt.Errorf("timestamp is %s away from now; the window is %s", d.Abs(), HMACWindow)
	}
	hexSig, ok := strings.CutPrefix(signature, "sha256=")
	if !ok || len(hexSig) != sha256.Size*2 {
		return errors.New("signature must be sha256= followed by 64 hex digits")
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return errors.New("signature is not hex")
	}
	want := HMACSignature(secret, ts, body)
	wantRaw, _ := hex.DecodeString(strings.TrimPrefix(want, "sha256="))
	if !hmac.Equal(got, wantRaw) {
		return errors.New("signature mismatch")
	}
	return nil
}

// BearerSigner sets the legacy Authorization header. It gives no body
// integrity; AdCP keeps it only for buyers that chose it.
type BearerSigner struct {
	Token string
}

// Sign sets Authorization: Bearer.
func (s BearerSigner) Sign(r *http.Request, body []byte) error {
	if s.Token == "" || strings.ContainsAny(s.Token, "\r\n") {
		return errors.New("bearer token is empty or contains a line break")
	}
	if err := CheckPayload(body); err != nil {
		return err
	}
	r.Header.Set("Authorization", "Bearer "+s.Token)
	return nil
}
