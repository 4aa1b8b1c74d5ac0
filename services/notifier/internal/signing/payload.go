// Package signing authenticates outgoing webhooks in the three ways AdCP 3.0
// allows: the RFC 9421 webhook profile (the default, Ed25519), the legacy
// X-ADCP-Signature HMAC, and a legacy Bearer token. It also verifies both
// signature kinds, which the tests use against the official vectors and
// which a receiver-side tool could reuse.
package signing

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ErrDuplicateKey is returned for a payload with a repeated object key. AdCP
// requires signers to refuse such input: a verifier and the business logic
// behind it may each keep a different copy of the key, so the signed
// message would mean two things.
var ErrDuplicateKey = errors.New("duplicate_key_input")

// CheckPayload reports whether body is a single JSON value with no repeated
// object key at any depth.
func CheckPayload(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type frame struct {
		object  bool
		wantKey bool
		keys    map[string]struct{}
	}
	var stack []*frame
	values := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("payload is not valid JSON: %w", err)
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		} else if values++; values > 1 {
			return errors.New("payload is not valid JSON: more than one value")
		}
		if delim, ok := tok.(json.Delim); ok {
			switch delim {
			case '{', '[':
				if top != nil && top.object {
					top.wantKey = true // the container was this member's value
				}
				stack = append(stack, &frame{object: delim == '{', wantKey: delim == '{', keys: map[string]struct{}{}})
			case '}', ']':
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if top == nil || !top.object {
			continue
		}
		if top.wantKey {
			key := tok.(string) // the decoder only yields strings in key position
			if _, dup := top.keys[key]; dup {
				return fmt.Errorf("%w: key %q appears twice in one object", ErrDuplicateKey, sanitizeKey(key))
			}
			top.keys[key] = struct{}{}
			top.wantKey = false
		} else {
			top.wantKey = true
		}
	}
	if values == 0 {
		return errors.New("payload is empty")
	}
	if len(stack) != 0 {
		return errors.New("payload is not valid JSON: unexpected end")
	}
	return nil
}

// sanitizeKey keeps attacker-controlled key names from flooding logs, as the
// AdCP vectors ask: cut at the first non-printable byte and at 32 bytes.
func sanitizeKey(k string) string {
	for i, r := range k {
		if r < 0x20 || r == 0x7f {
			return fmt.Sprintf("<sanitized:%d>", len(k))
		}
		if i >= 32 {
			return k[:i]
		}
	}
	return k
}
