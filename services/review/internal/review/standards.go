package review

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// AI disclosure policies an account may choose.
const (
	// AIDisclosureRequired sends undisclosed AI content to a person (the
	// default: whether disclosure is legally needed depends on placement).
	AIDisclosureRequired = "required"
	// AIDisclosureRejectUndisclosed rejects undisclosed AI content outright.
	AIDisclosureRejectUndisclosed = "reject_undisclosed"
	// AIDisclosureNotRequired ignores AI provenance.
	AIDisclosureNotRequired = "not_required"
)

// Finding codes of the per-account standards.
const (
	CodeBlockedTerm      = "BLOCKED_TERM"
	CodeBlockedDomain    = "BLOCKED_DOMAIN"
	CodeDomainNotAllowed = "DOMAIN_NOT_ALLOWED"
)

// Standards are one account's content standards: its thresholds, the
// terms and landing-page domains it refuses or allows, the categories it
// always wants a person to see, its AI disclosure policy and the reasons
// reviewers pick from. Every rule they add reports its own finding, so a
// decision can always be explained.
type Standards struct {
	Thresholds
	// BlockedTerms are words or phrases (whole words, any case) the
	// account never runs; one is a certain violation.
	BlockedTerms []string `json:"blocked_terms"`
	// BlockedDomains are landing-page domains (and their subdomains) the
	// account refuses.
	BlockedDomains []string `json:"blocked_domains"`
	// AllowedDomains, when not empty, are the only landing-page domains
	// (and their subdomains) the account accepts.
	AllowedDomains []string `json:"allowed_domains"`
	// HumanCategories add to the service's sensitive categories: a match
	// always goes to a person.
	HumanCategories Categories `json:"human_categories"`
	// AIDisclosure is required, reject_undisclosed or not_required.
	AIDisclosure string `json:"ai_disclosure"`
	// Reasons are the policy reasons offered to reviewers for a rejection.
	Reasons []string `json:"reasons"`
}

// DefaultStandards are what an account without its own gets.
func DefaultStandards(t Thresholds) Standards {
	return Standards{Thresholds: t, AIDisclosure: AIDisclosureRequired}
}

// Limits that keep a standards document reviewable and its rules fast.
const (
	maxListLen    = 500
	maxTermLen    = 100
	maxReasons    = 50
	maxReasonText = 200
)

var (
	domainRe   = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
	categoryRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)
)

