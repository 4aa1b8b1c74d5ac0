package creative

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/gowebpki/jcs"
)

// Content and request hashes are SHA-256 over the RFC 8785 (JCS) form of a
// JSON document, so equal documents hash equally whatever their key order
// or spacing. Hashes are stored (content_hash), so the canonical form must
// never change. gowebpki/jcs defines it; it parses every document into a
// generic tree, which made it a third of a sync's CPU time. canonical
// below produces the same bytes for the documents buyers actually send
// (ASCII keys, integer numbers) without that tree, and hands everything
// else (fractions, exponents, non-ASCII keys) to jcs. canonical_test.go
// fuzzes the two against each other.

// CanonicalHash returns "sha256:<hex>" of v's canonical JSON.
func CanonicalHash(v any) (string, error) {
	var (
		c   []byte
		err error
	)
	switch x := v.(type) {
	case map[string]json.RawMessage:
		c, err = canonicalObject(x)
	case json.RawMessage:
		c, err = canonical(x)
	default:
		var b []byte
		if b, err = json.Marshal(v); err == nil {
			c, err = canonical(b)
		}
	}
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(c)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// canonical returns the JCS form of the valid JSON document b.
func canonical(b []byte) ([]byte, error) {
	if out, ok := appendCanonical(make([]byte, 0, len(b)), b); ok {
		return out, nil
	}
	return jcs.Transform(b)
}

// canonicalObject is canonical for an object held as a map of raw members.
func canonicalObject(m map[string]json.RawMessage) ([]byte, error) {
	keys := make([]string, 0, len(m))
	size := 2
	for k, v := range m {
		keys = append(keys, k)
		size += len(k) + len(v) + 4
	}
	slices.Sort(keys)
	out := append(make([]byte, 0, size), '{')
	for i, k := range keys {
		if !isASCII(k) {
			return jcsOfMap(m)
		}
		if i > 0 {
			out = append(out, ',')
		}
		out = appendJCSString(out, k)
		out = append(out, ':')
		var ok bool
		if out, ok = appendCanonical(out, m[k]); !ok {
			return jcsOfMap(m)
		}
	}
	return append(out, '}'), nil
}

func jcsOfMap(m map[string]json.RawMessage) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return jcs.Transform(b)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// appendCanonical appends the canonical form of the value b (valid JSON,
// surrounding space allowed). ok is false when b holds something only jcs
// handles.
func appendCanonical(dst, b []byte) ([]byte, bool) {
	p := canonParser{b: b}
	out, ok := p.value(dst)
	if !ok {
		return dst, false
	}
	p.ws()
	return out, p.i == len(b)
}

type canonParser struct {
	b []byte
	i int
}

func (p *canonParser) ws() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
}

type member struct {
	key string
	val []byte
}

