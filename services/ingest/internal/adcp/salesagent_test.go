package adcp

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"example.com/creativesync/services/ingest/internal/creative"
)

func mustFormat(t *testing.T, def string) creative.Format {
	t.Helper()
	f, err := creative.ParseFormat(json.RawMessage(def))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestFlatAssetsFillTheFormatsSlots holds the sales-agent payload's mapping
// onto each kind of standard format's slots, and names what cannot map.
func TestFlatAssetsFillTheFormatsSlots(t *testing.T) {
	display := mustFormat(t, `{"format_id":{"agent_url":"https://s.example","id":"d"},"name":"d","assets":[
		{"item_type":"individual","asset_id":"image","asset_type":"image","required":true},
		{"item_type":"individual","asset_id":"click_url","asset_type":"url"},
		{"item_type":"individual","asset_id":"html","asset_type":"html"}]}`)
	video := mustFormat(t, `{"format_id":{"agent_url":"https://s.example","id":"v"},"name":"v","assets":[
		{"item_type":"individual","asset_id":"video","asset_type":"video","required":true}]}`)
	vast := mustFormat(t, `{"format_id":{"agent_url":"https://s.example","id":"x"},"name":"x","assets":[
		{"item_type":"individual","asset_id":"tag","asset_type":"vast","required":true}]}`)
	native := mustFormat(t, `{"format_id":{"agent_url":"https://s.example","id":"n"},"name":"n","assets":[
		{"item_type":"individual","asset_id":"headline","asset_type":"text","required":true},
		{"item_type":"individual","asset_id":"image","asset_type":"image","required":true}]}`)
	for _, tc := range []struct {
		name     string
		format   creative.Format
		payload  string
		want     string // assets, when the mapping succeeds
		errField string // else the first error's field
	}{
		{"display", display, `{"url":"https://c.example/b.png","width":300,"height":250,"click_url":"https://l.example"}`,
			`{"click_url":{"asset_type":"url","url":"https://l.example"},"image":{"asset_type":"image","height":250,"url":"https://c.example/b.png","width":300}}`, ""},
		{"html banner", display, `{"html":"<div>ad</div>"}`, `{"html":{"asset_type":"html","content":"<div>ad</div>"}}`, ""},
		{"video file", video, `{"video_url":"https://c.example/v.mp4","duration_seconds":15,"resolution":"1280x720"}`,
			`{"video":{"asset_type":"video","duration_ms":15000,"height":720,"url":"https://c.example/v.mp4","width":1280}}`, ""},
		{"url is the primary media slot", video, `{"url":"https://c.example/v.mp4","duration_seconds":30}`,
			`{"video":{"asset_type":"video","duration_ms":30000,"url":"https://c.example/v.mp4"}}`, ""},
		{"VAST by URL", vast, `{"vast_url":"https://c.example/t.xml","duration_seconds":30}`,
			`{"tag":{"asset_type":"vast","delivery_type":"url","duration_ms":30000,"url":"https://c.example/t.xml"}}`, ""},
		{"VAST inline", vast, `{"vast_xml":"<VAST/>"}`, `{"tag":{"asset_type":"vast","content":"<VAST/>","delivery_type":"inline"}}`, ""},
		{"native", native, `{"headline":"Hi","url":"https://c.example/i.png","width":1200,"height":627}`,
			`{"headline":{"asset_type":"text","content":"Hi"},"image":{"asset_type":"image","height":627,"url":"https://c.example/i.png","width":1200}}`, ""},
		{"VAST for a video-file format", video, `{"vast_url":"https://c.example/t.xml"}`, "", "a.vast_url"},
		{"video file for a VAST format", vast, `{"video_url":"https://c.example/v.mp4"}`, "", "a.video_url"},
		{"url for a format without media", vast, `{"url":"https://c.example/v.mp4"}`, "", "a.url"},
		{"text the format lacks", display, `{"url":"https://c.example/b.png","width":300,"height":250,"headline":"Hi"}`, "", "a.headline"},
		{"duration on a display", display, `{"url":"https://c.example/b.png","width":300,"height":250,"duration_seconds":5}`, "", "a.duration_seconds"},
		{"two values for one slot", video, `{"url":"https://c.example/v.mp4","video_url":"https://c.example/w.mp4"}`, "", "a.video_url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m map[string]json.RawMessage
			if err := json.Unmarshal([]byte(tc.payload), &m); err != nil {
				t.Fatal(err)
			}
			flat, errs := decodeFlatAssets("a", m)
			if len(errs) > 0 {
				t.Fatalf("decoding: %v", errs)
			}
			assets, errs := flat.assetsFor("a")(tc.format)
			if tc.errField != "" {
				if len(errs) == 0 || errs[0].Field != tc.errField {
					t.Fatalf("errors %+v, want one at %s", errs, tc.errField)
				}
				return
			}
			if len(errs) > 0 {
				t.Fatalf("errors: %+v", errs)
			}
			got, err := json.Marshal(assets)
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			if json.Unmarshal(got, &g) != nil || json.Unmarshal([]byte(tc.want), &w) != nil {
				t.Fatal("bad JSON")
			}
			gb, _ := json.Marshal(g) // re-encoding decoded JSON cannot fail
			wb, _ := json.Marshal(w)
			if string(gb) != string(wb) {
				t.Errorf("assets\n got %s\nwant %s", gb, wb)
			}
		})
	}
}

