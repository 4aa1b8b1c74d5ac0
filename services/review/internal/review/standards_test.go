package review_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/apperr"
	"example.com/creativesync/services/review/internal/review"
)

func standards(mod func(*review.Standards)) review.Standards {
	st := review.DefaultStandards(review.DefaultThresholds())
	if mod != nil {
		mod(&st)
	}
	return st.Normalize()
}

func TestStandardsValidate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		mod   func(*review.Standards)
		field string
	}{
		{"thresholds", func(s *review.Standards) { s.Reject = 0.95 }, "reject_threshold"},
		{"empty term", func(s *review.Standards) { s.BlockedTerms = []string{"!!!"} }, "blocked_terms[0]"},
		{"long term", func(s *review.Standards) { s.BlockedTerms = []string{strings.Repeat("a", 101)} }, "blocked_terms[0]"},
		{"domain with scheme", func(s *review.Standards) { s.BlockedDomains = []string{"https://x.example"} }, "blocked_domains[0]"},
		{"domain with path", func(s *review.Standards) { s.AllowedDomains = []string{"shop.example.com/path"} }, "allowed_domains[0]"},
		{"both lists", func(s *review.Standards) {
			s.BlockedDomains = []string{"x.example"}
			s.AllowedDomains = []string{"y.example", "X.example"}
		}, "allowed_domains[1]"},
		{"category name", func(s *review.Standards) { s.HumanCategories = review.Categories{"Bad Name": {"x"}} }, "human_categories"},
		{"category empty", func(s *review.Standards) { s.HumanCategories = review.Categories{"alcohol": {" "}} }, "human_categories.alcohol"},
		{"ai policy", func(s *review.Standards) { s.AIDisclosure = "sometimes" }, "ai_disclosure"},
		{"long reason", func(s *review.Standards) { s.Reasons = []string{strings.Repeat("r", 201)} }, "reasons[0]"},
	} {
		err := standards(tt.mod).Validate()
		e := apperr.As(err)
		if e == nil || e.Code != review.CodeInvalidRequest || e.Field != tt.field {
			t.Errorf("%s: %v, want a %s error on %s", tt.name, err, review.CodeInvalidRequest, tt.field)
		}
	}
	ok := standards(func(s *review.Standards) {
		s.BlockedTerms = []string{" miracle cure ", "miracle cure"}
		s.BlockedDomains = []string{"Spam.Example."}
		s.HumanCategories = review.Categories{"Alcohol": {"beer", "wine"}}
	})
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ok.BlockedTerms, []string{"miracle cure"}) || !slices.Equal(ok.BlockedDomains, []string{"spam.example"}) ||
		ok.HumanCategories["alcohol"] == nil || ok.AIDisclosure != review.AIDisclosureRequired {
		t.Fatalf("normalized = %+v", ok)
	}
}