func (p *canonParser) value(dst []byte) ([]byte, bool) {
	p.ws()
	if p.i >= len(p.b) {
		return dst, false
	}
	switch c := p.b[p.i]; {
	case c == '{':
		p.i++
		var ms []member
		for {
			p.ws()
			if p.i >= len(p.b) {
				return dst, false
			}
			if p.b[p.i] == '}' {
				p.i++
				break
			}
			if p.b[p.i] == ',' {
				p.i++
				p.ws()
			}
			key, ok := p.str()
			if !ok || !isASCII(key) {
				return dst, false
			}
			p.ws()
			if p.i >= len(p.b) || p.b[p.i] != ':' {
				return dst, false
			}
			p.i++
			val, ok := p.value(nil)
			if !ok {
				return dst, false
			}
			ms = append(ms, member{key, val})
		}
		// ASCII keys: byte order is UTF-16 code unit order, as JCS sorts.
		slices.SortFunc(ms, func(a, b member) int { return strings.Compare(a.key, b.key) })
		dst = append(dst, '{')
		for i, m := range ms {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJCSString(dst, m.key)
			dst = append(dst, ':')
			dst = append(dst, m.val...)
		}
		return append(dst, '}'), true
	case c == '[':
		p.i++
		dst = append(dst, '[')
		for n := 0; ; n++ {
			p.ws()
			if p.i >= len(p.b) {
				return dst, false
			}
			if p.b[p.i] == ']' {
				p.i++
				break
			}
			if p.b[p.i] == ',' {
				p.i++
			}
			if n > 0 {
				dst = append(dst, ',')
			}
			var ok bool
			if dst, ok = p.value(dst); !ok {
				return dst, false
			}
		}
		return append(dst, ']'), true
	case c == '"':
		s, ok := p.str()
		if !ok {
			return dst, false
		}
		return appendJCSString(dst, s), true
	case c == 't' || c == 'f' || c == 'n':
		for _, lit := range []string{"true", "false", "null"} {
			if strings.HasPrefix(string(p.b[p.i:min(p.i+5, len(p.b))]), lit) {
				p.i += len(lit)
				return append(dst, lit...), true
			}
		}
		return dst, false
	default:
		// Integers of up to 15 digits print the same in ES6 as written;
		// anything else (fractions, exponents, huge values) goes to jcs.
		start := p.i
		if p.b[p.i] == '-' {
			p.i++
		}
		digits := p.i
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
		}
		n := p.i - digits
		if n == 0 || n > 15 || (n > 1 && p.b[digits] == '0') {
			return dst, false
		}
		if p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E') {
			return dst, false
		}
		num := p.b[start:p.i]
		if string(num) == "-0" {
			num = []byte("0")
		}
		return append(dst, num...), true
	}
}

// str decodes the string at p.i (its opening quote).
func (p *canonParser) str() (string, bool) {
	p.i++
	start := p.i
	for p.i < len(p.b) && p.b[p.i] != '"' && p.b[p.i] != '\\' {
		p.i++
	}
	if p.i < len(p.b) && p.b[p.i] == '"' {
		s := string(p.b[start:p.i])
		p.i++
		if !utf8.ValidString(s) {
			return "", false
		}
		return s, true
	}
	// Escapes: decode the slow way.
	var sb strings.Builder
	sb.Write(p.b[start:p.i])
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			s := sb.String()
			return s, utf8.ValidString(s)
		case c == '\\':
			if p.i+1 >= len(p.b) {
				return "", false
			}
			e := p.b[p.i+1]
			p.i += 2
			switch e {
			case '"', '\\', '/':
				sb.WriteByte(e)
			case 'b':
				sb.WriteByte('\b')
			case 'f':
				sb.WriteByte('\f')
			case 'n':
				sb.WriteByte('\n')
			case 'r':
				sb.WriteByte('\r')
			case 't':
				sb.WriteByte('\t')
			case 'u':
				r, ok := p.hex4()
				if !ok {
					return "", false
				}
				if utf16.IsSurrogate(r) {
					if p.i+1 >= len(p.b) || p.b[p.i] != '\\' || p.b[p.i+1] != 'u' {
						return "", false
					}
					p.i += 2
					lo, ok := p.hex4()
					if !ok {
						return "", false
					}
					if r = utf16.DecodeRune(r, lo); r == utf8.RuneError {
						return "", false
					}
				}
				sb.WriteRune(r)
			default:
				return "", false
			}
		default:
			sb.WriteByte(c)
			p.i++
		}
	}
	return "", false
}

func (p *canonParser) hex4() (rune, bool) {
	if p.i+4 > len(p.b) {
		return 0, false
	}
	var r rune
	for _, c := range p.b[p.i : p.i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	p.i += 4
	return r, true
}

// appendJCSString writes s as RFC 8785 does: only ", \ and control
// characters are escaped, with the short forms where JSON has them.
func appendJCSString(dst []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c >= 0x20:
			dst = append(dst, c)
		case c == '\b':
			dst = append(dst, '\\', 'b')
		case c == '\f':
			dst = append(dst, '\\', 'f')
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xF])
		}
	}
	return append(dst, '"')
}
