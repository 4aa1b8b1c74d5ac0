package httpapi_test

import (
	"context"

	"encoding/json"
	"github.com/alexedwards/argon2id"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/httpserver"
	"example.com/creativesync/platform/pgtest"
	"example.com/creativesync/services/review/internal/httpapi"
	"example.com/creativesync/services/review/internal/postgres"
	"example.com/creativesync/services/review/internal/review"
	"example.com/creativesync/services/review/internal/staff"
)

// Tokens of the reviewers newEnv creates, one per role, plus a second
// reviewer.
var (
	tokAna, tokBob, tokLea, tokAdm string
)

const devToken = "dev-shared-token"

type env struct {
	srv   *httptest.Server
	svc   *review.Service
	staff *staff.Service
	// tokens by e-mail
	tokens map[string]string
}

// cheap keeps argon2id fast in tests; production uses staff.DefaultParams.
var cheap = &argon2id.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// Reviewers every env has; the password is the same for all.
const password = "correct horse battery"

var people = []staff.NewReviewer{
	{Email: "ana@seller.example", Role: staff.RoleReviewer, Name: "Ana"},
	{Email: "bob@seller.example", Role: staff.RoleReviewer, Name: "Bob"},
	{Email: "lea@seller.example", Role: staff.RoleLead, Name: "Lea"},
	{Email: "adm@seller.example", Role: staff.RoleAdmin, Name: "Adm"},
}

// newEnv serves the handler over a real store; no broker is needed because
// events only reach the outbox table here.
func newEnv(t *testing.T, dev string) *env {
	t.Helper()
	return newEnvWith(t, dev, nil)
}

// newEnvWith also configures OIDC sign-in; oidc gets the service's base
// URL, which the provider must redirect back to.
func newEnvWith(t *testing.T, dev string, oidc func(base string) *httpapi.OIDCConfig) *env {
	t.Helper()
	db := pgtest.Migrated(t, postgres.Migrate)
	logger := slog.New(slog.DiscardHandler)
	svc := review.NewService(postgres.NewStore(db, "t_", logger),
		review.NewScorer(review.DefaultRules(review.DefaultCategories())...), review.DefaultThresholds(), nil)
	st := staff.NewService(postgres.NewStaffStore(db), cheap)
	e := &env{svc: svc, staff: st, tokens: map[string]string{}}
	ctx := context.Background()
	for _, p := range people {
		p.Password = password
		if _, err := st.AddReviewer(ctx, "test", p); err != nil {
			t.Fatal(err)
		}
		tok, err := st.IssueToken(ctx, "test", p.Email, "test")
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[p.Email] = tok
	}
	e.srv = httptest.NewUnstartedServer(nil)
	var oc *httpapi.OIDCConfig
	if oidc != nil {
		oc = oidc("http://" + e.srv.Listener.Addr().String())
	}
	// The same composition as the service: the ops endpoints plus the API.
	e.srv.Config.Handler = httpserver.Handler(httpserver.NewRegistry(), nil, httpapi.New(httpapi.Config{
		Reviews:  svc,
		Staff:    st,
		DevToken: dev,
		OIDC:     oc,
		Logger:   logger,
	}).Routes)
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	return e
}

