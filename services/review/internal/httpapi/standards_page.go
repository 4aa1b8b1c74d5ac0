package httpapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"example.com/creativesync/platform/apperr"
	"example.com/creativesync/services/review/internal/review"
	"example.com/creativesync/services/review/internal/staff"
)

// standardsData is the leads' form for one account's content standards.
// Lists are edited one entry a line; categories as "name: word, word".
type standardsData struct {
	Reviewer       staff.Reviewer
	AccountID      string
	Source         string
	Notice         string
	Error          string
	Approve        string
	Reject         string
	BlockedTerms   string
	BlockedDomains string
	AllowedDomains string
	Categories     string
	AIDisclosure   string
	AIPolicies     []string
	Reasons        string
	Audit          []staff.AuditRecord
}

// lead returns the signed-in reviewer if they may manage standards, and
// renders why not otherwise.
func (p page) lead(w http.ResponseWriter, r *http.Request) (staff.Reviewer, bool) {
	who, ok := p.signedIn(w, r)
	if !ok {
		return who, false
	}
	if err := staff.Require(who, staff.RoleLead, "managing content standards"); err != nil {
		p.renderError(w, r, err)
		return who, false
	}
	return who, true
}

func (p page) standards(w http.ResponseWriter, r *http.Request) {
	who, ok := p.lead(w, r)
	if !ok {
		return
	}
	account := strings.TrimSpace(r.URL.Query().Get("account_id"))
	data := standardsData{Reviewer: who, AccountID: account, AIPolicies: aiPolicies}
	if account != "" {
		st, own, err := p.reviews.Policy(r.Context(), account)
		if err != nil {
			p.renderError(w, r, err)
			return
		}
		fillStandards(&data, st)
		data.Source = "service defaults"
		if own {
			data.Source = "this account's own"
		}
		if r.URL.Query().Get("done") == "saved" {
			data.Notice = "Saved. New revisions are scored under these standards; decided ones keep theirs."
		}
		if data.Audit, err = p.staff.AuditLog(r.Context(), "account:"+account, 20); err != nil {
			p.renderError(w, r, err)
			return
		}
	}
	p.render(w, r, http.StatusOK, "standards", data, nil)
}

var aiPolicies = []string{review.AIDisclosureRequired, review.AIDisclosureRejectUndisclosed, review.AIDisclosureNotRequired}

func fillStandards(d *standardsData, st review.Standards) {
	d.Approve = strconv.FormatFloat(st.Approve, 'f', -1, 64)
	d.Reject = strconv.FormatFloat(st.Reject, 'f', -1, 64)
	d.BlockedTerms = strings.Join(st.BlockedTerms, "\n")
	d.BlockedDomains = strings.Join(st.BlockedDomains, "\n")
	d.AllowedDomains = strings.Join(st.AllowedDomains, "\n")
	var cats []string
	for _, name := range sortedKeysOf(st.HumanCategories) {
		cats = append(cats, name+": "+strings.Join(st.HumanCategories[name], ", "))
	}
	d.Categories = strings.Join(cats, "\n")
	d.AIDisclosure = st.AIDisclosure
	d.Reasons = strings.Join(st.Reasons, "\n")
}

func sortedKeysOf(m review.Categories) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sortStrings(out)
	return out
}

func (p page) saveStandards(w http.ResponseWriter, r *http.Request) {
	who, ok := p.lead(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		p.renderError(w, r, apperr.New(review.CodeInvalidRequest, "the form could not be read"))
		return
	}
	f := r.PostForm
	data := standardsData{
		Reviewer: who, AccountID: strings.TrimSpace(f.Get("account_id")), AIPolicies: aiPolicies,
		Approve: f.Get("approve_threshold"), Reject: f.Get("reject_threshold"),
		BlockedTerms: f.Get("blocked_terms"), BlockedDomains: f.Get("blocked_domains"), AllowedDomains: f.Get("allowed_domains"),
		Categories: f.Get("human_categories"), AIDisclosure: f.Get("ai_disclosure"), Reasons: f.Get("reasons"),
	}
	st, err := parseStandardsForm(data)
	if err == nil {
		err = p.reviews.SetPolicy(r.Context(), who.Email, data.AccountID, st)
	}
	if err != nil {
		// Every refusal comes back with the form as typed.
		status, e := publicError(r, p.logger, err)
		data.Error = e.Message
		if e.Field != "" {
			data.Error = e.Field + ": " + e.Message
		}
		p.render(w, r, status, "standards", data, nil)
		return
	}
	p.logger.InfoContext(r.Context(), "content standards set", "account_id", data.AccountID, "by", who.Email)
	http.Redirect(w, r, pagePath+"/standards?"+url.Values{"account_id": {data.AccountID}, "done": {"saved"}}.Encode(), http.StatusSeeOther)
}

func lines(s string) []string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func parseStandardsForm(d standardsData) (review.Standards, error) {
	num := func(field, v string) (float64, error) {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 0, apperr.Newf(review.CodeInvalidRequest, "%s must be a number between 0 and 1, got %q", field, v).WithField(field)
		}
		return f, nil
	}
	approve, err := num("approve_threshold", d.Approve)
	if err != nil {
		return review.Standards{}, err
	}
	reject, err := num("reject_threshold", d.Reject)
	if err != nil {
		return review.Standards{}, err
	}
	cats := review.Categories{}
	for i, l := range lines(d.Categories) {
		name, words, ok := strings.Cut(l, ":")
		if !ok {
			return review.Standards{}, apperr.Newf(review.CodeInvalidRequest, "line %d %q: write a category as name: word, word", i+1, l).WithField("human_categories")
		}
		for w := range strings.SplitSeq(words, ",") {
			cats[strings.TrimSpace(name)] = append(cats[strings.TrimSpace(name)], w)
		}
	}
	return review.Standards{
		Thresholds:   review.Thresholds{Approve: approve, Reject: reject},
		BlockedTerms: lines(d.BlockedTerms), BlockedDomains: lines(d.BlockedDomains), AllowedDomains: lines(d.AllowedDomains),
		HumanCategories: cats, AIDisclosure: d.AIDisclosure, Reasons: lines(d.Reasons),
	}, nil
}
