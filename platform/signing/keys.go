package signing

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// AdcpUseWebhook is the purpose a JWK must carry to verify webhooks; AdCP
// forbids reusing request-signing keys for them.
const AdcpUseWebhook = "webhook-signing"

// JWK is the subset of RFC 7517 (plus AdCP's adcp_use) that webhook keys use.
type JWK struct {
	Kty     string   `json:"kty"`
	Crv     string   `json:"crv"`
	X       string   `json:"x"`
	Y       string   `json:"y,omitempty"`
	Kid     string   `json:"kid"`
	Alg     string   `json:"alg,omitempty"`
	Use     string   `json:"use,omitempty"`
	KeyOps  []string `json:"key_ops,omitempty"`
	AdcpUse string   `json:"adcp_use,omitempty"`
}

// JWKS is a JSON Web Key Set.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// Key is the notifier's Ed25519 webhook-signing key.
type Key struct {
	ID      string
	Private ed25519.PrivateKey
}

// ParseSeed decodes a 32-byte Ed25519 seed given in standard or URL-safe
// base64, padded or not, so operators can paste what their tooling prints.
func ParseSeed(s string) (ed25519.PrivateKey, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err == nil {
			if len(b) != ed25519.SeedSize {
				return nil, fmt.Errorf("signing key seed is %d bytes; want %d", len(b), ed25519.SeedSize)
			}
			return ed25519.NewKeyFromSeed(b), nil
		}
	}
	return nil, errors.New("signing key is not base64")
}

// Thumbprint is the RFC 7638 thumbprint of an Ed25519 public key, used as
// the key id when the operator does not name one.
func Thumbprint(pub ed25519.PublicKey) string {
	// RFC 7638 fixes the member order (lexicographic) and forbids whitespace.
	canon := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	sum := sha256.Sum256([]byte(canon))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// NewKey returns a Key; an empty id becomes the key's thumbprint.
func NewKey(id string, priv ed25519.PrivateKey) Key {
	if id == "" {
		id = Thumbprint(priv.Public().(ed25519.PublicKey))
	}
	return Key{ID: id, Private: priv}
}

// PublicJWK is the key as published for verifiers.
func (k Key) PublicJWK() JWK {
	return JWK{
		Kty:     "OKP",
		Crv:     "Ed25519",
		X:       base64.RawURLEncoding.EncodeToString(k.Private.Public().(ed25519.PublicKey)),
		Kid:     k.ID,
		Alg:     "EdDSA",
		Use:     "sig",
		KeyOps:  []string{"verify"},
		AdcpUse: AdcpUseWebhook,
	}
}

// publicKey decodes j into an ed25519.PublicKey or *ecdsa.PublicKey.
func (j JWK) publicKey() (any, error) {
	x, err := base64.RawURLEncoding.DecodeString(j.X)
	if err != nil {
		return nil, fmt.Errorf("jwk x: %w", err)
	}
	switch {
	case j.Kty == "OKP" && j.Crv == "Ed25519":
		if len(x) != ed25519.PublicKeySize {
			return nil, errors.New("jwk x has the wrong length for Ed25519")
		}
		return ed25519.PublicKey(x), nil
	case j.Kty == "EC" && j.Crv == "P-256":
		y, err := base64.RawURLEncoding.DecodeString(j.Y)
		if err != nil {
			return nil, fmt.Errorf("jwk y: %w", err)
		}
		// Build the uncompressed point so the standard library validates
		// that it is on the curve.
		point := append([]byte{4}, append(leftPad(x, 32), leftPad(y, 32)...)...)
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
		if err != nil {
			return nil, fmt.Errorf("jwk is not a P-256 point: %w", err)
		}
		return pub, nil
	}
	return nil, fmt.Errorf("unsupported key type %s/%s", j.Kty, j.Crv)
}

func leftPad(b []byte, n int) []byte {
	if len(b) >= n {
		return b
	}
	return append(make([]byte, n-len(b)), b...)
}

// usableForWebhooks applies AdCP's key-purpose rules (checklist step 8).
func (j JWK) usableForWebhooks() bool {
	if j.AdcpUse != AdcpUseWebhook {
		return false
	}
	if j.Use != "" && j.Use != "sig" {
		return false
	}
	return slices.Contains(j.KeyOps, "verify")
}