// queue puts a creative in the human queue (AI without disclosure).
func (e *env) queue(t *testing.T, account, id, name string, assets string) {
	t.Helper()
	ev := &events.CreativeSyncedV1{
		Header:     events.Header{EventID: "ev-" + id, CorrelationID: "corr-" + id},
		AccountID:  account,
		CreativeID: id,
		Revision:   1,
		Name:       name,
		FormatID:   events.FormatID{AgentURL: "https://creative.example.com", ID: "display"},
		Format: &events.FormatSnapshot{Assets: []events.FormatAsset{
			{AssetID: "image", AssetType: "image", Required: true},
			{AssetID: "click_url", AssetType: "url"},
		}},
		Assets:     json.RawMessage(assets),
		Provenance: json.RawMessage(`{"digital_source_type":"trained_algorithmic_model"}`),
	}
	c, err := review.ParseCreative(ev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ReviewCreative(context.Background(), c, review.SnapshotOf(ev), review.Origin{EventID: ev.EventID, CorrelationID: ev.CorrelationID}); err != nil {
		t.Fatal(err)
	}
}

const imageOnly = `{"image":{"asset_type":"image","url":"https://cdn.example.com/b.png"}}`

type response struct {
	status int
	header http.Header
	body   string
}

func (e *env) call(t *testing.T, method, path, body string, headers map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// api calls the API as ana, a reviewer.
func (e *env) api(t *testing.T, method, path, body string) response {
	t.Helper()
	return e.as(t, "ana@seller.example", method, path, body)
}

// as calls the API with the token of the reviewer with that e-mail.
func (e *env) as(t *testing.T, email, method, path, body string) response {
	t.Helper()
	tok, ok := e.tokens[email]
	if !ok {
		tok = email // a raw token
	}
	return e.call(t, method, path, body, map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
}

func errorCode(t *testing.T, r response) string {
	t.Helper()
	var b struct {
		Error struct {
			Code  string `json:"code"`
			Field string `json:"field"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.body), &b); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	return b.Error.Code
}

func TestAPIAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	ctx := context.Background()
	for _, h := range []map[string]string{nil, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer rvt_unknown"},
		{"Authorization": "Basic " + e.tokens["ana@seller.example"]}, {"Authorization": "Bearer " + devToken}} {
		r := e.call(t, http.MethodGet, "/api/v1/reviews", "", h)
		if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") == "" || errorCode(t, r) != "UNAUTHORIZED" {
			t.Errorf("headers %v: %d %s", h, r.status, r.body)
		}
	}
	if r := e.as(t, "ana@seller.example", http.MethodGet, "/api/v1/me", ""); r.status != http.StatusOK ||
		!strings.Contains(r.body, `"email":"ana@seller.example"`) || !strings.Contains(r.body, `"role":"reviewer"`) {
		t.Fatalf("me: %d %s", r.status, r.body)
	}
	// A revoked token stops at once; so does every token of a disabled
	// reviewer.
	if n, err := e.staff.RevokeTokens(ctx, "test", "bob@seller.example", "test"); err != nil || n != 1 {
		t.Fatalf("revoke: %d %v", n, err)
	}
	if r := e.as(t, "bob@seller.example", http.MethodGet, "/api/v1/me", ""); r.status != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d %s", r.status, r.body)
	}
	if err := e.staff.SetDisabled(ctx, "test", "lea@seller.example", true); err != nil {
		t.Fatal(err)
	}
	if r := e.as(t, "lea@seller.example", http.MethodGet, "/api/v1/me", ""); r.status != http.StatusUnauthorized {
		t.Fatalf("disabled reviewer: %d %s", r.status, r.body)
	}
}

func TestDevToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devToken)
	e.queue(t, "acct", "one", "First", imageOnly)
	r := e.as(t, devToken, http.MethodPost, "/api/v1/reviews/acct/one/1/decision", `{"decision":"approve"}`)
	if r.status != http.StatusOK || !strings.Contains(r.body, `"reviewer":"shared-token (development)"`) {
		t.Fatalf("dev token decision: %d %s", r.status, r.body)
	}
	// The page never accepts it.
	r = e.call(t, http.MethodPost, "/reviews/login", url.Values{"email": {"x@y.example"}, "password": {devToken}}.Encode(),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "same-origin"})
	if r.status != http.StatusUnauthorized || r.header.Get("Set-Cookie") != "" {
		t.Fatalf("dev token on the page: %d", r.status)
	}
}

func TestRolesAndAudit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	e.queue(t, "acct", "one", "First", imageOnly)
	const ana, bob, lea, adm = "ana@seller.example", "bob@seller.example", "lea@seller.example", "adm@seller.example"
	for _, c := range []struct {
		who, method, path, body string
		want                    int
	}{
		{ana, http.MethodPut, "/api/v1/policies/acct", `{"approve_threshold":0.8,"reject_threshold":0.2}`, http.StatusForbidden},
		{lea, http.MethodPut, "/api/v1/policies/acct", `{"approve_threshold":0.8,"reject_threshold":0.2}`, http.StatusOK},
		{ana, http.MethodGet, "/api/v1/policies/acct", "", http.StatusOK},
		{lea, http.MethodGet, "/api/v1/audit", "", http.StatusForbidden},
		{lea, http.MethodPost, "/api/v1/reviewers/ana@seller.example/revoke-sessions", "", http.StatusForbidden},
		{adm, http.MethodPost, "/api/v1/reviewers/nobody@seller.example/revoke-sessions", "", http.StatusNotFound},
		{adm, http.MethodPost, "/api/v1/reviewers/ana@seller.example/revoke-sessions", "", http.StatusOK},
		{adm, http.MethodGet, "/api/v1/audit?limit=0", "", http.StatusBadRequest},
	} {
		r := e.as(t, c.who, c.method, c.path, c.body)
		if r.status != c.want {
			t.Errorf("%s %s %s = %d, want %d: %s", c.who, c.method, c.path, r.status, c.want, r.body)
		}
		if r.status == http.StatusForbidden && (errorCode(t, r) != "FORBIDDEN" || !strings.Contains(r.body, "role")) {
			t.Errorf("forbidden body: %s", r.body)
		}
	}
	r := e.as(t, adm, http.MethodGet, "/api/v1/audit?subject=account:acct", "")
	if r.status != http.StatusOK || !strings.Contains(r.body, `"actor":"lea@seller.example"`) || !strings.Contains(r.body, `"action":"standards.update"`) {
		t.Fatalf("audit of the policy change: %s", r.body)
	}
	r = e.as(t, adm, http.MethodGet, "/api/v1/audit?subject=reviewer:ana@seller.example", "")
	if !strings.Contains(r.body, `"action":"reviewer.revoke_sessions"`) || !strings.Contains(r.body, `"action":"reviewer.create"`) {
		t.Fatalf("audit of ana: %s", r.body)
	}

	// Claims: only the holder decides; a lead may free someone's claim.
	path := "/api/v1/reviews/acct/one/1"
	if r := e.as(t, ana, http.MethodPost, path+"/claim", ""); r.status != http.StatusOK || !strings.Contains(r.body, `"claimed_by":"ana@seller.example"`) {
		t.Fatalf("claim: %d %s", r.status, r.body)
	}
	if r := e.as(t, bob, http.MethodPost, path+"/claim", ""); r.status != http.StatusConflict || errorCode(t, r) != review.CodeClaimed {
		t.Fatalf("second claim: %d %s", r.status, r.body)
	}
	if r := e.as(t, bob, http.MethodPost, path+"/decision", `{"decision":"approve"}`); r.status != http.StatusConflict ||
		errorCode(t, r) != review.CodeClaimed || !strings.Contains(r.body, "ana@seller.example") {
		t.Fatalf("decision on another's claim: %d %s", r.status, r.body)
	}
	if r := e.as(t, bob, http.MethodDelete, path+"/claim", ""); r.status != http.StatusConflict {
		t.Fatalf("release of another's claim: %d %s", r.status, r.body)
	}
	if r := e.as(t, bob, http.MethodDelete, path+"/claim?force=true", ""); r.status != http.StatusForbidden {
		t.Fatalf("forced release by a reviewer: %d %s", r.status, r.body)
	}
	if r := e.as(t, lea, http.MethodDelete, path+"/claim?force=yes", ""); r.status != http.StatusBadRequest {
		t.Fatalf("bad force: %d %s", r.status, r.body)
	}
	if r := e.as(t, lea, http.MethodDelete, path+"/claim?force=true", ""); r.status != http.StatusOK || strings.Contains(r.body, "claimed_by") {
		t.Fatalf("forced release by a lead: %d %s", r.status, r.body)
	}
	if r := e.as(t, bob, http.MethodPost, path+"/decision", `{"decision":"approve"}`); r.status != http.StatusOK || !strings.Contains(r.body, `"reviewer":"bob@seller.example"`) {
		t.Fatalf("decision after release: %d %s", r.status, r.body)
	}
	if r := e.as(t, ana, http.MethodPost, path+"/claim", ""); r.status != http.StatusConflict || errorCode(t, r) != review.CodeAlreadyDecided {
		t.Fatalf("claim of a decided item: %d %s", r.status, r.body)
	}
}

func TestAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	e.queue(t, "acct", "one", "First", imageOnly)
	e.queue(t, "acct", "two", "Second", imageOnly)
	e.queue(t, "other", "three", "Third", imageOnly)
	e.queue(t, "acct", "promo/1", "Slash", imageOnly)

	t.Run("queue pages oldest first", func(t *testing.T) {
		t.Parallel()
		var got []string
		path := "/api/v1/reviews?state=pending_human&account_id=acct&limit=2"
		for i := 0; path != ""; i++ {
			if i > 3 {
				t.Fatal("pagination does not end")
			}
			r := e.api(t, http.MethodGet, path, "")
			if r.status != http.StatusOK {
				t.Fatalf("%s: %d %s", path, r.status, r.body)
			}
			var page struct {
				Reviews []struct {
					CreativeID string `json:"creative_id"`
					Reasons    []struct {
						Code string `json:"code"`
					} `json:"reasons"`
					Creative struct {
						Assets map[string]any `json:"assets"`
					} `json:"creative"`
				} `json:"reviews"`
				Next string `json:"next_page_token"`
			}
			if err := json.Unmarshal([]byte(r.body), &page); err != nil {
				t.Fatal(err)
			}
			for _, rv := range page.Reviews {
				if len(rv.Reasons) == 0 || rv.Creative.Assets["image"] == nil {
					t.Fatalf("review lacks reasons or assets: %s", r.body)
				}
				got = append(got, rv.CreativeID)
			}
			path = ""
			if page.Next != "" {
				path = "/api/v1/reviews?state=pending_human&account_id=acct&limit=2&page_token=" + url.QueryEscape(page.Next)
			}
		}
		if strings.Join(got, ",") != "one,two,promo/1" {
			t.Fatalf("queue = %v", got)
		}
	})

	t.Run("bad list parameters", func(t *testing.T) {
		t.Parallel()
		for _, q := range []string{"state=archived", "limit=x", "limit=1000", "page_token=nope"} {
			if r := e.api(t, http.MethodGet, "/api/v1/reviews?"+q, ""); r.status != http.StatusBadRequest || errorCode(t, r) != review.CodeInvalidRequest {
				t.Errorf("%s: %d %s", q, r.status, r.body)
			}
		}
	})

	t.Run("get one review", func(t *testing.T) {
		t.Parallel()
		if r := e.api(t, http.MethodGet, "/api/v1/reviews/acct/"+url.PathEscape("promo/1")+"/1", ""); r.status != http.StatusOK || !strings.Contains(r.body, `"creative_id":"promo/1"`) {
			t.Fatalf("escaped id: %d %s", r.status, r.body)
		}
		if r := e.api(t, http.MethodGet, "/api/v1/reviews/acct/one/x", ""); r.status != http.StatusBadRequest {
			t.Fatalf("bad revision: %d", r.status)
		}
		r := e.api(t, http.MethodGet, "/api/v1/reviews/acct/nope/1", "")
		if r.status != http.StatusNotFound || errorCode(t, r) != review.CodeNotFound {
			t.Fatalf("unknown: %d %s", r.status, r.body)
		}
		// Another account's creative is as unknown as a missing one.
		if r := e.api(t, http.MethodGet, "/api/v1/reviews/acct/three/1", ""); r.status != http.StatusNotFound {
			t.Fatalf("cross-account: %d", r.status)
		}
	})

	t.Run("decisions", func(t *testing.T) {
		t.Parallel()
		path := "/api/v1/reviews/other/three/1/decision"
		for body, field := range map[string]string{
			`{`:                                "",
			`{"decision":"approve","who":"x"}`: "",
			`{"decision":"reject"}`:            "reason",
			`{"decision":"maybe"}`:             "decision",
			`{"decision":"approve"} {}`:        "",
			`{"decision":"approve","reviewer":"ceo@rival.example"}`: "does not match your credentials",
		} {
			r := e.api(t, http.MethodPost, path, body)
			if r.status != http.StatusBadRequest || errorCode(t, r) != review.CodeInvalidRequest || !strings.Contains(r.body, field) {
				t.Errorf("body %s: %d %s", body, r.status, r.body)
			}
		}
		// The stored reviewer is the token's, whatever else is sent.
		r := e.api(t, http.MethodPost, path, `{"decision":"reject","reviewer":"ana@seller.example","reason":"misleading claim"}`)
		if r.status != http.StatusOK || !strings.Contains(r.body, `"state":"rejected"`) || !strings.Contains(r.body, `"human_override":true`) ||
			!strings.Contains(r.body, `"reviewer":"ana@seller.example"`) {
			t.Fatalf("decision: %d %s", r.status, r.body)
		}
		r = e.as(t, "bob@seller.example", http.MethodPost, path, `{"decision":"approve"}`)
		if r.status != http.StatusConflict || errorCode(t, r) != review.CodeAlreadyDecided || !strings.Contains(r.body, "already rejected by human (ana@seller.example)") {
			t.Fatalf("second decision: %d %s", r.status, r.body)
		}
		r = e.api(t, http.MethodGet, "/api/v1/creatives/other/three/history", "")
		if r.status != http.StatusOK || !strings.Contains(r.body, `"revisions":[{`) || !strings.Contains(r.body, `"decision_reason":"misleading claim"`) {
			t.Fatalf("history: %d %s", r.status, r.body)
		}
		if r := e.api(t, http.MethodGet, "/api/v1/creatives/other/nope/history", ""); r.status != http.StatusNotFound {
			t.Fatalf("history of an unknown creative: %d %s", r.status, r.body)
		}
		if r := e.api(t, http.MethodPost, "/api/v1/reviews/other/none/1/decision", `{"decision":"approve"}`); r.status != http.StatusNotFound {
			t.Fatalf("unknown: %d %s", r.status, r.body)
		}
	})

	t.Run("policies", func(t *testing.T) {
		t.Parallel()
		const lea = "lea@seller.example"
		r := e.as(t, lea, http.MethodGet, "/api/v1/policies/fresh", "")
		if r.status != http.StatusOK || !strings.Contains(r.body, `"approve_threshold":0.9`) || !strings.Contains(r.body, `"source":"default"`) {
			t.Fatalf("default policy: %d %s", r.status, r.body)
		}
		for _, body := range []string{`{"approve_threshold":0.8}`, `{"approve_threshold":0.2,"reject_threshold":0.8}`, `{"approve_threshold":2,"reject_threshold":0.1}`} {
			if r := e.as(t, lea, http.MethodPut, "/api/v1/policies/fresh", body); r.status != http.StatusBadRequest {
				t.Errorf("PUT %s: %d %s", body, r.status, r.body)
			}
		}
		if r := e.as(t, lea, http.MethodPut, "/api/v1/policies/fresh", `{"approve_threshold":0.8,"reject_threshold":0.2}`); r.status != http.StatusOK {
			t.Fatalf("PUT: %d %s", r.status, r.body)
		}
		if r := e.as(t, lea, http.MethodGet, "/api/v1/policies/fresh", ""); !strings.Contains(r.body, `"approve_threshold":0.8`) || !strings.Contains(r.body, `"source":"tenant"`) {
			t.Fatalf("stored policy: %s", r.body)
		}
	})
}

func TestReviewerPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	ctx := context.Background()
	// An account that never auto-rejects, so a creative with a script URL
	// reaches a person and the page must show it safely.
	if err := e.svc.SetPolicy(ctx, "lea@seller.example", "acct", review.Standards{
		Thresholds: review.Thresholds{Approve: 0.9, Reject: 0}, Reasons: []string{"Misleading claim"},
	}); err != nil {
		t.Fatal(err)
	}
	e.queue(t, "acct", "evil", `<script>alert("x")</script>`,
		`{"image":{"asset_type":"image","url":"https://cdn.example.com/b.png","width":300,"height":250},"click_url":{"asset_type":"url","url":"javascript:alert(1)"}}`)

	form := func(v url.Values) string { return v.Encode() }
	headers := func(cookie, site string) map[string]string {
		h := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": site}
		if cookie != "" {
			h["Cookie"] = cookie
		}
		return h
	}

	r := e.call(t, http.MethodGet, "/reviews", "", nil)
	if r.status != http.StatusOK || !strings.Contains(r.body, `name="password"`) || strings.Contains(r.body, "evil") {
		t.Fatalf("signed-out page: %d %s", r.status, r.body)
	}
	// Wrong password and unknown e-mail get the same answer, and the
	// typed e-mail stays in the form.
	for _, email := range []string{"ana@seller.example", "nobody@seller.example"} {
		r = e.call(t, http.MethodPost, "/reviews/login", form(url.Values{"email": {email}, "password": {"wrong password!"}}), headers("", "same-origin"))
		if r.status != http.StatusUnauthorized || r.header.Get("Set-Cookie") != "" || !strings.Contains(r.body, `value="`+email+`"`) ||
			!strings.Contains(r.body, "e-mail or password is wrong") {
			t.Fatalf("wrong password for %s: %d %s", email, r.status, r.body)
		}
	}
	if r = e.call(t, http.MethodPost, "/reviews/login", form(url.Values{"email": {"Ana <ana@seller.example>"}, "password": {password}}), headers("", "same-origin")); r.status != http.StatusBadRequest {
		t.Fatalf("display-name address: %d", r.status)
	}
	login := form(url.Values{"email": {"ANA@seller.example"}, "password": {password}})
	if r = e.call(t, http.MethodPost, "/reviews/login", login, headers("", "cross-site")); r.status != http.StatusForbidden {
		t.Fatalf("cross-site login: %d", r.status)
	}
	r = e.call(t, http.MethodPost, "/reviews/login", login, headers("", "same-origin"))
	cookie := r.header.Get("Set-Cookie")
	if r.status != http.StatusSeeOther || !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Strict") ||
		!strings.Contains(cookie, "Path=/reviews") || strings.Contains(cookie, "ana") {
		t.Fatalf("login: %d, cookie %q", r.status, cookie)
	}
	session := strings.SplitN(cookie, ";", 2)[0]

	r = e.call(t, http.MethodGet, "/reviews", "", map[string]string{"Cookie": session})
	if r.status != http.StatusOK || !strings.Contains(r.body, `Signed in as <strong id="me">ana@seller.example</strong>`) {
		t.Fatalf("queue: %d %s", r.status, r.body)
	}
	for _, bad := range []string{`<script>alert`, `href="javascript:`} {
		if strings.Contains(r.body, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	for _, want := range []string{`&lt;script&gt;`, `<img src="https://cdn.example.com/b.png"`, `declared 300×250`, `FORBIDDEN_URL_SCHEME`,
		`action="/reviews/acct/evil/1/decision"`, "javascript:alert(1)</code>", `<option value="Misleading claim">`, "<strong>1</strong> waiting"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The CSP lets previews load from exactly the assets' origins.
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src https://cdn.example.com;") ||
		!strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("CSP = %q", csp)
	}
	for _, q := range []string{"sort=bogus", "policy=auto_approve", "offset=-1", "offset=x", "min_score=x", "max_score=2", "min_score=0.8&max_score=0.2"} {
		if r := e.call(t, http.MethodGet, "/reviews?"+q, "", map[string]string{"Cookie": session}); r.status != http.StatusBadRequest {
			t.Errorf("queue ?%s = %d", q, r.status)
		}
	}

	decide := "/reviews/acct/evil/1/decision"
	if r := e.call(t, http.MethodPost, decide, form(url.Values{"decision": {"reject"}, "reason": {"x"}}), headers("review_session=forged", "same-origin")); r.status != http.StatusUnauthorized {
		t.Fatalf("forged session: %d", r.status)
	}
	if r := e.call(t, http.MethodPost, decide, form(url.Values{"decision": {"reject"}, "reason": {"x"}}), headers(session, "cross-site")); r.status != http.StatusForbidden {
		t.Fatalf("cross-site decision: %d", r.status)
	}
	// Refused forms come back with what was typed; nothing is decided.
	r = e.call(t, http.MethodPost, decide, form(url.Values{"decision": {"reject"}, "reason": {"  "}}), headers(session, "same-origin"))
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "a rejection needs a reason") || !strings.Contains(r.body, `id="reason-0"`) {
		t.Fatalf("reject without a reason: %d %s", r.status, r.body)
	}
	r = e.call(t, http.MethodPost, decide, form(url.Values{"decision": {"reject"}, "reason": {"kept text"}, "policy_reason": {"Made up"}}), headers(session, "same-origin"))
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "not one of this account") || !strings.Contains(r.body, ">kept text</textarea>") {
		t.Fatalf("unknown policy reason: %d %s", r.status, r.body)
	}
	if rv, _ := e.svc.Get(ctx, review.Key{AccountID: "acct", CreativeID: "evil", Revision: 1}); rv.Decided() {
		t.Fatal("a refused form decided the review")
	}
	// The reviewer lands back on the same filtered view; nothing else of
	// "back" survives.
	r = e.call(t, http.MethodPost, decide, form(url.Values{"decision": {"reject"}, "reason": {"script in the name"}, "policy_reason": {"Misleading claim"},
		"back": {"account_id=acct&sort=newest&next=https://evil.example/"}}), headers(session, "same-origin"))
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/reviews?account_id=acct&done=rejected&sort=newest" {
		t.Fatalf("decision: %d %q %s", r.status, r.header.Get("Location"), r.body)
	}
	rv, err := e.svc.Get(ctx, review.Key{AccountID: "acct", CreativeID: "evil", Revision: 1})
	if err != nil || rv.Reviewer != "ana@seller.example" || rv.State != review.StateRejected || rv.DecisionReason != "Misleading claim: script in the name" {
		t.Fatalf("stored decision: %+v %v", rv, err)
	}
	r = e.call(t, http.MethodPost, decide, form(url.Values{"decision": {"approve"}}), headers(session, "same-origin"))
	if r.status != http.StatusConflict || !strings.Contains(r.body, review.CodeAlreadyDecided) {
		t.Fatalf("second decision: %d %s", r.status, r.body)
	}
	r = e.call(t, http.MethodGet, "/reviews?done=rejected", "", map[string]string{"Cookie": session})
	if !strings.Contains(r.body, "Decision recorded: rejected.") || !strings.Contains(r.body, "Nothing waits") {
		t.Fatalf("queue after decision: %s", r.body)
	}
	r = e.call(t, http.MethodGet, "/reviews/state?key=acct/evil/1", "", map[string]string{"Cookie": session})
	if r.status != http.StatusOK || !strings.Contains(r.body, `"acct/evil/1":{"state":"rejected","reviewer":"ana@seller.example"}`) {
		t.Fatalf("state: %d %s", r.status, r.body)
	}
	r = e.call(t, http.MethodGet, "/reviews/acct/evil/history", "", map[string]string{"Cookie": session})
	if r.status != http.StatusOK || !strings.Contains(r.body, `<strong class="decider">ana@seller.example</strong>`) {
		t.Fatalf("history: %d %s", r.status, r.body)
	}

	// Sign-out ends the session on the server; an admin can end them too.
	r = e.call(t, http.MethodPost, "/reviews/logout", "", headers(session, "same-origin"))
	if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("logout: %d %q", r.status, r.header.Get("Set-Cookie"))
	}
	if r := e.call(t, http.MethodGet, "/reviews", "", map[string]string{"Cookie": session}); strings.Contains(r.body, "Signed in as") {
		t.Fatal("the session outlived sign-out")
	}
	r = e.call(t, http.MethodPost, "/reviews/login", login, headers("", "same-origin"))
	second := strings.SplitN(r.header.Get("Set-Cookie"), ";", 2)[0]
	if n, err := e.staff.RevokeSessions(ctx, "adm@seller.example", "ana@seller.example"); err != nil || n != 1 {
		t.Fatalf("revoke: %d %v", n, err)
	}
	if r := e.call(t, http.MethodGet, "/reviews", "", map[string]string{"Cookie": second}); strings.Contains(r.body, "Signed in as") {
		t.Fatal("a revoked session still works")
	}
}

func TestStandardsPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	ctx := context.Background()
	signIn := func(email string) string {
		r := e.call(t, http.MethodPost, "/reviews/login", url.Values{"email": {email}, "password": {password}}.Encode(),
			map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "same-origin"})
		return strings.SplitN(r.header.Get("Set-Cookie"), ";", 2)[0]
	}
	ana, lea := signIn("ana@seller.example"), signIn("lea@seller.example")
	if r := e.call(t, http.MethodGet, "/reviews/standards?account_id=acct", "", map[string]string{"Cookie": ana}); r.status != http.StatusForbidden ||
		!strings.Contains(r.body, "needs the lead role") {
		t.Fatalf("reviewer on the standards page: %d %s", r.status, r.body)
	}
	r := e.call(t, http.MethodGet, "/reviews/standards?account_id=acct", "", map[string]string{"Cookie": lea})
	if r.status != http.StatusOK || !strings.Contains(r.body, "service defaults") || !strings.Contains(r.body, `value="0.9"`) {
		t.Fatalf("standards page: %d %s", r.status, r.body)
	}
	post := func(v url.Values) response {
		v.Set("account_id", "acct")
		return e.call(t, http.MethodPost, "/reviews/standards", v.Encode(),
			map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "same-origin", "Cookie": lea})
	}
	good := url.Values{"approve_threshold": {"0.8"}, "reject_threshold": {"0.2"}, "blocked_terms": {"magic pill\n\n"},
		"blocked_domains": {"spam.example"}, "human_categories": {"alcohol: beer, wine"}, "ai_disclosure": {"reject_undisclosed"},
		"reasons": {"Misleading claim\nProhibited product"}}
	bad := url.Values{}
	for k, v := range good {
		bad[k] = v
	}
	bad.Set("allowed_domains", "https://shop.example.com/x")
	r = post(bad)
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "allowed_domains[0]") || !strings.Contains(r.body, "magic pill") {
		t.Fatalf("bad domain: %d %s", r.status, r.body)
	}
	bad.Set("allowed_domains", "")
	bad.Set("human_categories", "alcohol beer")
	if r = post(bad); r.status != http.StatusBadRequest || !strings.Contains(r.body, "name: word, word") {
		t.Fatalf("bad category line: %d %s", r.status, r.body)
	}
	if _, own, _ := e.svc.Policy(ctx, "acct"); own {
		t.Fatal("a refused form stored standards")
	}
	if r = post(good); r.status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", r.status, r.body)
	}
	st, own, err := e.svc.Policy(ctx, "acct")
	if err != nil || !own || st.Approve != 0.8 || len(st.Reasons) != 2 || st.HumanCategories["alcohol"][1] != "wine" || st.AIDisclosure != "reject_undisclosed" {
		t.Fatalf("stored: %+v %v", st, err)
	}
	r = e.call(t, http.MethodGet, "/reviews/standards?account_id=acct&done=saved", "", map[string]string{"Cookie": lea})
	if !strings.Contains(r.body, "Saved.") || !strings.Contains(r.body, "lea@seller.example · <code>standards.update</code>") ||
		!strings.Contains(r.body, "alcohol: beer, wine") {
		t.Fatalf("after save: %s", r.body)
	}
}
