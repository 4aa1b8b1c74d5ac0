package httpapi

import (
	"bytes"
	"embed"
	"encoding/json"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"example.com/creativesync/platform/apperr"
	"example.com/creativesync/services/review/internal/review"
)

//go:embed templates/page.html
var templateFS embed.FS

// pageTemplates escape every value by context (HTML, attribute, URL), which
// matters because names, reasons and asset URLs come from buyers.
var pageTemplates = template.Must(template.ParseFS(templateFS, "templates/page.html"))

// pagePageSize keeps the page short enough to read; the API pages further.
const pagePageSize = 25

type page struct {
	reviews Reviews
	auth    auth
	logger  *slog.Logger
}

type loginData struct {
	Reviewer string
	Error    string
}

type errorData struct {
	Code    string
	Message string
}

type queueData struct {
	Reviewer  string
	AccountID string
	Notice    string
	Items     []queueItem
	NextURL   string
}

type queueItem struct {
	Index          int
	AccountID      string
	CreativeID     string
	Revision       int64
	Name           string
	FormatID       string
	FormatName     string
	CreatedAt      string
	Tags           []string
	SourceType     string
	Score          float64
	Approve        float64
	Reject         float64
	Recommendation string
	Policy         string
	Reasons        []review.Finding
	Assets         []assetView
	DecideURL      string
}

type assetView struct {
	ID    string
	Type  string
	Links []linkView
	Text  string
}

type linkView struct {
	Field string
	URL   string
	// Safe links are absolute http(s) URLs and are rendered as links;
	// anything else is shown as text so a reviewer never clicks a
	// javascript: or data: URL.
	Safe bool
}

// securityHeaders keep the page from being framed, leaking its URL or
// running anything but its own inline styles.
func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