func TestStandardsRules(t *testing.T) {
	t.Parallel()
	base := review.NewScorer(review.DefaultRules(review.DefaultCategories())...)
	withClick := func(name, click string) review.Creative {
		ev := synced()
		ev.Name = name
		ev.Assets = json.RawMessage(`{"image":{"asset_type":"image","url":"https://cdn.example.com/b.png"},"click_url":{"asset_type":"url","url":"` + click + `"}}`)
		return mustParse(t, ev)
	}
	st := standards(func(s *review.Standards) {
		s.BlockedTerms = []string{"magic pill"}
		s.BlockedDomains = []string{"spam.example"}
		s.AllowedDomains = []string{"shop.example.com"}
		s.HumanCategories = review.Categories{"alcohol": {"beer"}}
	})
	for _, tt := range []struct {
		name, title, click string
		want               []string
		score              float64
		forceHuman         bool
	}{
		{"clean", "Holiday banner", "https://www.shop.example.com/x", []string{}, 1, false},
		{"blocked term", "The Magic-Pill sale", "https://shop.example.com/", []string{"BLOCKED_TERM@name"}, 0, false},
		{"term inside a word is no match", "magic pillow", "https://shop.example.com/", []string{}, 1, false},
		{"blocked subdomain", "Sale", "https://a.spam.example/x", []string{"BLOCKED_DOMAIN@assets.click_url.url"}, 0, false},
		{"not allowed", "Sale", "https://other.example/x", []string{"DOMAIN_NOT_ALLOWED@assets.click_url.url"}, 0, false},
		{"look-alike is not allowed", "Sale", "https://evilshop.example.com/", []string{"DOMAIN_NOT_ALLOWED@assets.click_url.url"}, 0, false},
		{"account category", "Craft beer night", "https://shop.example.com/", []string{"SENSITIVE_CATEGORY@name"}, 1, true},
	} {
		c := withClick(tt.title, tt.click)
		a := base.ForStandards(st).Score(&c)
		if got := codes(a.Findings); !slices.Equal(got, tt.want) || a.Score != tt.score || a.ForceHuman != tt.forceHuman {
			t.Errorf("%s: findings %v score %v force %v; want %v %v %v", tt.name, got, a.Score, a.ForceHuman, tt.want, tt.score, tt.forceHuman)
		}
		for _, f := range a.Findings {
			if f.Message == "" {
				t.Errorf("%s: finding %s has no explanation", tt.name, f.Code)
			}
		}
	}

	ai := mustParse(t, func() *events.CreativeSyncedV1 {
		ev := synced()
		ev.Provenance = json.RawMessage(`{"digital_source_type":"trained_algorithmic_media"}`)
		return ev
	}())
	for policy, want := range map[string]float64{
		review.AIDisclosureRequired:          review.FactorAIDisclosureMissing,
		review.AIDisclosureRejectUndisclosed: 0,
		review.AIDisclosureNotRequired:       1,
	} {
		a := base.ForStandards(standards(func(s *review.Standards) { s.AIDisclosure = policy })).Score(&ai)
		if a.Score != want {
			t.Errorf("AI disclosure %s: score %v, want %v (%v)", policy, a.Score, want, codes(a.Findings))
		}
	}
}

func TestHTTPClassifier(t *testing.T) {
	t.Parallel()
	answer := func(status int, body string, delay time.Duration) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var in map[string]any
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in["creative_id"] != "banner_1" {
				http.Error(w, "bad request", http.StatusBadRequest)
				return
			}
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	c := mustParse(t, synced())
	snap := review.SnapshotOf(synced())
	ok := answer(200, `{"findings":[{"code":"GAMBLING","message":"mentions odds","factor":0.4}]}`, 0)
	fs, err := review.HTTPClassifier{URL: ok.URL, Timeout: time.Second}.Classify(context.Background(), &c, snap)
	if err != nil || len(fs) != 1 || fs[0].Code != "GAMBLING" || fs[0].Factor != 0.4 {
		t.Fatalf("classify: %v %v", fs, err)
	}
	for name, srv := range map[string]*httptest.Server{
		"status":      answer(503, `{}`, 0),
		"slow":        answer(200, `{"findings":[]}`, 2*time.Second),
		"not json":    answer(200, `<html>`, 0),
		"no findings": answer(200, `{}`, 0),
		"bad code":    answer(200, `{"findings":[{"code":"lower","factor":0.5}]}`, 0),
		"factor > 1":  answer(200, `{"findings":[{"code":"X","factor":1.5}]}`, 0),
		"negative":    answer(200, `{"findings":[{"code":"X","factor":-1}]}`, 0),
	} {
		if _, err := (review.HTTPClassifier{URL: srv.URL, Timeout: 200 * time.Millisecond}).Classify(context.Background(), &c, snap); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestClassifierFailureGoesToAPerson(t *testing.T) {
	t.Parallel()
	d := review.Decide(review.Assessment{Score: 1, ClassifierFailed: true}, review.DefaultThresholds())
	if d.State != review.StatePendingHuman || d.Policy != review.PolicyClassifierUnavailable {
		t.Fatalf("decision = %+v", d)
	}
	// A certain defect is still rejected without waiting for anyone.
	if d := review.Decide(review.Assessment{Score: 0, ClassifierFailed: true}, review.DefaultThresholds()); d.State != review.StateRejected {
		t.Fatalf("defect with a failed classifier = %+v", d)
	}
}
