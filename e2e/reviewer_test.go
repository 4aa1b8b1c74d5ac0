package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"example.com/creativesync/platform/browsertest"
)

// reviewerRejects is the human half of the pipeline: an admin creates a
// lead with `review admin`, the lead sets the account's policy reasons,
// a creative that needs a person is synced, and the lead rejects it in the
// reviewer page in headless Chromium; the buyer's list_creatives then
// shows it rejected with that reason.
func reviewerRejects(t *testing.T, bin string, env []string, review, ingest, key string) {
	t.Helper()
	const email, password = "lea@seller.example", "e2e reviewer password"
	adminCmd := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(filepath.Join(bin, "review"), append([]string{"admin"}, args...)...)
		cmd.Env = append(os.Environ(), append(env, "REVIEWER_PASSWORD="+password)...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("review admin %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	adminCmd("add", "-email", email, "-role", "lead", "-name", "Lea")
	token := adminCmd("token", "-email", email, "-label", "e2e")

	call := func(method, url, token string, body any) (int, []byte) {
		t.Helper()
		return callJSON(t, method, url, bearer(token), body)
	}
	if status, body := call("PUT", review+"/api/v1/policies/acct_demo", token, map[string]any{
		"approve_threshold": 0.9, "reject_threshold": 0.1, "reasons": []string{"Misleading claim"},
	}); status != 200 {
		t.Fatalf("standards: %d %s", status, body)
	}

	// The creative's image is served from 127.0.0.1, like everything else
	// the browser loads.
	img := image.NewRGBA(image.Rect(0, 0, 300, 250))
	for y := range 250 {
		for x := range 300 {
			img.Set(x, y, color.RGBA{R: 200, G: uint8(y), B: 80, A: 255})
		}
	}
	var pngBytes bytes.Buffer
	_ = png.Encode(&pngBytes, img)
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(pngBytes.Bytes())
	}))
	defer cdn.Close()

	status, body := call("POST", ingest+"/api/v1/creatives/sync", key, map[string]any{
		"idempotency_key": "e2e-sync-0000000000000002",
		"account":         map[string]any{"account_id": "acct_demo"},
		"creatives": []any{map[string]any{
			"creative_id": "e2e_ai", "name": "AI banner",
			"format_id": map[string]any{"agent_url": ingest, "id": "display_300x250"},
			"assets": map[string]any{"image": map[string]any{"asset_type": "image", "url": cdn.URL + "/ai.png", "width": 300, "height": 250},
				"click_url": map[string]any{"asset_type": "url", "url": "https://brand.example.com/"}},
			"provenance": map[string]any{"digital_source_type": "trained_algorithmic_media"},
		}},
	})
	if status != 200 {
		t.Fatalf("sync: %d %s", status, body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, body := call("GET", review+"/api/v1/reviews?state=pending_human&account_id=acct_demo", token, nil)
		if strings.Contains(string(body), `"creative_id":"e2e_ai"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("e2e_ai never reached the queue: %s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}

	ctx := browsertest.Session(t)
	step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(c, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	waitTrue := func(what, js string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			c, cancel := context.WithTimeout(ctx, 5*time.Second)
			ok, err := chromedp.Run(c, chromedp.Evaluate[bool](js))
			cancel()
			if err == nil && ok {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("%s: not true within 20s", what)
	}
	const item = `section.item[data-key="acct_demo/e2e_ai/1"]`
	const reason = "The image promises a result the product cannot deliver."
	step("sign in", chromedp.Navigate(review+"/reviews"), chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email), chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("sign-in")), chromedp.WaitVisible(chromedp.CSS(item)))
	waitTrue("image preview", `(function(){var i=document.querySelector('`+item+` img');return !!i && i.complete && i.naturalWidth===300})()`)
	step("claim", chromedp.Click(chromedp.CSS(item+" .claim-btn")))
	waitTrue("claimed", `!!document.querySelector('`+item+` .claimed') && document.querySelector('`+item+` .claimed').textContent === "claimed by you"`)
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(browsertest.ScreenshotDir(t, "e2e"), "claimed.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	step("reject", chromedp.SetValue(chromedp.CSS(item+" select[name=policy_reason]"), "Misleading claim"),
		chromedp.SendKeys(chromedp.CSS(item+" textarea"), reason), chromedp.Click(chromedp.CSS(item+" button.reject")))
	waitTrue("decision recorded", `!!document.querySelector("#notice") && document.querySelector("#notice").textContent === "Decision recorded: rejected."`)

	// The buyer's view, through ingest.
	want := "Misleading claim: " + reason
	deadline = time.Now().Add(30 * time.Second)
	for {
		_, body := call("GET", ingest+"/api/v1/creatives/e2e_ai", key, nil)
		var c struct {
			Status          string `json:"status"`
			RejectionReason string `json:"rejection_reason"`
		}
		_ = json.Unmarshal(body, &c)
		if c.Status == "rejected" {
			if c.RejectionReason != want {
				t.Fatalf("buyer sees rejection reason %q, want %q: %s", c.RejectionReason, want, body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the buyer never saw the rejection: %s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if status, body := call("GET", ingest+"/api/v1/creatives?status=rejected", key, nil); status != 200 || !strings.Contains(string(body), want) {
		t.Fatalf("list_creatives: %d %s", status, body)
	}
}
