package review

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"unicode"

	"example.com/creativesync/events"
)

// Finding is one observation a rule makes about a creative.
type Finding struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// Factor is the probability that the creative still complies given this
	// finding alone: 0 is a certain violation, 1 is purely informational.
	Factor float64 `json:"factor"`
	// ForceHuman keeps the revision away from auto-approval whatever its
	// score, for categories a person must always see.
	ForceHuman bool `json:"force_human,omitempty"`
}

// Reason returns the finding in event form.
func (f Finding) Reason() events.Reason {
	return events.Reason{Code: f.Code, Message: f.Message, Field: f.Field}
}

// Rule inspects a creative and reports findings. Rules are pure: the same
// creative always yields the same findings, which keeps scoring
// reproducible and lets a redelivered event be judged identically.
type Rule interface {
	// Name identifies the rule in logs and tests.
	Name() string
	Check(c *Creative) []Finding
}

// Finding codes.
const (
	CodeFormatUnknown        = "FORMAT_UNKNOWN"
	CodeRequiredAssetMissing = "REQUIRED_ASSET_MISSING"
	CodeAssetTypeMismatch    = "ASSET_TYPE_MISMATCH"
	CodeAssetNotInFormat     = "ASSET_NOT_IN_FORMAT"
	CodeInsecureURL          = "INSECURE_URL"
	CodeForbiddenURLScheme   = "FORBIDDEN_URL_SCHEME"
	CodeInvalidURL           = "INVALID_URL"
	CodeAIDisclosureMissing  = "AI_DISCLOSURE_MISSING"
	CodeSensitiveCategory    = "SENSITIVE_CATEGORY"
)

// Factors of the first rule set. A factor is the scorer's belief that the
// creative complies despite the finding.
const (
	// FactorAssetNotInFormat is mild: an extra slot usually means a template
	// mix-up, not a policy breach, so it alone never blocks auto-approval at
	// the default threshold (0.95 >= 0.9). Several extra slots count once.
	FactorAssetNotInFormat = 0.95
	// FactorInsecureURL puts a plain-http asset below the default approve
	// threshold: it may be fine, but a person should look (mixed content
	// does not render on https pages, and the bytes can be swapped in
	// transit).
	FactorInsecureURL = 0.7
	// FactorAIDisclosureMissing puts undisclosed AI content squarely in the
	// human band: whether disclosure is legally required depends on where
	// the ad runs, which the scorer cannot know.
	FactorAIDisclosureMissing = 0.5
)

// DefaultRules is the first rule set, in the order findings are reported.
func DefaultRules(categories Categories) []Rule {
	return []Rule{FormatRule{}, URLRule{}, ProvenanceRule{}, NewCategoryRule(categories)}
}

// FormatRule checks the manifest against ingest's snapshot of the format:
// required assets present, asset types matching, no unknown slots.
type FormatRule struct{}

func (FormatRule) Name() string { return "format" }

func (FormatRule) Check(c *Creative) []Finding {
	if c.Format == nil {
		return []Finding{{
			Code:    CodeFormatUnknown,
			Message: fmt.Sprintf("format %q of agent %s is unknown, so the creative cannot be validated", c.FormatID.ID, c.FormatID.AgentURL),
			Field:   "format_id",
			Factor:  0,
		}}
	}
	var out []Finding
	slots := make(map[string]events.FormatAsset, len(c.Format.Assets))
	for _, fa := range c.Format.Assets {
		slots[fa.AssetID] = fa
		a, ok := c.Assets[fa.AssetID]
		if !ok {
			if fa.Required {
				out = append(out, Finding{
					Code:    CodeRequiredAssetMissing,
					Message: fmt.Sprintf("format %q requires a %s asset %q", c.FormatID.ID, fa.AssetType, fa.AssetID),
					Field:   "assets." + fa.AssetID,
					Factor:  0,
				})
			}
			continue
		}
		if a.Type != fa.AssetType {
			got := a.Type
			if got == "" {
				got = "none"
			}
			out = append(out, Finding{
				Code:    CodeAssetTypeMismatch,
				Message: fmt.Sprintf("asset %q must be of type %s, got %s", fa.AssetID, fa.AssetType, got),
				Field:   "assets." + fa.AssetID + ".asset_type",
				Factor:  0,
			})
		}
	}
	for _, id := range sortedKeys(c.Assets) {
		if _, ok := slots[id]; !ok {
			out = append(out, Finding{
				Code:    CodeAssetNotInFormat,
				Message: fmt.Sprintf("asset %q is not a slot of format %q and will be ignored", id, c.FormatID.ID),
				Field:   "assets." + id,
				Factor:  FactorAssetNotInFormat,
			})
		}
	}
	return out
}

