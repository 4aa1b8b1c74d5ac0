package review_test

import (
	"encoding/json"
	"slices"
	"testing"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/apperr"
	"example.com/creativesync/services/review/internal/review"
)

// synced returns a creative_synced_v1 event that passes every rule: a known
// display format, its required image over https, human-made.
func synced() *events.CreativeSyncedV1 {
	return &events.CreativeSyncedV1{
		AccountID:  "acct_1",
		CreativeID: "banner_1",
		Revision:   1,
		Name:       "Holiday banner",
		FormatID:   events.FormatID{AgentURL: "https://creative.example.com", ID: "display_300x250"},
		Format: &events.FormatSnapshot{Name: "Medium rectangle", Assets: []events.FormatAsset{
			{AssetID: "image", AssetType: "image", Required: true},
			{AssetID: "click_url", AssetType: "url", Required: false},
			{AssetID: "headline", AssetType: "text", Required: false},
		}},
		Assets:     json.RawMessage(`{"image":{"asset_type":"image","url":"https://cdn.example.com/b.png","width":300,"height":250}}`),
		Tags:       []string{"q4"},
		Provenance: json.RawMessage(`{"digital_source_type":"digital_creation"}`),
	}
}

func mustParse(t *testing.T, ev *events.CreativeSyncedV1) review.Creative {
	t.Helper()
	c, err := review.ParseCreative(ev)
	if err != nil {
		t.Fatalf("ParseCreative: %v", err)
	}
	return c
}

func score(t *testing.T, ev *events.CreativeSyncedV1) review.Assessment {
	t.Helper()
	c := mustParse(t, ev)
	return review.NewScorer(review.DefaultRules(review.DefaultCategories())...).Score(&c)
}

func codes(fs []review.Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, f.Code+"@"+f.Field)
	}
	return out
}

func TestScoreRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		edit       func(ev *events.CreativeSyncedV1)
		wantScore  float64
		wantCodes  []string
		forceHuman bool
	}{
		{
			name:      "valid creative",
			edit:      func(*events.CreativeSyncedV1) {},
			wantScore: 1,
			wantCodes: []string{},
		},
		{
			name:      "unknown format",
			edit:      func(ev *events.CreativeSyncedV1) { ev.Format = nil },
			wantScore: 0,
			wantCodes: []string{"FORMAT_UNKNOWN@format_id"},
		},
		{
			name:      "required asset missing",
			edit:      func(ev *events.CreativeSyncedV1) { ev.Assets = json.RawMessage(`{}`) },
			wantScore: 0,
			wantCodes: []string{"REQUIRED_ASSET_MISSING@assets.image"},
		},
		{
			name:      "assets null counts as all missing",
			edit:      func(ev *events.CreativeSyncedV1) { ev.Assets = nil },
			wantScore: 0,
			wantCodes: []string{"REQUIRED_ASSET_MISSING@assets.image"},
		},
		{
			name: "asset type mismatch",
			edit: func(ev *events.CreativeSyncedV1) {
				ev.Assets = json.RawMessage(`{"image":{"asset_type":"video","url":"https://cdn.example.com/v.mp4"}}`)
			},
			wantScore: 0,
			wantCodes: []string{"ASSET_TYPE_MISMATCH@assets.image.asset_type"},
		},
		{
			name: "asset without asset_type",
			edit: func(ev *events.CreativeSyncedV1) {
				ev.Assets = json.RawMessage(`{"image":{"url":"https://cdn.example.com/b.png"}}`)
			},
			wantScore: 0,
			wantCodes: []string{"ASSET_TYPE_MISMATCH@assets.image.asset_type"},
		},
		{
			name: "optional asset absent is fine, present and right is fine",
			edit: func(ev *events.CreativeSyncedV1) {
				ev.Assets = json.RawMessage(`{"image":{"asset_type":"image","url":"https://a.example/b.png"},"click_url":{"asset_type":"url","url":"https://shop.example/"}}`)
			},
			wantScore: 1,
			wantCodes: []string{},
		},
		{
			name: "asset not in format is a small penalty that still auto-approves",
			edit: func(ev *events.CreativeSyncedV1) {
				ev.Assets = json.RawMessage(`{"image":{"asset_type":"image","url":"https://a.example/b.png"},"logo":{"asset_type":"image","url":"https://a.example/l.png"}}`)
			},
			wantScore: 0.95,
			wantCodes: []string{"ASSET_NOT_IN_FORMAT@assets.logo"},
		},
		{
			name: "several unknown slots count once",
			edit: func(ev *events.CreativeSyncedV1) {
				ev.Assets = json.RawMessage(`{"image":{"asset_type":"image","url":"https://a.example/b.png"},"logo":{"asset_type":"image","url":"https://a.example/l.png"},"x":{"asset_type":"text","content":"hi"}}`)
			},
			wantScore: 0.95,
			wantCodes: []string{"ASSET_NOT_IN_FORMAT@assets.logo", "ASSET_NOT_IN_FORMAT@assets.x"},
		},
		{
			name: "http url",
			edit: func(ev *events.CreativeSyncedV1) {
				ev.Assets = json.RawMessage(`{"image":{"asset_type":"image","url":"http://cdn.example.com/b.png"}}`)
			},
			wantScore: 0.7,
			wantCodes: []string{"INSECURE_URL@assets.image.url"},
		},
		{
			name: "http in a secondary url field",
			edit: func(ev *events.CreativeSyncedV1) {
				ev.Assets = json.RawMessage(`{"image":{"asset_type":"image","url":"https://cdn.example.com/b.png","landing_url":"HTTP://shop.example/"}}`)
			},
			wantScore: 0.7,
			wantCodes: []string{"INSECURE_URL@assets.image.landing_url"},
		},
		{
			name: "javascript url",
			edit: func(ev *events.CreativeSyncedV1) {
				ev.Assets = json.RawMessage(`{"image":{"asset_type":"image","url":"https://a.example/b.png"},"click_url":{"asset_type":"url","url":"javascript:alert(1)"}}`)
			},
			wantScore: 0,
			wantCodes: []string{"FORBIDDEN_URL_SCHEME@assets.click_url.url"},
		},
		{
			name: "obfuscated javascript url",
			edit: func(ev *events.CreativeSyncedV1) {
				ev.Assets = json.RawMessage(`{"image":{"asset_type":"image","url":"https://a.example/b.png"},"click_url":{"asset_type":"url","url":" JaVa\tScRiPt:alert(1)"}}`)
			},
			wantScore: 0,
			wantCodes: []string{"FORBIDDEN_URL_SCHEME@assets.click_url.url"},
		},
		{
			name: "data url",
			edit: func(ev *events.CreativeSyncedV1) {
				ev.Assets = json.RawMessage(`{"image":{"asset_type":"image","url":"data:image/png;base64,AAAA"}}`)
			},
			wantScore: 0,
			wantCodes: []string{"FORBIDDEN_URL_SCHEME@assets.image.url"},
		},
		{
			name: "relative url cannot be served",
			edit: func(ev *events.CreativeSyncedV1) {
				ev.Assets = json.RawMessage(`{"image":{"asset_type":"image","url":"/b.png"}}`)
			},
			wantScore: 0,
			wantCodes: []string{"INVALID_URL@assets.image.url"},
		},
		{
			name: "https without host",
			edit: func(ev *events.CreativeSyncedV1) {
				ev.Assets = json.RawMessage(`{"image":{"asset_type":"image","url":"https:b.png"}}`)
			},
			wantScore: 0,
			wantCodes: []string{"INVALID_URL@assets.image.url"},
		},
		{
			name: "AI without disclosure",
			edit: func(ev *events.CreativeSyncedV1) {
				ev.Provenance = json.RawMessage(`{"digital_source_type":"trained_algorithmic_model"}`)
			},
			wantScore: 0.5,
			wantCodes: []string{"AI_DISCLOSURE_MISSING@provenance.disclosure"},
		},
		{
			name: "AI (3.1 name) with empty disclosure",
			edit: func(ev *events.CreativeSyncedV1) {
				ev.Provenance = json.RawMessage(`{"digital_source_type":"trained_algorithmic_media","disclosure":{}}`)
			},
			wantScore: 0.5,
			wantCodes: []string{"AI_DISCLOSURE_MISSING@provenance.disclosure"},
		},
		{
			name: "AI as IPTC URI",
			edit: func(ev *events.CreativeSyncedV1) {
				ev.Provenance = json.RawMessage(`{"digital_source_type":"http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"}`)
			},
			wantScore: 0.5,
			wantCodes: []string{"AI_DISCLOSURE_MISSING@provenance.disclosure"},
		},
		{
			name: "AI with disclosure",
			edit: func(ev *events.CreativeSyncedV1) {
				ev.Provenance = json.RawMessage(`{"digital_source_type":"composite_synthetic","disclosure":{"required":true,"jurisdictions":[{"country":"DE","regulation":"eu_ai_act_article_50"}]}}`)
			},
			wantScore: 1,
			wantCodes: []string{},
		},
		{
			name: "asset-level AI provenance replaces the creative's",
			edit: func(ev *events.CreativeSyncedV1) {
				ev.Assets = json.RawMessage(`{"image":{"asset_type":"image","url":"https://a.example/b.png","provenance":{"digital_source_type":"algorithmic_media"}}}`)
			},
			wantScore: 0.5,
			wantCodes: []string{"AI_DISCLOSURE_MISSING@assets.image.provenance.disclosure"},
		},
		{
			name:       "political tag forces a human without lowering the score",
			edit:       func(ev *events.CreativeSyncedV1) { ev.Tags = []string{"q4", "Politics"} },
			wantScore:  1,
			wantCodes:  []string{"SENSITIVE_CATEGORY@tags[1]"},
			forceHuman: true,
		},
		{
			name: "health in text content",
			edit: func(ev *events.CreativeSyncedV1) {
				ev.Assets = json.RawMessage(`{"image":{"asset_type":"image","url":"https://a.example/b.png"},"headline":{"asset_type":"text","content":"Ask your doctor about this PRESCRIPTION!"}}`)
			},
			wantScore:  1,
			wantCodes:  []string{"SENSITIVE_CATEGORY@assets.headline"},
			forceHuman: true,
		},
		{
			name:       "finance phrase in the name",
			edit:       func(ev *events.CreativeSyncedV1) { ev.Name = "Low-rate mortgage offer" },
			wantScore:  1,
			wantCodes:  []string{"SENSITIVE_CATEGORY@name"},
			forceHuman: true,
		},
		{
			name:      "keywords match whole words only",
			edit:      func(ev *events.CreativeSyncedV1) { ev.Name = "Our devoted healthy loaner team" },
			wantScore: 1,
			wantCodes: []string{},
		},
		{
			name: "findings from different rules multiply",
			edit: func(ev *events.CreativeSyncedV1) {
				ev.Assets = json.RawMessage(`{"image":{"asset_type":"image","url":"http://a.example/b.png"}}`)
				ev.Provenance = json.RawMessage(`{"digital_source_type":"trained_algorithmic_model"}`)
			},
			wantScore: 0.35,
			wantCodes: []string{"INSECURE_URL@assets.image.url", "AI_DISCLOSURE_MISSING@provenance.disclosure"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev := synced()
			tt.edit(ev)
			got := score(t, ev)
			if got.Score != tt.wantScore {
				t.Errorf("score = %v, want %v (findings %v)", got.Score, tt.wantScore, codes(got.Findings))
			}
			if !slices.Equal(codes(got.Findings), tt.wantCodes) {
				t.Errorf("findings = %v, want %v", codes(got.Findings), tt.wantCodes)
			}
			if got.ForceHuman != tt.forceHuman {
				t.Errorf("ForceHuman = %v, want %v", got.ForceHuman, tt.forceHuman)
			}
		})
	}
}

