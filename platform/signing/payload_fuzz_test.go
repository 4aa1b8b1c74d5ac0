package signing_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"example.com/creativesync/platform/signing"
)

// hasDuplicateKey is a slow, obviously correct reference for CheckPayload.
func hasDuplicateKey(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		object, wantKey bool
		keys            map[string]bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF || err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				if top != nil && top.object {
					top.wantKey = true
				}
				stack = append(stack, &frame{object: d == '{', wantKey: d == '{', keys: map[string]bool{}})
			} else {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if top == nil || !top.object {
			continue
		}
		if top.wantKey {
			k := tok.(string)
			if top.keys[k] {
				return true
			}
			top.keys[k] = true
			top.wantKey = false
		} else {
			top.wantKey = true
		}
	}
}

func FuzzCheckPayload(f *testing.F) {
	for _, s := range []string{`{"a":1,"a":2}`, `{"a":[{"b":1,"\u0062":2}]}`, `[1,"x",{"k":{"k":{}}}]`, `{"a":"\"}"}`, `"s"`, `{`, `{"a":1}x`, "{\"\xff\":1,\"\xfe\":2}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		err := signing.CheckPayload(body) // must never panic
		valid := json.Valid(body)
		switch {
		case !valid && err == nil:
			t.Fatalf("invalid JSON accepted: %q", body)
		case valid && hasDuplicateKey(body) != errors.Is(err, signing.ErrDuplicateKey):
			t.Fatalf("duplicate detection disagrees with the reference on %q: %v", body, err)
		case valid && !hasDuplicateKey(body) && err != nil:
			t.Fatalf("valid JSON refused: %q: %v", body, err)
		}
	})
}
