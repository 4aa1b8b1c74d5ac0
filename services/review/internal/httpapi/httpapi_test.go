package httpapi_test

import (
	"context"
	"encoding/json"
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
)

const token = "s3cret-token"

type env struct {
	srv *httptest.Server
	svc *review.Service
}

// newEnv serves the handler over a real store; no broker is needed because
// events only reach the outbox table here.
func newEnv(t *testing.T, tok string) *env {
	t.Helper()
	db := pgtest.Migrated(t, postgres.Migrate)
	logger := slog.New(slog.DiscardHandler)
	svc := review.NewService(postgres.NewStore(db, "t_", logger),
		review.NewScorer(review.DefaultRules(review.DefaultCategories())...), review.DefaultThresholds(), nil)
	// The same composition as the service: the ops endpoints plus the API.
	h := httpserver.Handler(httpserver.NewRegistry(), nil, httpapi.New(httpapi.Config{
		Reviews: svc,
		Token:   tok,
		Logger:  logger,
	}).Routes)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{srv: srv, svc: svc}
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

func (e *env) api(t *testing.T, method, path, body string) response {
	t.Helper()
	return e.call(t, method, path, body, map[string]string{"Authorization": "Bearer " + token, "Content-Type": "application/json"})
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

func TestReviewerSurfaceIsOffWithoutToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	for _, p := range []string{"/api/v1/reviews", "/api/v1/reviews/a/c/1", "/api/v1/policies/a", "/reviews"} {
		if r := e.call(t, http.MethodGet, p, "", map[string]string{"Authorization": "Bearer "}); r.status != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, r.status)
		}
	}
	if r := e.call(t, http.MethodGet, "/healthz", "", nil); r.status != http.StatusOK {
		t.Errorf("/healthz = %d", r.status)
	}
}

func TestAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, token)
	e.queue(t, "acct", "one", "First", imageOnly)
	e.queue(t, "acct", "two", "Second", imageOnly)
	e.queue(t, "other", "three", "Third", imageOnly)
	e.queue(t, "acct", "promo/1", "Slash", imageOnly)

	t.Run("bearer token is required", func(t *testing.T) {
		t.Parallel()
		for _, h := range []map[string]string{nil, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic " + token}} {
			r := e.call(t, http.MethodGet, "/api/v1/reviews", "", h)
			if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") == "" || errorCode(t, r) != "UNAUTHORIZED" {
				t.Errorf("headers %v: %d %s", h, r.status, r.body)
			}
		}
	})

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
			`{`:                                          "",
			`{"decision":"approve","who":"x"}`:           "",
			`{"decision":"reject","reviewer":"ana"}`:     "reason",
			`{"decision":"maybe","reviewer":"ana"}`:      "decision",
			`{"decision":"approve","reviewer":"ana"} {}`: "",
		} {
			r := e.api(t, http.MethodPost, path, body)
			if r.status != http.StatusBadRequest || errorCode(t, r) != review.CodeInvalidRequest || !strings.Contains(r.body, field) {
				t.Errorf("body %s: %d %s", body, r.status, r.body)
			}
		}
		r := e.api(t, http.MethodPost, path, `{"decision":"reject","reviewer":"ana","reason":"misleading claim"}`)
		if r.status != http.StatusOK || !strings.Contains(r.body, `"state":"rejected"`) || !strings.Contains(r.body, `"human_override":true`) {
			t.Fatalf("decision: %d %s", r.status, r.body)
		}
		r = e.api(t, http.MethodPost, path, `{"decision":"approve","reviewer":"bob"}`)
		if r.status != http.StatusConflict || errorCode(t, r) != review.CodeAlreadyDecided || !strings.Contains(r.body, "already rejected by human (ana)") {
			t.Fatalf("second decision: %d %s", r.status, r.body)
		}
		if r := e.api(t, http.MethodPost, "/api/v1/reviews/other/none/1/decision", `{"decision":"approve","reviewer":"bob"}`); r.status != http.StatusNotFound {
			t.Fatalf("unknown: %d %s", r.status, r.body)
		}
	})

	t.Run("policies", func(t *testing.T) {
		t.Parallel()
		r := e.api(t, http.MethodGet, "/api/v1/policies/fresh", "")
		if r.status != http.StatusOK || !strings.Contains(r.body, `"approve_threshold":0.9`) || !strings.Contains(r.body, `"source":"default"`) {
			t.Fatalf("default policy: %d %s", r.status, r.body)
		}
		for _, body := range []string{`{"approve_threshold":0.8}`, `{"approve_threshold":0.2,"reject_threshold":0.8}`, `{"approve_threshold":2,"reject_threshold":0.1}`} {
			if r := e.api(t, http.MethodPut, "/api/v1/policies/fresh", body); r.status != http.StatusBadRequest {
				t.Errorf("PUT %s: %d %s", body, r.status, r.body)
			}
		}
		if r := e.api(t, http.MethodPut, "/api/v1/policies/fresh", `{"approve_threshold":0.8,"reject_threshold":0.2}`); r.status != http.StatusOK {
			t.Fatalf("PUT: %d %s", r.status, r.body)
		}
		if r := e.api(t, http.MethodGet, "/api/v1/policies/fresh", ""); !strings.Contains(r.body, `"approve_threshold":0.8`) || !strings.Contains(r.body, `"source":"tenant"`) {
			t.Fatalf("stored policy: %s", r.body)
		}
	})
}

func TestReviewerPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, token)
	// A tenant that never auto-rejects, so a creative with a script URL
	// reaches a person and the page must show it safely.
	if err := e.svc.SetPolicy(context.Background(), "acct", review.Thresholds{Approve: 0.9, Reject: 0}); err != nil {
		t.Fatal(err)
	}
	e.queue(t, "acct", "evil", `<script>alert("x")</script>`,
		`{"image":{"asset_type":"image","url":"https://cdn.example.com/b.png"},"click_url":{"asset_type":"url","url":"javascript:alert(1)"}}`)

	r := e.call(t, http.MethodGet, "/reviews", "", nil)
	if r.status != http.StatusOK || !strings.Contains(r.body, `name="token"`) || strings.Contains(r.body, "evil") {
		t.Fatalf("signed-out page: %d %s", r.status, r.body)
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Fatalf("CSP = %q", csp)
	}

	form := func(v url.Values) string { return v.Encode() }
	formHeaders := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "same-origin"}
	r = e.call(t, http.MethodPost, "/reviews/login", form(url.Values{"token": {"wrong"}, "reviewer": {"ana"}}), formHeaders)
	if r.status != http.StatusUnauthorized || r.header.Get("Set-Cookie") != "" {
		t.Fatalf("wrong token: %d, cookie %q", r.status, r.header.Get("Set-Cookie"))
	}
	r = e.call(t, http.MethodPost, "/reviews/login", form(url.Values{"token": {token}, "reviewer": {"ana"}}),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site"})
	if r.status != http.StatusForbidden {
		t.Fatalf("cross-site login: %d", r.status)
	}
	r = e.call(t, http.MethodPost, "/reviews/login", form(url.Values{"token": {token}, "reviewer": {"ana"}}), formHeaders)
	cookie := r.header.Get("Set-Cookie")
	if r.status != http.StatusSeeOther || !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Strict") ||
		!strings.Contains(cookie, "Path=/reviews") || strings.Contains(cookie, token) {
		t.Fatalf("login: %d, cookie %q", r.status, cookie)
	}
	session := strings.SplitN(cookie, ";", 2)[0]

	r = e.call(t, http.MethodGet, "/reviews", "", map[string]string{"Cookie": session})
	if r.status != http.StatusOK || !strings.Contains(r.body, "Signed in as <strong>ana</strong>") {
		t.Fatalf("queue: %d %s", r.status, r.body)
	}
	for _, bad := range []string{`<script>alert`, `href="javascript:`} {
		if strings.Contains(r.body, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	for _, want := range []string{`&lt;script&gt;`, `href="https://cdn.example.com/b.png"`, `FORBIDDEN_URL_SCHEME`, `action="/reviews/acct/evil/1/decision"`, "0.00", "javascript:alert(1)</code>"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}

	tampered := strings.Replace(session, "=", "=YW5h", 1)
	decision := form(url.Values{"decision": {"reject"}, "reason": {"script in the name"}})
	withCookie := func(c, site string) map[string]string {
		return map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Cookie": c, "Sec-Fetch-Site": site}
	}
	if r := e.call(t, http.MethodPost, "/reviews/acct/evil/1/decision", decision, withCookie(tampered, "same-origin")); r.status != http.StatusUnauthorized {
		t.Fatalf("tampered cookie: %d", r.status)
	}
	if r := e.call(t, http.MethodPost, "/reviews/acct/evil/1/decision", decision, withCookie(session, "cross-site")); r.status != http.StatusForbidden {
		t.Fatalf("cross-site decision: %d", r.status)
	}
	r = e.call(t, http.MethodPost, "/reviews/acct/evil/1/decision", decision, withCookie(session, "same-origin"))
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/reviews?state=rejected" {
		t.Fatalf("decision: %d %q %s", r.status, r.header.Get("Location"), r.body)
	}
	rv, err := e.svc.Get(context.Background(), review.Key{AccountID: "acct", CreativeID: "evil", Revision: 1})
	if err != nil || rv.Reviewer != "ana" || rv.State != review.StateRejected || rv.DecisionReason != "script in the name" {
		t.Fatalf("stored decision: %+v %v", rv, err)
	}
	r = e.call(t, http.MethodPost, "/reviews/acct/evil/1/decision", decision, withCookie(session, "same-origin"))
	if r.status != http.StatusConflict || !strings.Contains(r.body, review.CodeAlreadyDecided) {
		t.Fatalf("second decision: %d %s", r.status, r.body)
	}
	r = e.call(t, http.MethodGet, "/reviews?state=rejected", "", map[string]string{"Cookie": session})
	if !strings.Contains(r.body, "Decision recorded: rejected.") || !strings.Contains(r.body, "Nothing waits") {
		t.Fatalf("queue after decision: %s", r.body)
	}

	r = e.call(t, http.MethodPost, "/reviews/logout", "", withCookie(session, "same-origin"))
	if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("logout: %d %q", r.status, r.header.Get("Set-Cookie"))
	}
}