// URLRule checks every URL in the manifest. Script and inline-data URLs are
// never acceptable in an ad; plain http is suspicious; anything else that is
// not an absolute http(s) URL cannot be served.
type URLRule struct{}

func (URLRule) Name() string { return "url" }

func (URLRule) Check(c *Creative) []Finding {
	var out []Finding
	for _, id := range sortedKeys(c.Assets) {
		a := c.Assets[id]
		for _, field := range sortedKeys(a.URLs) {
			if f, bad := checkURL(a.URLs[field]); bad {
				f.Field = "assets." + id + "." + field
				out = append(out, f)
			}
		}
	}
	return out
}

func checkURL(raw string) (Finding, bool) {
	s := strings.TrimSpace(raw)
	// Browsers ignore control characters and whitespace inside a scheme, so
	// "java\tscript:" must be judged as "javascript:".
	scheme := strings.ToLower(strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return -1
		}
		return r
	}, schemePart(s)))
	switch scheme {
	case "https":
		u, err := url.Parse(s)
		if err == nil && u.Host != "" {
			return Finding{}, false
		}
	case "http":
		u, err := url.Parse(s)
		if err == nil && u.Host != "" {
			return Finding{
				Code:    CodeInsecureURL,
				Message: "asset URL uses plain http; serve it over https",
				Factor:  FactorInsecureURL,
			}, true
		}
	case "javascript", "data", "vbscript", "blob", "file":
		return Finding{
			Code:    CodeForbiddenURLScheme,
			Message: fmt.Sprintf("%s: URLs are not allowed in creatives", scheme),
			Factor:  0,
		}, true
	}
	return Finding{
		Code:    CodeInvalidURL,
		Message: fmt.Sprintf("asset URL %q is not an absolute https URL", truncate(s, 80)),
		Factor:  0,
	}, true
}

func schemePart(s string) string {
	i := strings.IndexByte(s, ':')
	if i < 0 {
		return ""
	}
	return s[:i]
}

// aiSourceTypes are the digital_source_type values (AdCP 3.1 names, the
// older names some agents still send, and IPTC's own) meaning a generative
// or algorithmic system made the content.
var aiSourceTypes = map[string]bool{
	"trained_algorithmic_media":                true,
	"trained_algorithmic_model":                true,
	"composite_with_trained_algorithmic_media": true,
	"composite_with_trained_model":             true,
	"composite_synthetic":                      true,
	"algorithmic_media":                        true,
}

// IsAIGenerated reports whether a digital_source_type says AI or an
// algorithm made the content. It accepts the IPTC vocabulary URI
// (…/digitalsourcetype/trainedAlgorithmicMedia) as well as AdCP's names.
func IsAIGenerated(digitalSourceType string) bool {
	s := strings.TrimSpace(digitalSourceType)
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	return aiSourceTypes[snakeCase(s)]
}