func TestFlatAssetsRefuseWhatTheyCannotRead(t *testing.T) {
	for payload, field := range map[string]string{
		`{}`: "a",
		`{"url":"https://c.example/b.png","bitrate":5}`: "a.bitrate",
		`{"url":5}`:                  "a",
		`{"width":300,"height":250}`: "a.width",
		`{"vast_url":"https://c.example/t.xml","resolution":"1920*1080"}`: "a.resolution",
		`{"vast_url":"https://c.example/t.xml","duration_seconds":-1}`:    "a.duration_seconds",
		`{"vast_url":"https://c.example/t.xml","vast_xml":"<VAST/>"}`:     "a.vast_xml",
		`{"headline":5}`: "a.headline",
	} {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(payload), &m); err != nil {
			t.Fatal(err)
		}
		if _, errs := decodeFlatAssets("a", m); len(errs) == 0 || errs[0].Field != field {
			t.Errorf("%s: errors %+v, want one at %s", payload, errs, field)
		}
	}
}

// TestSeedRequestDecodes decodes the sales agent's own example (testdata,
// see its SOURCE.md) into the command: the assignment map, the flat assets
// left for the format, nothing required that the example lacks.
func TestSeedRequestDecodes(t *testing.T) {
	body, err := os.ReadFile("testdata/salesagent/sync_request.json")
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := DecodeSalesAgentSync("mb_a1b2c3d4", body)
	if err != nil {
		t.Fatal(err)
	}
	in := cmd.Sync.Creatives[0]
	if len(cmd.Sync.Creatives) != 1 || in.CreativeID != "cr_video_001" || in.AssetsFor == nil || len(in.Errors) > 0 ||
		len(cmd.Assign["mb_a1b2c3d4"]) != 1 || cmd.Sync.IdempotencyKey != "" || cmd.Sync.Lenient {
		t.Errorf("decoded %+v", cmd)
	}
}

func TestAdCP2NeedsNoKeyOrAccountButAdCP3Does(t *testing.T) {
	body, err := os.ReadFile("testdata/v2/sync_request.json")
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := DecodeSync(body)
	if err != nil || cmd.MajorVersion != 2 || len(cmd.Assignments) != 1 {
		t.Fatalf("v2: %+v %v", cmd, err)
	}
	v3 := strings.Replace(string(body), `"adcp_major_version": 2`, `"adcp_major_version": 3`, 1)
	_, err = DecodeSync([]byte(v3))
	if err == nil || !strings.Contains(err.Error(), "idempotency_key is required") || !strings.Contains(err.Error(), "account is required") {
		t.Errorf("v3 without key and account: %v", err)
	}
}

func TestV2Codes(t *testing.T) {
	for _, tc := range []struct{ code, field, want string }{
		{creative.CodeUnsupportedFeature, "creatives[0].format_id.id", "INVALID_FORMAT"},
		{creative.CodeUnsupportedFeature, "creatives[0].format_id.agent_url", "INVALID_FORMAT"},
		{creative.CodeValidation, "creatives[0].assets.image.width", "FORMAT_MISMATCH"},
		{creative.CodeValidation, "creatives[0].assets.image", "FORMAT_MISMATCH"},
		{creative.CodeValidation, "creatives[0].assets.image.url", "ASSET_PROCESSING_FAILED"},
		{creative.CodeValidation, "creatives[0].name", "VALIDATION_ERROR"},
		{creative.CodeInvalidState, "creatives[0]", "CREATIVE_IN_ACTIVE_DELIVERY"},
		{creative.CodeCreativeRejected, "", "BRAND_SAFETY_VIOLATION"},
		{creative.CodePackageNotFound, "", "PACKAGE_NOT_FOUND"},
	} {
		if got := v2Code(Error{Code: tc.code, Field: tc.field}); got != tc.want {
			t.Errorf("%s at %s = %s, want %s", tc.code, tc.field, got, tc.want)
		}
	}
}
