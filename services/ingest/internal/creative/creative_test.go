package creative

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCanonicalAgentURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://Seller.Example.com/":      "https://seller.example.com",
		"https://seller.example.com:443":   "https://seller.example.com",
		"http://seller.example.com:80/a/":  "http://seller.example.com/a",
		"https://user@seller.example.com":  "https://seller.example.com",
		"https://seller.example.com:8443/": "https://seller.example.com:8443",
	} {
		if got := CanonicalAgentURL(in); got != want {
			t.Errorf("%s: got %s want %s", in, got, want)
		}
	}
}

func TestChangedFieldsAndMerge(t *testing.T) {
	old := map[string]json.RawMessage{"name": json.RawMessage(`"A"`), "tags": json.RawMessage(`["x"]`), "assets": json.RawMessage(`{"a":{"w":1,"h":2}}`)}
	in := map[string]json.RawMessage{"name": json.RawMessage(`"A"`), "assets": json.RawMessage(`{"a":{"h":2,"w":1}}`), "provenance": json.RawMessage(`{}`), "status": json.RawMessage(`"approved"`)}
	merged := mergeBody(old, in)
	if _, ok := merged["status"]; ok {
		t.Error("status is seller-owned and must not be stored from the buyer")
	}
	if string(merged["tags"]) != `["x"]` {
		t.Error("omitted optional fields must be kept")
	}
	got := changedFields(old, merged)
	if len(got) != 1 || got[0] != "provenance" {
		t.Errorf("changes %v, want [provenance] (asset key order is not a change)", got)
	}
}

func TestValidateAssets(t *testing.T) {
	defs, err := StandardFormats("https://s.example")
	if err != nil {
		t.Fatal(err)
	}
	reg := map[string]Format{}
	for _, d := range defs {
		f, err := ParseFormat(d)
		if err != nil {
			t.Fatal(err)
		}
		reg[f.ID] = f
	}
	cases := []struct {
		name, format, assets, wantField string
		fid                             FormatID
	}{
		{"ok display", "display_300x250", `{"image":{"asset_type":"image","url":"https://c.example/a.png","width":300,"height":250}}`, "", FormatID{}},
		{"wrong size", "display_300x250", `{"image":{"asset_type":"image","url":"https://c.example/a.png","width":301,"height":250}}`, "c.assets.image.width", FormatID{}},
		{"fractional width", "display_300x250", `{"image":{"asset_type":"image","url":"https://c.example/a.png","width":300.5,"height":250}}`, "c.assets.image.width", FormatID{}},
		{"credentials in url", "display_300x250", `{"image":{"asset_type":"image","url":"https://user:pw@c.example/a.png","width":300,"height":250}}`, "c.assets.image.url", FormatID{}},
		{"url too long", "display_300x250", `{"image":{"asset_type":"image","url":"https://c.example/` + strings.Repeat("a", MaxURLLength) + `","width":300,"height":250}}`, "c.assets.image.url", FormatID{}},
		{"bad url", "display_300x250", `{"image":{"asset_type":"image","url":"javascript:alert(1)","width":300,"height":250}}`, "c.assets.image.url", FormatID{}},
		{"too long video", "video_30s", `{"video":{"asset_type":"video","url":"https://c.example/v.mp4","width":1920,"height":1080,"duration_ms":45000}}`, "c.assets.video.duration_ms", FormatID{}},
		{"ok video", "video_30s", `{"video":{"asset_type":"video","url":"https://c.example/v.mp4","width":1920,"height":1080,"duration_ms":30000,"container_format":"mp4"}}`, "", FormatID{}},
		{"bad container", "video_15s", `{"video":{"asset_type":"video","url":"https://c.example/v.avi","width":1920,"height":1080,"container_format":"avi"}}`, "c.assets.video.container_format", FormatID{}},
		{"type mismatch", "native_content", `{"headline":{"asset_type":"image","url":"https://c.example/a.png","width":1,"height":1},"image":{"asset_type":"image","url":"https://c.example/a.png","width":1200,"height":628}}`, "c.assets.headline.asset_type", FormatID{}},
		{"headline too long", "native_content", `{"headline":{"asset_type":"text","content":"` + strings.Repeat("h", 91) + `"},"image":{"asset_type":"image","url":"https://c.example/a.png","width":1200,"height":628}}`, "c.assets.headline.content", FormatID{}},
		{"missing required field", "audio_30s", `{"audio":{"asset_type":"audio"}}`, "c.assets.audio.url", FormatID{}},
		{"unknown slot", "audio_30s", `{"audio":{"asset_type":"audio","url":"https://c.example/a.mp3"},"extra":{"asset_type":"text","content":"x"}}`, "c.assets.extra", FormatID{}},
	}
	for _, tc := range cases {
		var assets map[string]json.RawMessage
		if err := json.Unmarshal([]byte(tc.assets), &assets); err != nil {
			t.Fatal(err)
		}
		errs := validateAssets("c", tc.fid, reg[tc.format], assets)
		if tc.wantField == "" {
			if len(errs) != 0 {
				t.Errorf("%s: unexpected %v", tc.name, errs)
			}
			continue
		}
		found := false
		for _, e := range errs {
			if e.Field == tc.wantField && e.Code == CodeValidation && e.Message != "" {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: want error at %s, got %+v", tc.name, tc.wantField, errs)
		}
	}
}
