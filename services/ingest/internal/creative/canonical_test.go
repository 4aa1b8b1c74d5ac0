package creative

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/gowebpki/jcs"
)

var canonicalSeeds = []string{
	`{"b":1,"a":[true,false,null],"c":{"z":"é","y":"\u00e9"}}`,
	`{"s":"quote \" back \\ slash \/ ctl \u0001 \b\f\n\r\t del \u007f ls \u2028 emoji \ud83d\ude00"}`,
	`[0,-0,1,-1,123456789012345,1234567890123456,1.5,1e3,-0.0]`,
	`{"assets":{"image":{"asset_type":"image","url":"https://c.example/a.png?x=1&y=<2>","width":300,"height":250}}}`,
	`{"ä":1,"a":2,"\u00e4b":3}`,
	`{"a\u0062":1, "ab" : 2}`,
	`  {"nested":[[[{"k":[]}]],{}]}  `,
	`"just a string"`,
	`{"big":1e400}`,
}

// The fast path must produce exactly jcs's bytes wherever it answers.
func TestCanonicalMatchesJCS(t *testing.T) {
	for _, s := range canonicalSeeds {
		checkCanonical(t, []byte(s))
	}
}

func FuzzCanonicalMatchesJCS(f *testing.F) {
	for _, s := range canonicalSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		checkCanonical(t, b)
	})
}

func checkCanonical(t *testing.T, b []byte) {
	t.Helper()
	want, werr := jcs.Transform(b)
	got, ok := appendCanonical(nil, b)
	if ok && werr == nil && !bytes.Equal(got, want) {
		t.Fatalf("%s\n fast %s\n  jcs %s", b, got, want)
	}
	if ok && werr != nil {
		// jcs refuses some documents (e.g. duplicate keys); intake refuses
		// them before hashing, so the fast path's answer is never used.
		return
	}
	full, err := canonical(b)
	if werr == nil && (err != nil || !bytes.Equal(full, want)) {
		t.Fatalf("%s: canonical %s, %v; want %s", b, full, err, want)
	}
}

func TestCanonicalObjectMatchesMarshalledMap(t *testing.T) {
	m := map[string]json.RawMessage{"name": json.RawMessage(`"X"`), "assets": json.RawMessage(`{"b": 2, "a": [1, 2]}`), "ü": json.RawMessage(`1`)}
	got, err := canonicalObject(m)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(m)
	want, _ := jcs.Transform(b)
	if !bytes.Equal(got, want) {
		t.Fatalf("got %s want %s", got, want)
	}
	delete(m, "ü")
	got, _ = canonicalObject(m)
	b, _ = json.Marshal(m)
	want, _ = jcs.Transform(b)
	if !bytes.Equal(got, want) {
		t.Fatalf("ascii: got %s want %s", got, want)
	}
}
