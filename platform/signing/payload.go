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
	"strings"
	"unicode/utf8"
)

// ErrDuplicateKey is returned for a payload with a repeated object key. AdCP
// requires signers to refuse such input: a verifier and the business logic
// behind it may each keep a different copy of the key, so the signed
// message would mean two things.
var ErrDuplicateKey = errors.New("duplicate_key_input")

// CheckPayload reports whether body is a single JSON value with no repeated
// object key at any depth. Keys are compared after unescaping, so "a" and
// "\u0061" are the same key, as they are to every JSON parser.
func CheckPayload(body []byte) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errors.New("payload is empty")
	}
	if !json.Valid(body) {
		// Decode once more only to say where it breaks.
		var v any
		err := json.Unmarshal(body, &v)
		return fmt.Errorf("payload is not valid JSON: %v", err)
	}
	w := walker{b: body}
	return w.value()
}

// walker scans JSON already known to be valid, which is what lets it skip
// strings, numbers and literals without checking them.
type walker struct {
	b []byte
	i int
}

func (w *walker) ws() {
	for w.i < len(w.b) && (w.b[w.i] == ' ' || w.b[w.i] == '\t' || w.b[w.i] == '\n' || w.b[w.i] == '\r') {
		w.i++
	}
}

func (w *walker) value() error {
	w.ws()
	switch w.b[w.i] {
	case '{':
		return w.object()
	case '[':
		w.i++
		w.ws()
		if w.b[w.i] == ']' {
			w.i++
			return nil
		}
		for {
			if err := w.value(); err != nil {
				return err
			}
			w.ws()
			c := w.b[w.i]
			w.i++
			if c == ']' {
				return nil
			}
		}
	case '"':
		w.str()
	default:
		for w.i < len(w.b) && !strings.ContainsRune(",]} \t\n\r", rune(w.b[w.i])) {
			w.i++
		}
	}
	return nil
}

func (w *walker) object() error {
	w.i++ // {
	w.ws()
	if w.b[w.i] == '}' {
		w.i++
		return nil
	}
	var keys map[string]struct{}
	for {
		w.ws()
		raw := w.str()
		key := string(raw[1 : len(raw)-1])
		// Escapes and invalid UTF-8 (which parsers replace with U+FFFD)
		// can make different bytes the same key.
		if bytes.IndexByte(raw, '\\') >= 0 || !utf8.Valid(raw) {
			_ = json.Unmarshal(raw, &key) // valid by construction
		}
		if keys == nil {
			keys = make(map[string]struct{}, 8)
		}
		if _, dup := keys[key]; dup {
			return fmt.Errorf("%w: key %q appears twice in one object", ErrDuplicateKey, sanitizeKey(key))
		}
		keys[key] = struct{}{}
		w.ws()
		w.i++ // :
		if err := w.value(); err != nil {
			return err
		}
		w.ws()
		c := w.b[w.i]
		w.i++
		if c == '}' {
			return nil
		}
	}
}

// str consumes a string and returns it with its quotes.
func (w *walker) str() []byte {
	start := w.i
	w.i++
	for w.b[w.i] != '"' {
		if w.b[w.i] == '\\' {
			w.i++
		}
		w.i++
	}
	w.i++
	return w.b[start:w.i]
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