func TestScoreIsDeterministic(t *testing.T) {
	t.Parallel()
	ev := synced()
	ev.Assets = json.RawMessage(`{"b":{"asset_type":"text","content":"vote"},"a":{"asset_type":"url","url":"http://x.example"},"image":{"asset_type":"image","url":"http://y.example"}}`)
	first := score(t, ev)
	for range 20 {
		if got := score(t, ev); !slices.Equal(codes(got.Findings), codes(first.Findings)) || got.Score != first.Score {
			t.Fatalf("scores differ between runs: %v vs %v", codes(got.Findings), codes(first.Findings))
		}
	}
}

// customRule shows that a rule added later plugs in with no scorer change.
type customRule struct{ factor float64 }

func (customRule) Name() string { return "custom" }
func (r customRule) Check(*review.Creative) []review.Finding {
	return []review.Finding{{Code: "CUSTOM", Factor: r.factor}}
}

func TestScorerClampsFactors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		factor, want float64
	}{{-1, 0}, {2, 1}, {0.25, 0.25}} {
		c := review.Creative{}
		if got := review.NewScorer(customRule{tt.factor}).Score(&c).Score; got != tt.want {
			t.Errorf("factor %v: score %v, want %v", tt.factor, got, tt.want)
		}
	}
}

func TestParseCreativeRejectsBrokenEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		edit  func(ev *events.CreativeSyncedV1)
		field string
	}{
		{"no account", func(ev *events.CreativeSyncedV1) { ev.AccountID = " " }, "account_id"},
		{"no creative", func(ev *events.CreativeSyncedV1) { ev.CreativeID = "" }, "creative_id"},
		{"revision zero", func(ev *events.CreativeSyncedV1) { ev.Revision = 0 }, "revision"},
		{"assets array", func(ev *events.CreativeSyncedV1) { ev.Assets = json.RawMessage(`[1]`) }, "assets"},
		{"asset string", func(ev *events.CreativeSyncedV1) { ev.Assets = json.RawMessage(`{"image":"x"}`) }, "assets.image"},
		{"provenance string", func(ev *events.CreativeSyncedV1) { ev.Provenance = json.RawMessage(`"ai"`) }, "provenance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev := synced()
			tt.edit(ev)
			_, err := review.ParseCreative(ev)
			e := apperr.As(err)
			if e == nil || e.Code != review.CodeInvalidEvent || e.Field != tt.field {
				t.Fatalf("err = %v, want %s on %s", err, review.CodeInvalidEvent, tt.field)
			}
		})
	}
}