func snakeCase(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ProvenanceRule wants AI-generated content to carry a disclosure
// declaration. Asset-level provenance replaces the creative's for that
// asset, so each asset is judged on its effective provenance.
// Policy is the account's AI disclosure policy; empty means required.
type ProvenanceRule struct{ Policy string }

func (ProvenanceRule) Name() string { return "provenance" }

func (r ProvenanceRule) Check(c *Creative) []Finding {
	if r.Policy == AIDisclosureNotRequired {
		return nil
	}
	factor := FactorAIDisclosureMissing
	if r.Policy == AIDisclosureRejectUndisclosed {
		// The account has said undisclosed AI content never runs.
		factor = 0
	}
	var out []Finding
	undisclosed := func(p *Provenance) bool {
		return p != nil && IsAIGenerated(p.DigitalSourceType) && !p.Disclosed
	}
	if undisclosed(c.Provenance) {
		out = append(out, Finding{
			Code:    CodeAIDisclosureMissing,
			Message: fmt.Sprintf("creative is declared %s but has no AI disclosure", c.Provenance.DigitalSourceType),
			Field:   "provenance.disclosure",
			Factor:  factor,
		})
	}
	for _, id := range sortedKeys(c.Assets) {
		p := c.Assets[id].Provenance
		if p != nil && undisclosed(p) {
			out = append(out, Finding{
				Code:    CodeAIDisclosureMissing,
				Message: fmt.Sprintf("asset %q is declared %s but has no AI disclosure", id, p.DigitalSourceType),
				Field:   "assets." + id + ".provenance.disclosure",
				Factor:  factor,
			})
		}
	}
	return out
}

// Categories maps a sensitive category (political, health, finance) to the
// words and phrases that put a creative in it.
type Categories map[string][]string

// DefaultCategories is deliberately short and precise: a false positive
// costs a person a look, a false negative lets a political ad auto-approve.
// "campaign" is absent on purpose: every ad is part of one.
func DefaultCategories() Categories {
	return Categories{
		"political": {"political", "politics", "election", "elections", "vote", "voting", "ballot",
			"candidate", "candidates", "referendum", "congress", "senate", "parliament", "paid for by",
			"super pac", "democrat", "democrats", "republican", "republicans"},
		"health": {"health", "healthcare", "medical", "medicine", "medication", "pharmacy", "prescription",
			"drug", "drugs", "supplement", "supplements", "clinic", "treatment", "therapy", "vaccine",
			"weight loss", "diet pills", "cure"},
		"finance": {"finance", "financial", "loan", "loans", "credit", "mortgage", "investment", "investing",
			"crypto", "cryptocurrency", "bitcoin", "forex", "trading", "insurance", "debt", "payday"},
	}
}

// CategoryRule sends creatives in a sensitive category to a person. Its
// findings do not lower the score: being political is not a violation, it
// only means a machine must not approve it alone.
type CategoryRule struct {
	categories []category
}

type category struct {
	name     string
	keywords []keyword
}

type keyword struct {
	text    string // as configured, for the message
	pattern string // normalised and space-padded, for matching
}

// NewCategoryRule prepares the keyword lists once, so scoring a creative
// does not re-normalise them.
func NewCategoryRule(cats Categories) CategoryRule {
	var r CategoryRule
	for _, name := range sortedKeys(cats) {
		c := category{name: name}
		for _, kw := range cats[name] {
			if n := normalizeWords(kw); n != "" {
				c.keywords = append(c.keywords, keyword{text: kw, pattern: " " + n + " "})
			}
		}
		r.categories = append(r.categories, c)
	}
	return r
}

func (CategoryRule) Name() string { return "category" }

func (r CategoryRule) Check(c *Creative) []Finding {
	// Matching whole words on space-padded, normalised text: "vote" matches
	// "Vote!" but not "devoted".
	sources := textSources(c)
	var out []Finding
	for _, cat := range r.categories {
	sources:
		for _, s := range sources {
			for _, kw := range cat.keywords {
				if strings.Contains(s.text, kw.pattern) {
					out = append(out, Finding{
						Code:       CodeSensitiveCategory,
						Message:    fmt.Sprintf("mentions %q: %s creatives are always reviewed by a person", kw.text, cat.name),
						Field:      s.field,
						Factor:     1,
						ForceHuman: true,
					})
					break sources // one finding per category is enough for a reviewer
				}
			}
		}
	}
	return out
}

func normalizeWords(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}), " ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// ParseCategories reads "cat=word,phrase two;cat2=word" as used by
// REVIEW_SENSITIVE_KEYWORDS.
func ParseCategories(s string) (Categories, error) {
	out := Categories{}
	for part := range strings.SplitSeq(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, words, ok := strings.Cut(part, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		if !ok || name == "" {
			return nil, fmt.Errorf("%q: want category=word,word", part)
		}
		for w := range strings.SplitSeq(words, ",") {
			if w = strings.TrimSpace(w); w != "" && !slices.Contains(out[name], w) {
				out[name] = append(out[name], w)
			}
		}
		if len(out[name]) == 0 {
			return nil, fmt.Errorf("category %q has no keywords", name)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no categories in %q", s)
	}
	return out, nil
}
