package adcp

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCheckJSONRefusesWhatStorageCannotHold(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 70) + `1` + strings.Repeat(`}`, 70)
	okDeep := strings.Repeat(`[`, 60) + strings.Repeat(`]`, 60)
	cases := []struct {
		name, body, field, msg string
	}{
		{"plain object", `{"a":[1,{"b":"c"}],"d":"é\u00e9 \ud83d\ude00"}`, "", ""},
		{"escaped quote and backslash", `{"a\"b":"x\\y","a\\b":1}`, "", ""},
		{"within depth", okDeep, "", ""},
		{"invalid utf-8", "{\"creatives\":[{\"name\":\"a\xffb\"}]}", "creatives[0].name", "not valid UTF-8"},
		{"overlong utf-8", "{\"a\":\"\xc0\xaf\"}", "a", "not valid UTF-8"},
		{"NUL escape", `{"a":{"b":"x\u0000y"}}`, "a.b", `\u0000`},
		{"lone high surrogate", `{"a":"\ud800"}`, "a", "surrogate"},
		{"high surrogate then letter", `{"a":"\ud800x"}`, "a", "surrogate"},
		{"lone low surrogate", `{"a":["\udc00"]}`, "a[0]", "surrogate"},
		{"duplicate key", `{"a":1,"b":2,"a":3}`, "a", "appears twice"},
		{"duplicate nested key", `{"c":[{"x":1},{"x":1,"x":2}]}`, "c[1].x", "appears twice"},
		{"duplicate key by escape", `{"ab":1,"a\u0062":2}`, "ab", "appears twice"},
		{"too deep", deep, "", "deeper than 64"},
		{"syntax", `{"a":`, "", "not valid JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := checkJSON([]byte(tc.body), MaxDepth)
			if tc.msg == "" {
				if p != nil {
					t.Fatalf("refused: %s at %q", p.message, p.field())
				}
				return
			}
			if p == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(p.message, tc.msg) || (tc.field != "" && p.field() != tc.field) {
				t.Fatalf("got %q at %q, want %q at %q", p.message, p.field(), tc.msg, tc.field)
			}
		})
	}
}

func TestObjectAnswersBadEncodingsAsCorrectable(t *testing.T) {
	_, err := Object([]byte(`{"idempotency_key":"x\u0000"}`))
	re, ok := err.(*RequestError)
	if !ok || re.Errors[0].Code != "INVALID_REQUEST" || re.Errors[0].Recovery != "correctable" || re.Errors[0].Field != "idempotency_key" {
		t.Fatalf("got %#v", err)
	}
}

func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,"b",{"c":null}]}`, `{"a":"\ud83d\ude00"}`, `[[[]]]`, `{"a":1,"a":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// Must never panic, and must refuse everything json.Valid refuses.
		p := checkJSON(b, 8)
		if p == nil && !jsonValid(b) {
			t.Fatalf("accepted invalid JSON %q", b)
		}
	})
}

func jsonValid(b []byte) bool { return json.Valid(b) }
