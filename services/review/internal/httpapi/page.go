package httpapi

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"example.com/creativesync/platform/apperr"
	"example.com/creativesync/services/review/internal/review"
	"example.com/creativesync/services/review/internal/staff"
)

//go:embed templates/page.html templates/page.js
var templateFS embed.FS

// pageTemplates escape every value by context (HTML, attribute, URL), which
// matters because names, reasons and asset URLs come from buyers.
var pageTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"age": age,
}).ParseFS(templateFS, "templates/page.html"))

// pageJS is the page's only script, served from our origin so the content
// security policy can allow 'self' and nothing inline.
var pageJS = func() []byte {
	b, err := templateFS.ReadFile("templates/page.js")
	if err != nil {
		panic(err)
	}
	return b
}()

// pagePageSize keeps the page short enough to read; the API pages further.
const pagePageSize = 25

type page struct {
	reviews Reviews
	staff   Staff
	auth    auth
	logger  *slog.Logger
	// oidcName is the provider's name when OIDC sign-in is on.
	oidcName string
}

type loginData struct {
	Email string
	Error string
	// OIDCName, when set, offers sign-in through that provider.
	OIDCName string
}

type errorData struct {
	Code    string
	Message string
}

type queueData struct {
	Reviewer staff.Reviewer
	Filter   queueFilter
	// Back is the filter query the forms carry, so that after a claim or a
	// decision the reviewer lands on the same view with the next item on
	// top.
	Back     string
	Notice   string
	Total    int
	From, To int
	Items    []queueItem
	PrevURL  string
	NextURL  string
	Sorts    []string
	Policies []string
}

type queueFilter struct {
	AccountID string
	Policy    string
	FormatID  string
	MinScore  string // as typed, so the form shows it back
	MaxScore  string
	Sort      string
	Offset    int
}

func (f queueFilter) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"account_id": f.AccountID, "policy": f.Policy, "format_id": f.FormatID,
		"min_score": f.MinScore, "max_score": f.MaxScore, "sort": f.Sort} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

type queueItem struct {
	Index        int
	Key          string // account/creative/revision, as the stale-tab check names items
	AccountID    string
	CreativeID   string
	Revision     int64
	Name         string
	FormatID     string
	FormatName   string
	FormatSize   string
	QueuedSince  time.Time
	Tags         []string
	SourceType   string
	AIDisclosure string
	Score        float64
	Approve      float64
	Reject       float64
	// Advice is what the page says about the machine's view: a hold for a
	// sensitive category is not advice to approve.
	Advice      string
	Policy      string
	Reasons     []review.Finding
	Assets      []assetView
	DecideURL   string
	ClaimURL    string
	HistoryURL  string
	ClaimedBy   string
	ClaimedMine bool
	ClaimedElse bool
	// PolicyReasons are the account's reasons to pick from.
	PolicyReasons []string
	// FormError, Reason and PolicyReason re-show a refused form with what
	// was typed and picked.
	FormError    string
	Reason       string
	PolicyReason string
}