func TestParseCategories(t *testing.T) {
	t.Parallel()
	got, err := review.ParseCategories(" Political = vote, paid for by ; health=clinic,clinic;")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got["political"], []string{"vote", "paid for by"}) || !slices.Equal(got["health"], []string{"clinic"}) || len(got) != 2 {
		t.Fatalf("got %v", got)
	}
	for _, bad := range []string{"", ";", "political", "=vote", "health=, ,"} {
		if _, err := review.ParseCategories(bad); err == nil {
			t.Errorf("ParseCategories(%q) succeeded", bad)
		}
	}
}

func TestIsAIGenerated(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{
		"trained_algorithmic_model":    true,
		"composite_with_trained_model": true,
		"composite_synthetic":          true,
		"algorithmic_media":            true,
		"http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia": true,
		"digital_capture":   false,
		"digital_creation":  false,
		"human_edits":       false,
		"data_driven_media": false,
		"":                  false,
	} {
		if got := review.IsAIGenerated(in); got != want {
			t.Errorf("IsAIGenerated(%q) = %v, want %v", in, got, want)
		}
	}
}

func BenchmarkScore(b *testing.B) {
	ev := synced()
	ev.Assets = json.RawMessage(`{"image":{"asset_type":"image","url":"https://cdn.example.com/b.png","alt_text":"A festive scene"},"click_url":{"asset_type":"url","url":"https://shop.example.com/x"},"headline":{"asset_type":"text","content":"Gifts for everyone on your list, delivered before the holidays"}}`)
	ev.Provenance = json.RawMessage(`{"digital_source_type":"trained_algorithmic_model"}`)
	c, err := review.ParseCreative(ev)
	if err != nil {
		b.Fatal(err)
	}
	s := review.NewScorer(review.DefaultRules(review.DefaultCategories())...)
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Score(&c)
	}
}

func BenchmarkParseAndScore(b *testing.B) {
	ev := synced()
	s := review.NewScorer(review.DefaultRules(review.DefaultCategories())...)
	b.ReportAllocs()
	for b.Loop() {
		c, err := review.ParseCreative(ev)
		if err != nil {
			b.Fatal(err)
		}
		_ = s.Score(&c)
	}
}