func (p page) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pageTemplates.ExecuteTemplate(&buf, name, data); err != nil {
		p.logger.ErrorContext(r.Context(), "rendering reviewer page", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	securityHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (p page) renderError(w http.ResponseWriter, r *http.Request, err error) {
	status, e := publicError(r, p.logger, err)
	p.render(w, r, status, "error", errorData{Code: e.Code, Message: e.Message})
}

func (p page) queue(w http.ResponseWriter, r *http.Request) {
	reviewer, ok := p.auth.session(r)
	if !ok {
		p.render(w, r, http.StatusOK, "login", loginData{})
		return
	}
	q, err := listQuery(r)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	q.State = review.StatePendingHuman
	q.Limit = pagePageSize
	res, err := p.reviews.List(r.Context(), q)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	data := queueData{Reviewer: reviewer, AccountID: q.AccountID, Notice: notice(r.URL.Query())}
	for i, rv := range res.Reviews {
		data.Items = append(data.Items, toQueueItem(i, rv))
	}
	if res.Next != nil {
		v := url.Values{"page_token": {encodePageToken(*res.Next)}}
		if q.AccountID != "" {
			v.Set("account_id", q.AccountID)
		}
		data.NextURL = pagePath + "?" + v.Encode()
	}
	p.render(w, r, http.StatusOK, "queue", data)
}

// notice confirms the last decision after the redirect. Only a known state
// is echoed, so a crafted link cannot put words of its choosing on the page.
func notice(v url.Values) string {
	switch review.State(v.Get("state")) {
	case review.StateApproved:
		return "Decision recorded: approved."
	case review.StateRejected:
		return "Decision recorded: rejected."
	}
	return ""
}

func toQueueItem(i int, rv review.Review) queueItem {
	item := queueItem{
		Index:          i,
		AccountID:      rv.AccountID,
		CreativeID:     rv.CreativeID,
		Revision:       rv.Revision,
		Name:           rv.Creative.Name,
		FormatID:       rv.Creative.FormatID.ID,
		FormatName:     rv.Creative.FormatName,
		CreatedAt:      rv.CreatedAt.Format(time.RFC3339),
		Tags:           rv.Creative.Tags,
		Score:          rv.Score,
		Approve:        rv.Thresholds.Approve,
		Reject:         rv.Thresholds.Reject,
		Recommendation: string(rv.Recommendation),
		Policy:         rv.PolicyTriggered,
		Reasons:        rv.Findings,
		DecideURL:      pagePath + "/" + pathKey(rv.Key) + "/decision",
	}
	if item.Name == "" {
		item.Name = rv.CreativeID
	}
	snapshotCreative := review.Creative{}
	if assets, err := review.ParseAssets(rv.Creative.Assets); err == nil {
		snapshotCreative.Assets = assets
	}
	ids := make([]string, 0, len(snapshotCreative.Assets))
	for id := range snapshotCreative.Assets {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		a := snapshotCreative.Assets[id]
		av := assetView{ID: id, Type: a.Type, Text: clip(a.Text, 240)}
		fields := make([]string, 0, len(a.URLs))
		for f := range a.URLs {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		for _, f := range fields {
			av.Links = append(av.Links, linkView{Field: f, URL: clip(a.URLs[f], 300), Safe: safeLink(a.URLs[f])})
		}
		item.Assets = append(item.Assets, av)
	}
	var prov struct {
		DigitalSourceType string `json:"digital_source_type"`
	}
	if len(rv.Creative.Provenance) > 0 && json.Unmarshal(rv.Creative.Provenance, &prov) == nil {
		item.SourceType = prov.DigitalSourceType
	}
	return item
}

func safeLink(raw string) bool {
	u, err := url.Parse(strings.TrimSpace(raw))
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && utf8.ValidString(raw)
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

func (p page) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		p.render(w, r, http.StatusBadRequest, "login", loginData{Error: "The form could not be read."})
		return
	}
	reviewer := strings.TrimSpace(r.PostForm.Get("reviewer"))
	if !p.auth.tokenOK(r.PostForm.Get("token")) {
		p.logger.WarnContext(r.Context(), "reviewer sign-in with a wrong token", "remote", r.RemoteAddr)
		p.render(w, r, http.StatusUnauthorized, "login", loginData{Reviewer: reviewer, Error: "That token is not the reviewer token."})
		return
	}
	if reviewer == "" || utf8.RuneCountInString(reviewer) > 200 {
		p.render(w, r, http.StatusBadRequest, "login", loginData{Error: "Enter your name or e-mail (up to 200 characters); it is recorded with your decisions."})
		return
	}
	p.auth.newSession(w, r, reviewer)
	http.Redirect(w, r, pagePath, http.StatusSeeOther)
}

func (p page) logout(w http.ResponseWriter, r *http.Request) {
	clearSession(w, r)
	http.Redirect(w, r, pagePath, http.StatusSeeOther)
}

func (p page) decide(w http.ResponseWriter, r *http.Request) {
	reviewer, ok := p.auth.session(r)
	if !ok {
		p.renderError(w, r, errUnauthorized("your session has expired; sign in again"))
		return
	}
	k, err := keyFromPath(r)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		p.renderError(w, r, apperr.New(review.CodeInvalidRequest, "the form could not be read"))
		return
	}
	rv, err := p.reviews.Decide(r.Context(), k, review.HumanDecision{
		Verdict:  review.Verdict(r.PostForm.Get("decision")),
		Reviewer: reviewer,
		Reason:   r.PostForm.Get("reason"),
	})
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	p.logger.InfoContext(r.Context(), "human decision recorded", "account_id", rv.AccountID, "creative_id", rv.CreativeID,
		"revision", rv.Revision, "state", rv.State, "reviewer", rv.Reviewer, "human_override", rv.HumanOverride)
	v := url.Values{"state": {string(rv.State)}}
	http.Redirect(w, r, pagePath+"?"+v.Encode(), http.StatusSeeOther)
}

func escape(s string) string { return url.PathEscape(s) }
