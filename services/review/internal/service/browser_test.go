package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"example.com/creativesync/platform/browsertest"
	"example.com/creativesync/services/review/internal/staff"
)

func TestMain(m *testing.M) {
	code := m.Run()
	browsertest.Close()
	os.Exit(code)
}

// bannerServer serves a 300×250 PNG, as a buyer's CDN would.
func bannerServer(t *testing.T) *httptest.Server {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 300, 250))
	for y := range 250 {
		for x := range 300 {
			img.Set(x, y, color.RGBA{R: uint8(x), G: 120, B: uint8(y), A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(buf.Bytes())
	}))
	t.Cleanup(srv.Close)
	return srv
}

// browserStep runs chromedp actions under a deadline, so a missing element
// fails the test in seconds with the step's name instead of hanging.
func browserStep(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// waitJS evaluates a JavaScript condition until it is true. Evaluation
// errors count as "not yet": while a form post navigates, the old page's
// context disappears under the evaluation.
func waitJS(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		ok, err := chromedp.Run(c, chromedp.Evaluate[bool](js))
		cancel()
		if err == nil && ok {
			return
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	body, _ := chromedp.Run(c, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	t.Fatalf("%s: not true within 15s (last error: %v)\npage text:\n%s", what, lastErr, body)
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(browsertest.ScreenshotDir(t, "review"), name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func signIn(t *testing.T, ctx context.Context, base, email string) {
	t.Helper()
	browserStep(t, ctx, "sign in as "+email,
		chromedp.Navigate(base+"/reviews"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), reviewerPassword),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("me")),
	)
}

// TestReviewerPageInBrowser works the queue as two reviewers would, in
// headless Chromium: sign in, see the creative's image, claim it, fail to
// reject without a reason, reject with a policy reason, watch a second
// reviewer bounce off the claim, see a decision made elsewhere reach a
// stale tab, check the layout at 390 px, read the history and sign out.
func TestReviewerPageInBrowser(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	bobToken := s.addReviewer("bob@seller.example", staff.RoleReviewer)
	cdn := bannerServer(t)
	svc := s.start(nil)
	base := svc.URL

	status, body := svc.do(t, http.MethodPut, "/api/v1/policies/acct_b", map[string]any{
		"approve_threshold": 0.9, "reject_threshold": 0.1,
		"reasons": []string{"Misleading claim", "Prohibited product"},
	})
	if status != http.StatusOK {
		t.Fatalf("standards: %d %s", status, body)
	}
	for _, id := range []string{"b1", "b2"} {
		ev := aiUndisclosed(creative("acct_b", id))
		ev.Assets = json.RawMessage(fmt.Sprintf(`{"image":{"asset_type":"image","url":%q,"width":300,"height":250},
			"click_url":{"asset_type":"url","url":"https://shop.example.com/"}}`, cdn.URL+"/"+id+".png"))
		s.publish(ev)
	}
	s.waitFor("both creatives queued", func() bool {
		_, body := svc.do(t, http.MethodGet, "/api/v1/reviews?state=pending_human&account_id=acct_b", nil)
		return strings.Count(string(body), `"creative_id"`) == 2
	})

	ana := browsertest.Session(t)
	signIn(t, ana, base, "ana@seller.example")
	const b1, b2 = `section.item[data-key="acct_b/b1/1"]`, `section.item[data-key="acct_b/b2/1"]`
	waitJS(t, ana, "queue count", `document.querySelector("#count strong").textContent === "2"`)
	// The preview loads from the CDN's origin, which the page's CSP names;
	// the script measures it against the declared size.
	waitJS(t, ana, "image preview loads", `(function(){var i=document.querySelector('`+b1+` img');return !!i && i.complete && i.naturalWidth===300 && i.naturalHeight===250})()`)
	waitJS(t, ana, "measured size shown", `document.querySelector('`+b1+` .measured').textContent === "measured 300×250"`)
	screenshot(t, ana, "queue-desktop.png")

	browserStep(t, ana, "claim b1",
		chromedp.Click(chromedp.CSS(b1+" .claim-btn")),
		chromedp.WaitVisible(chromedp.ID("notice")),
	)
	waitJS(t, ana, "b1 claimed by ana", `document.querySelector('`+b1+` .claimed').textContent === "claimed by you"`)

	// Bob sees the claim and cannot decide around it, even by forcing the
	// disabled button.
	bob := browsertest.Session(t)
	signIn(t, bob, base, "bob@seller.example")
	waitJS(t, bob, "bob sees the claim", `document.querySelector('`+b1+` .claimed').textContent.includes("ana@seller.example") && document.querySelector('`+b1+` button.approve').disabled`)
	eval[bool](t, bob, `(function(){var b=document.querySelector('`+b1+` button.approve');b.disabled=false;b.click();return true})()`)
	waitJS(t, bob, "claim refused", `!!document.querySelector("#error") && document.querySelector("#error").textContent.includes("CLAIMED_BY_OTHER")`)

	// Rejecting without a reason is stopped in the page, which stays put.
	browserStep(t, ana, "reject without a reason", chromedp.Click(chromedp.CSS(b1+" button.reject")))
	waitJS(t, ana, "reason demanded", `!document.querySelector('`+b1+` .client-error').hidden`)
	const typed = "The 50% off claim is not on the landing page."
	browserStep(t, ana, "reject with a policy reason",
		chromedp.SetValue(chromedp.CSS(b1+" select[name=policy_reason]"), "Misleading claim"),
		chromedp.SendKeys(chromedp.CSS(b1+" textarea"), typed),
		chromedp.Click(chromedp.CSS(b1+" button.reject")),
	)
	// The claim's notice is on the page until the post navigates; wait for
	// the decision's.
	waitJS(t, ana, "decision notice", `!!document.querySelector("#notice") && document.querySelector("#notice").textContent === "Decision recorded: rejected."`)
	p := s.waitOne("creative_rejected_v1", "acct_b", "b1").Payload
	reasons, _ := p["reasons"].([]any)
	first, _ := reasons[0].(map[string]any)
	if p["reviewer"] != "ana@seller.example" || p["decided_by"] != "human" || first["message"] != "Misleading claim: "+typed {
		t.Fatalf("rejected event = %v", p)
	}

	// A decision made elsewhere reaches the open tab before anyone works on
	// the item.
	status, body = svc.doAs(t, bobToken, http.MethodPost, "/api/v1/reviews/acct_b/b2/1/decision", map[string]string{"decision": "approve"})
	if status != http.StatusOK {
		t.Fatalf("bob approves b2: %d %s", status, body)
	}
	eval[bool](t, ana, `document.dispatchEvent(new Event("visibilitychange")), true`)
	waitJS(t, ana, "stale item locked", `(function(){var b=document.querySelector('`+b2+` .stale-banner');return !b.hidden && b.textContent.includes("approved by bob@seller.example") && document.querySelector('`+b2+` button.reject').disabled})()`)

	// History shows who decided what.
	browserStep(t, ana, "history", chromedp.Navigate(base+"/reviews/acct_b/b1/history"), chromedp.WaitVisible(chromedp.CSS(".revision")))
	if h := eval[string](t, ana, `document.querySelector(".revision").innerText`); !strings.Contains(h, "rejected") ||
		!strings.Contains(h, "ana@seller.example") || !strings.Contains(h, typed) {
		t.Fatalf("history = %q", h)
	}

	// At 390 px nothing overflows sideways.
	browserStep(t, bob, "narrow viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Navigate(base+"/reviews"), chromedp.WaitVisible(chromedp.ID("count")))
	b3 := aiUndisclosed(creative("acct_b", "b3"))
	// Every URL the browser loads is on 127.0.0.1: tests resolve no names.
	b3.Assets = json.RawMessage(fmt.Sprintf(`{"image":{"asset_type":"image","url":%q,"width":300,"height":250}}`, cdn.URL+"/b3.png"))
	s.publish(b3)
	s.waitFor("b3 queued", func() bool {
		_, body := svc.do(t, http.MethodGet, "/api/v1/reviews/acct_b/b3/1", nil)
		return strings.Contains(string(body), `"pending_human"`)
	})
	browserStep(t, bob, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`section.item[data-key="acct_b/b3/1"]`)))
	if w := eval[int](t, bob, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("page is %d px wide at a 390 px viewport", w)
	}
	screenshot(t, bob, "queue-390px.png")

	// Keyboard: "c" claims the current (first) item.
	browserStep(t, bob, "claim with the keyboard", chromedp.KeyEvent("c"))
	waitJS(t, bob, "claimed by key", `!!document.querySelector('section.item[data-key="acct_b/b3/1"] .claimed') && document.querySelector('section.item[data-key="acct_b/b3/1"] .claimed').textContent === "claimed by you"`)

	// Sign-out ends the session on the server: the cookie copied before
	// it no longer works.
	cookies, err := chromedp.Call(ana, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/reviews"}})
	if err != nil || len(cookies.Cookies) == 0 {
		t.Fatalf("cookies: %v %v", cookies, err)
	}
	var session string
	for _, c := range cookies.Cookies {
		if c.Name == "review_session" {
			session = c.Name + "=" + c.Value
			if !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict {
				t.Errorf("session cookie is not HttpOnly and SameSite=Strict: %+v", c)
			}
		}
	}
	if got := pageAs(t, base, session); !strings.Contains(got, "Signed in as") {
		t.Fatalf("copied cookie before sign-out does not work: %s", got)
	}
	browserStep(t, ana, "sign out", chromedp.Navigate(base+"/reviews"), chromedp.WaitVisible(chromedp.ID("sign-out")),
		chromedp.Click(chromedp.ID("sign-out")), chromedp.WaitVisible(chromedp.ID("email")))
	if got := pageAs(t, base, session); strings.Contains(got, "Signed in as") || !strings.Contains(got, `name="password"`) {
		t.Fatalf("copied cookie still works after sign-out: %s", got)
	}
}

// pageAs fetches the queue page with a raw Cookie header, as someone who
// copied the cookie would.
func pageAs(t *testing.T, base, cookie string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/reviews", nil)
	req.Header.Set("Cookie", cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
