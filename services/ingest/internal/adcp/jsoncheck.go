package adcp

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxDepth caps how deeply a request may nest objects and arrays. AdCP
// requests nest well under 20 levels; thousands of levels only cost us
// stack, memory and a jsonb Postgres refuses or slows down on.
const MaxDepth = 64

// jsonProblem is a defect of a well-formed-looking body that Go's decoder
// would accept but that must not reach storage: Postgres rejects invalid
// UTF-8, NUL characters and unpaired surrogates in jsonb, and a duplicate
// key means two readers can see two different requests.
type jsonProblem struct {
	path    []string
	message string
}

func (p *jsonProblem) field() string {
	var b strings.Builder
	for _, s := range p.path {
		if strings.HasPrefix(s, "[") || b.Len() == 0 {
			b.WriteString(s)
		} else {
			b.WriteByte('.')
			b.WriteString(s)
		}
	}
	return b.String()
}

// checkJSON validates body strictly: syntax, nesting depth, UTF-8, no NUL,
// no lone surrogates, no duplicate object keys. It returns nil for a body
// that is safe to decode and store.
func checkJSON(body []byte, maxDepth int) *jsonProblem {
	if !json.Valid(body) {
		var probe any
		err := json.Unmarshal(body, &probe)
		return &jsonProblem{message: "request body is not valid JSON: " + describeSyntax(err)}
	}
	s := strictScanner{b: body, max: maxDepth}
	s.value()
	return s.err
}

func describeSyntax(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s at byte %d", se.Error(), se.Offset)
	}
	if err == nil {
		return "unexpected end of input"
	}
	return err.Error()
}

// strictScanner walks a body json.Valid already accepted, so it only
// looks for what Valid allows but we refuse.
type strictScanner struct {
	b     []byte
	i     int
	depth int
	max   int
	path  []string
	err   *jsonProblem
}

func (s *strictScanner) fail(msg string) {
	if s.err == nil {
		s.err = &jsonProblem{path: append([]string(nil), s.path...), message: msg}
	}
}

func (s *strictScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *strictScanner) value() {
	s.ws()
	if s.err != nil || s.i >= len(s.b) {
		return
	}
	switch s.b[s.i] {
	case '{':
		s.object()
	case '[':
		s.array()
	case '"':
		s.str()
	default:
		// number, true, false, null: syntax is already checked.
		for s.i < len(s.b) && !strings.ContainsRune(",]} \t\n\r", rune(s.b[s.i])) {
			s.i++
		}
	}
}

func (s *strictScanner) enter() bool {
	s.depth++
	if s.depth > s.max {
		s.fail(fmt.Sprintf("JSON nests deeper than %d levels", s.max))
		return false
	}
	return true
}

func (s *strictScanner) object() {
	if !s.enter() {
		return
	}
	s.i++ // {
	var keys []string
	for s.err == nil {
		s.ws()
		if s.b[s.i] == '}' {
			s.i++
			break
		}
		if s.b[s.i] == ',' {
			s.i++
			s.ws()
		}
		key, ok := s.str()
		if !ok {
			return
		}
		for _, k := range keys {
			if k == key {
				s.path = append(s.path, key)
				s.fail(fmt.Sprintf("key %q appears twice in the same object", key))
				return
			}
		}
		keys = append(keys, key)
		s.ws()
		s.i++ // :
		s.path = append(s.path, key)
		s.value()
		s.path = s.path[:len(s.path)-1]
	}
	s.depth--
}

func (s *strictScanner) array() {
	if !s.enter() {
		return
	}
	s.i++ // [
	for n := 0; s.err == nil; n++ {
		s.ws()
		if s.b[s.i] == ']' {
			s.i++
			break
		}
		if s.b[s.i] == ',' {
			s.i++
		}
		s.path = append(s.path, "["+strconv.Itoa(n)+"]")
		s.value()
		s.path = s.path[:len(s.path)-1]
	}
	s.depth--
}

// str scans a string starting at its opening quote and returns its
// content (unescaped only when it had escapes, which keys rarely do).
func (s *strictScanner) str() (string, bool) {
	s.i++ // opening quote
	start := s.i
	escaped := false
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			raw := s.b[start:s.i]
			s.i++
			if !escaped {
				return string(raw), true
			}
			var out string
			if err := json.Unmarshal(s.b[start-1:s.i], &out); err != nil {
				s.fail("string is not valid JSON")
				return "", false
			}
			return out, true
		case c == '\\':
			escaped = true
			if s.b[s.i+1] != 'u' {
				s.i += 2
				continue
			}
			r := hex4(s.b[s.i+2 : s.i+6])
			s.i += 6
			switch {
			case r == 0:
				s.fail(`string contains \u0000 (NUL), which cannot be stored`)
				return "", false
			case r >= 0xD800 && r < 0xDC00:
				if s.i+6 > len(s.b) || s.b[s.i] != '\\' || s.b[s.i+1] != 'u' {
					s.fail("string contains an unpaired UTF-16 surrogate escape")
					return "", false
				}
				lo := hex4(s.b[s.i+2 : s.i+6])
				if lo < 0xDC00 || lo > 0xDFFF {
					s.fail("string contains an unpaired UTF-16 surrogate escape")
					return "", false
				}
				s.i += 6
			case r >= 0xDC00 && r <= 0xDFFF:
				s.fail("string contains an unpaired UTF-16 surrogate escape")
				return "", false
			}
		case c < utf8.RuneSelf:
			s.i++
		default:
			r, size := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && size <= 1 {
				s.fail("string is not valid UTF-8")
				return "", false
			}
			s.i += size
		}
	}
	s.fail("unterminated string")
	return "", false
}

func hex4(b []byte) rune {
	n, err := strconv.ParseUint(string(b), 16, 32)
	if err != nil {
		return -1
	}
	return rune(n)
}