type assetView struct {
	ID   string
	Type string
	// Preview is the URL the browser loads for an image, video or audio
	// preview; only absolute http(s) URLs, and the CSP names their origins.
	Preview  string
	HTML     string // sandboxed iframe content
	Declared string // "300×250" as the buyer declared it
	Links    []linkView
	Text     string
	InFormat bool
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
// running anything but its own script. Previews load only from the
// origins the rendered assets use (mediaOrigins), nothing else.
func securityHeaders(w http.ResponseWriter, mediaOrigins []string) {
	media := "'none'"
	if len(mediaOrigins) > 0 {
		media = strings.Join(mediaOrigins, " ")
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; "+
		"img-src "+media+"; media-src "+media+"; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

func (p page) render(w http.ResponseWriter, r *http.Request, status int, name string, data any, mediaOrigins []string) {
	var buf bytes.Buffer
	if err := pageTemplates.ExecuteTemplate(&buf, name, data); err != nil {
		p.logger.ErrorContext(r.Context(), "rendering reviewer page", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	securityHeaders(w, mediaOrigins)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (p page) renderError(w http.ResponseWriter, r *http.Request, err error) {
	status, e := publicError(r, p.logger, err)
	p.render(w, r, status, "error", errorData{Code: e.Code, Message: e.Message}, nil)
}

func (p page) script(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(pageJS)
}

// queueFilterOf reads the page's query; bad values are refused with the
// same precise errors the API gives.
func queueFilterOf(r *http.Request) (queueFilter, error) {
	v := r.URL.Query()
	f := queueFilter{
		AccountID: strings.TrimSpace(v.Get("account_id")),
		Policy:    v.Get("policy"),
		FormatID:  strings.TrimSpace(v.Get("format_id")),
		MinScore:  strings.TrimSpace(v.Get("min_score")),
		MaxScore:  strings.TrimSpace(v.Get("max_score")),
		Sort:      v.Get("sort"),
	}
	if s := v.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return f, apperr.New(review.CodeInvalidRequest, "offset must be an integer").WithField("offset")
		}
		f.Offset = n
	}
	return f, nil
}

func (p page) queue(w http.ResponseWriter, r *http.Request) {
	who, ok := p.auth.session(r)
	if !ok {
		p.render(w, r, http.StatusOK, "login", loginData{OIDCName: p.oidcName}, nil)
		return
	}
	p.renderQueue(w, r, who, http.StatusOK, nil)
}

// formState re-shows a decision form that could not be accepted.
type formState struct {
	key          review.Key
	err          string
	reason       string
	policyReason string
}

func (p page) renderQueue(w http.ResponseWriter, r *http.Request, who staff.Reviewer, status int, form *formState) {
	f, err := queueFilterOf(r)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	q := review.QueueQuery{AccountID: f.AccountID, Policy: f.Policy, FormatID: f.FormatID, Sort: f.Sort, Offset: f.Offset, Limit: pagePageSize}
	for _, b := range []struct {
		field, raw string
		dst        **float64
	}{{"min_score", f.MinScore, &q.MinScore}, {"max_score", f.MaxScore, &q.MaxScore}} {
		if b.raw == "" {
			continue
		}
		v, err := strconv.ParseFloat(b.raw, 64)
		if err != nil {
			p.renderError(w, r, apperr.Newf(review.CodeInvalidRequest, "%s must be a number between 0 and 1, got %q", b.field, b.raw).WithField(b.field))
			return
		}
		*b.dst = &v
	}
	res, err := p.reviews.Queue(r.Context(), q)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	data := queueData{
		Reviewer: who, Filter: f, Notice: notice(r.URL.Query()), Total: res.Total,
		Sorts:    review.QueueSorts,
		Policies: []string{review.PolicyUncertainScore, review.PolicySensitiveCategory, review.PolicyClassifierUnavailable},
	}
	data.Back = f.values().Encode()
	if data.Filter.Sort == "" {
		data.Filter.Sort = "oldest"
	}
	origins := map[string]bool{}
	now := time.Now()
	reasons := map[string][]string{} // per account, loaded once a request
	for i, rv := range res.Reviews {
		item := toQueueItem(i, rv, who.Email, now)
		if _, ok := reasons[rv.AccountID]; !ok {
			st, _, err := p.reviews.Policy(r.Context(), rv.AccountID)
			if err != nil {
				p.renderError(w, r, err)
				return
			}
			reasons[rv.AccountID] = st.Reasons
		}
		item.PolicyReasons = reasons[rv.AccountID]
		if form != nil && form.key == rv.Key {
			item.FormError, item.Reason, item.PolicyReason = form.err, form.reason, form.policyReason
		}
		for _, a := range item.Assets {
			if o := origin(a.Preview); o != "" {
				origins[o] = true
			}
		}
		data.Items = append(data.Items, item)
	}
	if len(data.Items) > 0 {
		data.From, data.To = f.Offset+1, f.Offset+len(data.Items)
	}
	if f.Offset > 0 {
		v := f.values()
		if prev := f.Offset - pagePageSize; prev > 0 {
			v.Set("offset", strconv.Itoa(prev))
		}
		data.PrevURL = pagePath + "?" + v.Encode()
	}
	if f.Offset+len(data.Items) < res.Total {
		v := f.values()
		v.Set("offset", strconv.Itoa(f.Offset+pagePageSize))
		data.NextURL = pagePath + "?" + v.Encode()
	}
	p.render(w, r, status, "queue", data, sortedSet(origins))
}

// backTo returns the queue URL of the view a form came from, with done
// set. Only the queue's own parameters are carried over, re-encoded, so
// the redirect cannot be pointed anywhere else.
func backTo(r *http.Request, done string) string {
	v, _ := url.ParseQuery(r.PostForm.Get("back"))
	out := url.Values{}
	for _, k := range []string{"account_id", "policy", "format_id", "min_score", "max_score", "sort"} {
		if s := v.Get(k); s != "" {
			out.Set(k, s)
		}
	}
	out.Set("done", done)
	return pagePath + "?" + out.Encode()
}

// notice confirms the last action after the redirect. Only known values are
// echoed, so a crafted link cannot put words of its choosing on the page.
func notice(v url.Values) string {
	switch v.Get("done") {
	case "approved":
		return "Decision recorded: approved."
	case "rejected":
		return "Decision recorded: rejected."
	case "claimed":
		return "Claimed for 15 minutes; nobody else can decide it meanwhile."
	}
	return ""
}

func toQueueItem(i int, rv review.Review, me string, now time.Time) queueItem {
	item := queueItem{
		Index:       i,
		Key:         rv.AccountID + "/" + rv.CreativeID + "/" + strconv.FormatInt(rv.Revision, 10),
		AccountID:   rv.AccountID,
		CreativeID:  rv.CreativeID,
		Revision:    rv.Revision,
		Name:        rv.Creative.Name,
		FormatID:    rv.Creative.FormatID.ID,
		FormatName:  rv.Creative.FormatName,
		QueuedSince: rv.QueuedSince,
		Tags:        rv.Creative.Tags,
		Score:       rv.Score,
		Approve:     rv.Thresholds.Approve,
		Reject:      rv.Thresholds.Reject,
		Policy:      rv.PolicyTriggered,
		Reasons:     rv.Findings,
		DecideURL:   pagePath + "/" + pathKey(rv.Key) + "/decision",
		ClaimURL:    pagePath + "/" + pathKey(rv.Key) + "/claim",
		HistoryURL:  pagePath + "/" + escape(rv.AccountID) + "/" + escape(rv.CreativeID) + "/history",
	}
	if item.QueuedSince.IsZero() {
		item.QueuedSince = rv.CreatedAt
	}
	if fid := rv.Creative.FormatID; fid.Width > 0 && fid.Height > 0 {
		item.FormatSize = fmt.Sprintf("%d×%d", fid.Width, fid.Height)
	}
	if rv.ClaimedBy != "" && now.Before(rv.ClaimedUntil) {
		item.ClaimedBy = rv.ClaimedBy
		item.ClaimedMine = rv.ClaimedBy == me
		item.ClaimedElse = !item.ClaimedMine
	}
	if item.Name == "" {
		item.Name = rv.CreativeID
	}
	switch rv.PolicyTriggered {
	case review.PolicySensitiveCategory:
		item.Advice = "held for a person because of a sensitive category; the score only says no defects were found"
	case review.PolicyClassifierUnavailable:
		item.Advice = "held because the content classifier did not answer; judge it yourself"
	default:
		item.Advice = "score between the thresholds; the machine leans " + string(rv.Recommendation)
	}
	item.Assets = assetViews(rv.Creative)
	var prov struct {
		DigitalSourceType string          `json:"digital_source_type"`
		Disclosure        json.RawMessage `json:"disclosure"`
	}
	if len(rv.Creative.Provenance) > 0 && json.Unmarshal(rv.Creative.Provenance, &prov) == nil {
		item.SourceType = prov.DigitalSourceType
		if len(prov.Disclosure) > 0 && string(prov.Disclosure) != "null" {
			item.AIDisclosure = clip(string(prov.Disclosure), 300)
		}
	}
	return item
}

// assetViews lists a snapshot's assets in the format's order (then any
// extra slots alphabetically), with what the page can preview.
func assetViews(snap review.Snapshot) []assetView {
	assets, err := review.ParseAssets(snap.Assets)
	if err != nil {
		return nil
	}
	var raw map[string]map[string]json.RawMessage
	_ = json.Unmarshal(snap.Assets, &raw)
	ids := make([]string, 0, len(assets))
	for _, id := range snap.FormatAssets {
		if _, ok := assets[id]; ok && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	extra := make([]string, 0)
	for id := range assets {
		if !slices.Contains(ids, id) {
			extra = append(extra, id)
		}
	}
	sort.Strings(extra)
	ids = append(ids, extra...)
	out := make([]assetView, 0, len(ids))
	for _, id := range ids {
		a := assets[id]
		av := assetView{ID: id, Type: a.Type, Text: clip(a.Text, 240), InFormat: slices.Contains(snap.FormatAssets, id)}
		fields := make([]string, 0, len(a.URLs))
		for f := range a.URLs {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		for _, f := range fields {
			av.Links = append(av.Links, linkView{Field: f, URL: clip(a.URLs[f], 300), Safe: safeLink(a.URLs[f])})
		}
		if u := a.URLs["url"]; safeLink(u) && (a.Type == "image" || a.Type == "video" || a.Type == "audio") {
			av.Preview = strings.TrimSpace(u)
		}
		if a.Type == "html" {
			var content string
			_ = json.Unmarshal(raw[id]["content"], &content)
			av.HTML = content
		}
		var w, h int
		_ = json.Unmarshal(raw[id]["width"], &w)
		_ = json.Unmarshal(raw[id]["height"], &h)
		if w > 0 && h > 0 {
			av.Declared = fmt.Sprintf("%d×%d", w, h)
		}
		out = append(out, av)
	}
	return out
}

// origin returns scheme://host[:port] of a previewable URL, as a CSP
// source; anything that would not be a clean source is dropped.
func origin(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		strings.ContainsAny(u.Host, " ;,'\"*") {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

func sortStrings(s []string) { sort.Strings(s) }

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// age says how long ago t was, in the largest sensible unit.
func age(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
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
		p.render(w, r, http.StatusBadRequest, "login", loginData{Error: "The form could not be read.", OIDCName: p.oidcName}, nil)
		return
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	who, err := p.staff.Authenticate(r.Context(), email, r.PostForm.Get("password"))
	if err != nil {
		status, e := publicError(r, p.logger, err)
		if status == http.StatusUnauthorized {
			p.logger.WarnContext(r.Context(), "reviewer sign-in failed", "email", email, "remote", r.RemoteAddr)
		}
		p.render(w, r, status, "login", loginData{Email: email, Error: e.Message, OIDCName: p.oidcName}, nil)
		return
	}
	id, expires, err := p.staff.StartSession(r.Context(), who)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	setSessionCookie(w, r, id, expires)
	p.logger.InfoContext(r.Context(), "reviewer signed in", "email", who.Email, "role", who.Role)
	http.Redirect(w, r, pagePath, http.StatusSeeOther)
}

// logout ends the session on the server, so a copy of the cookie is
// worthless from now on, and clears it in the browser.
func (p page) logout(w http.ResponseWriter, r *http.Request) {
	if err := p.staff.EndSession(r.Context(), sessionID(r)); err != nil {
		p.renderError(w, r, err)
		return
	}
	clearSession(w, r)
	http.Redirect(w, r, pagePath, http.StatusSeeOther)
}

// signedIn returns the session's reviewer or renders why there is none.
func (p page) signedIn(w http.ResponseWriter, r *http.Request) (staff.Reviewer, bool) {
	who, ok := p.auth.session(r)
	if !ok {
		p.renderError(w, r, errUnauthorized("your session has ended (signed out, expired or revoked); sign in again"))
	}
	return who, ok
}

// itemForm starts every form action on one review: the signed-in reviewer,
// the review the path names and the size-capped form, or an answered error.
func (p page) itemForm(w http.ResponseWriter, r *http.Request) (staff.Reviewer, review.Key, bool) {
	who, ok := p.signedIn(w, r)
	if !ok {
		return who, review.Key{}, false
	}
	k, err := keyFromPath(r)
	if err != nil {
		p.renderError(w, r, err)
		return who, k, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		p.renderError(w, r, apperr.New(review.CodeInvalidRequest, "the form could not be read"))
		return who, k, false
	}
	return who, k, true
}

func (p page) decide(w http.ResponseWriter, r *http.Request) {
	who, k, ok := p.itemForm(w, r)
	if !ok {
		return
	}
	typed, picked := r.PostForm.Get("reason"), r.PostForm.Get("policy_reason")
	refuse := func(err error) {
		// A correctable mistake (no reason for a rejection, a reason the
		// account does not offer) re-shows the queue with the form as it
		// was typed, never an error page that loses the text.
		e := apperr.As(err)
		p.renderQueue(w, r, who, http.StatusBadRequest, &formState{key: k, err: e.Message, reason: typed, policyReason: picked})
	}
	reason := strings.TrimSpace(typed)
	if picked != "" {
		st, _, err := p.reviews.Policy(r.Context(), k.AccountID)
		if err != nil {
			p.renderError(w, r, err)
			return
		}
		if !slices.Contains(st.Reasons, picked) {
			refuse(apperr.Newf(review.CodeInvalidRequest, "%q is not one of this account's policy reasons", picked).WithField("policy_reason"))
			return
		}
		if reason == "" {
			reason = picked
		} else {
			reason = picked + ": " + reason
		}
	}
	rv, err := p.reviews.Decide(r.Context(), k, review.HumanDecision{
		Verdict:  review.Verdict(r.PostForm.Get("decision")),
		Reviewer: who.Email,
		Reason:   reason,
	})
	if err != nil {
		if e := apperr.As(err); e != nil && e.Code == review.CodeInvalidRequest {
			refuse(err)
			return
		}
		p.renderError(w, r, err)
		return
	}
	p.logger.InfoContext(r.Context(), "human decision recorded", "account_id", rv.AccountID, "creative_id", rv.CreativeID,
		"revision", rv.Revision, "state", rv.State, "reviewer", rv.Reviewer, "human_override", rv.HumanOverride)
	http.Redirect(w, r, backTo(r, string(rv.State)), http.StatusSeeOther)
}

func (p page) claim(w http.ResponseWriter, r *http.Request) {
	who, k, ok := p.itemForm(w, r)
	if !ok {
		return
	}
	if _, err := p.reviews.Claim(r.Context(), k, who.Email); err != nil {
		p.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, backTo(r, "claimed"), http.StatusSeeOther)
}

// stateJSON tells a tab which of its items are still open, so it can mark
// items decided or claimed elsewhere before the reviewer works on them.
type stateJSON struct {
	Items map[string]itemStateJSON `json:"items"`
}

type itemStateJSON struct {
	State     string `json:"state"`
	ClaimedBy string `json:"claimed_by,omitempty"`
	Reviewer  string `json:"reviewer,omitempty"`
}

// state answers the page script's poll: ?key=account/creative/revision,
// repeated, at most one page's worth.
func (p page) state(w http.ResponseWriter, r *http.Request) {
	who, ok := p.auth.session(r)
	if !ok {
		writeError(w, r, p.logger, errUnauthorized("your session has ended; sign in again"))
		return
	}
	keys := r.URL.Query()["key"]
	if len(keys) > pagePageSize {
		writeError(w, r, p.logger, apperr.Newf(review.CodeInvalidRequest, "at most %d keys", pagePageSize).WithField("key"))
		return
	}
	out := stateJSON{Items: map[string]itemStateJSON{}}
	now := time.Now()
	for _, s := range keys {
		parts := strings.Split(s, "/")
		if len(parts) < 3 {
			writeError(w, r, p.logger, apperr.Newf(review.CodeInvalidRequest, "key %q is not account/creative/revision", s).WithField("key"))
			return
		}
		rev, err := strconv.ParseInt(parts[len(parts)-1], 10, 64)
		if err != nil {
			writeError(w, r, p.logger, apperr.Newf(review.CodeInvalidRequest, "key %q does not end in a revision", s).WithField("key"))
			return
		}
		// The revision is last and the account first; creative ids may hold
		// "/". An account id with "/" would be misread, find nothing and
		// leave that item unchecked, which is harmless.
		k := review.Key{AccountID: parts[0], CreativeID: strings.Join(parts[1:len(parts)-1], "/"), Revision: rev}
		rv, err := p.reviews.Get(r.Context(), k)
		if err != nil {
			if e := apperr.As(err); e != nil && e.Code == review.CodeNotFound {
				continue
			}
			writeError(w, r, p.logger, err)
			return
		}
		st := itemStateJSON{State: string(rv.State), Reviewer: rv.Reviewer}
		if rv.SupersededBy != 0 && !rv.Decided() {
			st.State = "superseded"
		}
		if rv.ClaimedByOther(who.Email, now) {
			st.ClaimedBy = rv.ClaimedBy
		}
		out.Items[s] = st
	}
	writeJSON(w, http.StatusOK, out)
}

type historyData struct {
	Reviewer   staff.Reviewer
	AccountID  string
	CreativeID string
	Revisions  []historyItem
}

type historyItem struct {
	review.Review
	Assets  []assetView
	Changed []string // asset ids that differ from the previous revision
}

func (p page) history(w http.ResponseWriter, r *http.Request) {
	who, ok := p.signedIn(w, r)
	if !ok {
		return
	}
	revs, err := p.reviews.History(r.Context(), r.PathValue("account_id"), r.PathValue("creative_id"))
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	data := historyData{Reviewer: who, AccountID: r.PathValue("account_id"), CreativeID: r.PathValue("creative_id")}
	origins := map[string]bool{}
	for i, rv := range revs {
		h := historyItem{Review: rv, Assets: assetViews(rv.Creative)}
		if i+1 < len(revs) {
			h.Changed = changedAssets(revs[i+1].Creative.Assets, rv.Creative.Assets)
		}
		for _, a := range h.Assets {
			if o := origin(a.Preview); o != "" {
				origins[o] = true
			}
		}
		data.Revisions = append(data.Revisions, h)
	}
	p.render(w, r, http.StatusOK, "history", data, sortedSet(origins))
}

// changedAssets names the assets added, removed or changed between two
// manifests.
func changedAssets(before, after json.RawMessage) []string {
	var a, b map[string]json.RawMessage
	_ = json.Unmarshal(before, &a)
	_ = json.Unmarshal(after, &b)
	var out []string
	for id, v := range b {
		if old, ok := a[id]; !ok || !jsonEqual(old, v) {
			out = append(out, id)
		}
	}
	for id := range a {
		if _, ok := b[id]; !ok {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

func jsonEqual(x, y json.RawMessage) bool {
	var a, b any
	if json.Unmarshal(x, &a) != nil || json.Unmarshal(y, &b) != nil {
		return bytes.Equal(x, y)
	}
	ab, _ := json.Marshal(a)
	bb, _ := json.Marshal(b)
	return bytes.Equal(ab, bb)
}

func escape(s string) string { return url.PathEscape(s) }