// Normalize trims and lower-cases what is compared case-insensitively and
// fills defaults, so equal standards are stored equally.
func (s Standards) Normalize() Standards {
	clean := func(in []string, lower bool) []string {
		out := []string{}
		for _, v := range in {
			v = strings.TrimSpace(v)
			if lower {
				v = strings.ToLower(strings.TrimSuffix(v, "."))
			}
			if v != "" && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
		return out
	}
	s.BlockedTerms = clean(s.BlockedTerms, false)
	s.BlockedDomains = clean(s.BlockedDomains, true)
	s.AllowedDomains = clean(s.AllowedDomains, true)
	s.Reasons = clean(s.Reasons, false)
	cats := Categories{}
	for name, words := range s.HumanCategories {
		cats[strings.ToLower(strings.TrimSpace(name))] = clean(words, false)
	}
	s.HumanCategories = cats
	if s.AIDisclosure == "" {
		s.AIDisclosure = AIDisclosureRequired
	}
	return s
}

// Validate reports the first problem, naming the field and the entry.
func (s Standards) Validate() error {
	if err := s.Thresholds.Validate(); err != nil {
		return err
	}
	for _, l := range []struct {
		field string
		list  []string
	}{{"blocked_terms", s.BlockedTerms}, {"blocked_domains", s.BlockedDomains}, {"allowed_domains", s.AllowedDomains}, {"reasons", s.Reasons}} {
		if len(l.list) > maxListLen {
			return invalidf(l.field, "%s has %d entries; at most %d", l.field, len(l.list), maxListLen)
		}
	}
	for i, t := range s.BlockedTerms {
		if normalizeWords(t) == "" || utf8.RuneCountInString(t) > maxTermLen {
			return invalidf(fmt.Sprintf("blocked_terms[%d]", i), "blocked term %q must hold a letter or digit and be at most %d characters", t, maxTermLen)
		}
	}
	for _, l := range []struct {
		field string
		list  []string
	}{{"blocked_domains", s.BlockedDomains}, {"allowed_domains", s.AllowedDomains}} {
		for i, d := range l.list {
			if !domainRe.MatchString(d) {
				return invalidf(fmt.Sprintf("%s[%d]", l.field, i), "%q is not a domain name like shop.example.com (no scheme, port or path)", d)
			}
		}
	}
	for i, d := range s.AllowedDomains {
		if slices.Contains(s.BlockedDomains, d) {
			return invalidf(fmt.Sprintf("allowed_domains[%d]", i), "%q is both blocked and allowed", d)
		}
	}
	for _, name := range sortedKeys(s.HumanCategories) {
		if !categoryRe.MatchString(name) {
			return invalidf("human_categories", "category name %q must be lower-case letters, digits and _ (at most 40)", name)
		}
		words := s.HumanCategories[name]
		if len(words) == 0 || len(words) > maxListLen {
			return invalidf("human_categories."+name, "category %q needs between 1 and %d keywords", name, maxListLen)
		}
		for i, w := range words {
			if normalizeWords(w) == "" || utf8.RuneCountInString(w) > maxTermLen {
				return invalidf(fmt.Sprintf("human_categories.%s[%d]", name, i), "keyword %q must hold a letter or digit and be at most %d characters", w, maxTermLen)
			}
		}
	}
	switch s.AIDisclosure {
	case AIDisclosureRequired, AIDisclosureRejectUndisclosed, AIDisclosureNotRequired:
	default:
		return invalidf("ai_disclosure", "ai_disclosure must be %s, %s or %s, got %q",
			AIDisclosureRequired, AIDisclosureRejectUndisclosed, AIDisclosureNotRequired, s.AIDisclosure)
	}
	if len(s.Reasons) > maxReasons {
		return invalidf("reasons", "at most %d reasons", maxReasons)
	}
	for i, r := range s.Reasons {
		if utf8.RuneCountInString(r) > maxReasonText {
			return invalidf(fmt.Sprintf("reasons[%d]", i), "reason is longer than %d characters", maxReasonText)
		}
	}
	return nil
}

// Rules returns the rules the standards add to the service's own.
func (s Standards) Rules() []Rule {
	var out []Rule
	if len(s.BlockedTerms) > 0 {
		out = append(out, newBlockedTermRule(s.BlockedTerms))
	}
	if len(s.BlockedDomains) > 0 || len(s.AllowedDomains) > 0 {
		out = append(out, DomainRule{Blocked: s.BlockedDomains, Allowed: s.AllowedDomains})
	}
	if len(s.HumanCategories) > 0 {
		out = append(out, NewCategoryRule(s.HumanCategories))
	}
	return out
}

// BlockedTermRule rejects creatives that use a term the account refuses,
// matched as whole words in the name, tags and text assets.
type BlockedTermRule struct{ terms []keyword }

func newBlockedTermRule(terms []string) BlockedTermRule {
	var r BlockedTermRule
	for _, t := range terms {
		if n := normalizeWords(t); n != "" {
			r.terms = append(r.terms, keyword{text: t, pattern: " " + n + " "})
		}
	}
	return r
}

func (BlockedTermRule) Name() string { return "blocked_terms" }

func (r BlockedTermRule) Check(c *Creative) []Finding {
	var out []Finding
	for _, s := range textSources(c) {
		for _, t := range r.terms {
			if strings.Contains(s.text, t.pattern) {
				out = append(out, Finding{
					Code:    CodeBlockedTerm,
					Message: fmt.Sprintf("uses %q, a term this account does not run", t.text),
					Field:   s.field,
					Factor:  0,
				})
			}
		}
	}
	return out
}

// DomainRule checks landing pages — the URLs of "url" assets, where a click
// goes — against the account's blocked and allowed domains.
type DomainRule struct {
	Blocked []string
	Allowed []string
}

func (DomainRule) Name() string { return "domains" }

func (r DomainRule) Check(c *Creative) []Finding {
	var out []Finding
	for _, id := range sortedKeys(c.Assets) {
		a := c.Assets[id]
		if a.Type != "url" {
			continue
		}
		for _, field := range sortedKeys(a.URLs) {
			u, err := url.Parse(strings.TrimSpace(a.URLs[field]))
			if err != nil || u.Hostname() == "" {
				continue // the URL rule reports it
			}
			host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
			f := "assets." + id + "." + field
			if d, ok := matchDomain(host, r.Blocked); ok {
				out = append(out, Finding{Code: CodeBlockedDomain, Field: f, Factor: 0,
					Message: fmt.Sprintf("landing page %s is on %s, a domain this account blocks", host, d)})
				continue
			}
			if len(r.Allowed) > 0 {
				if _, ok := matchDomain(host, r.Allowed); !ok {
					out = append(out, Finding{Code: CodeDomainNotAllowed, Field: f, Factor: 0,
						Message: fmt.Sprintf("landing page %s is not on a domain this account allows (%s)", host, strings.Join(r.Allowed, ", "))})
				}
			}
		}
	}
	return out
}

// matchDomain reports the listed domain host is, or is a subdomain of.
func matchDomain(host string, list []string) (string, bool) {
	for _, d := range list {
		if host == d || strings.HasSuffix(host, "."+d) {
			return d, true
		}
	}
	return "", false
}

type textSource struct{ field, text string }

// textSources are the texts keyword rules look at, normalised and
// space-padded for whole-word matching.
func textSources(c *Creative) []textSource {
	sources := []textSource{{"name", c.Name}}
	for i, t := range c.Tags {
		sources = append(sources, textSource{fmt.Sprintf("tags[%d]", i), t})
	}
	for _, id := range sortedKeys(c.Assets) {
		if t := c.Assets[id].Text; t != "" {
			sources = append(sources, textSource{"assets." + id, t})
		}
	}
	for i := range sources {
		sources[i].text = " " + normalizeWords(sources[i].text) + " "
	}
	return sources
}

// ForStandards returns a scorer with the account's rules added and the
// AI disclosure rule set to the account's policy.
func (s *Scorer) ForStandards(st Standards) *Scorer {
	rules := make([]Rule, 0, len(s.rules)+3)
	for _, r := range s.rules {
		if _, ok := r.(ProvenanceRule); ok {
			if st.AIDisclosure == AIDisclosureNotRequired {
				continue
			}
			r = ProvenanceRule{Policy: st.AIDisclosure}
		}
		rules = append(rules, r)
	}
	return &Scorer{rules: append(rules, st.Rules()...)}
}
