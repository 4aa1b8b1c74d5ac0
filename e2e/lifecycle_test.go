package e2e

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"example.com/creativesync/platform/natstest"
	"example.com/creativesync/platform/pgtest"
)

// A buyer declares an account with sync_accounts and a subscriber, passes
// the signed challenge, syncs a creative that review sends to a person, the
// reviewer rejects it through the reviewer API, and the subscriber receives
// one signed creative.status_changed carrying the reason — every signature
// verified against the notifier's published JWKS (ingest and the notifier
// share one key, as the README recommends).
func TestRejectionReachesTheAccountSubscriber(t *testing.T) {
	bin := buildServices(t)
	prefix := natstest.Prefix(t)
	dbs := map[string]string{}
	for _, svc := range []string{"ingest", "review", "notifier"} {
		dbs[svc] = pgtest.NewDatabase(t)
	}
	addrs := map[string]string{"ingest": freeAddr(t), "review": freeAddr(t), "notifier": freeAddr(t)}

	// The buyer's endpoint is https (AdCP requires it for subscribers); the
	// services trust its certificate through SSL_CERT_FILE.
	type hit struct {
		path   string
		header http.Header
		body   []byte
	}
	hits := make(chan hit, 8)
	buyer := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		hits <- hit{r.URL.Path, r.Header.Clone(), b}
		var c struct {
			Type      string `json:"type"`
			Challenge string `json:"challenge"`
		}
		if json.Unmarshal(b, &c) == nil && c.Type == "webhook.challenge" {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]string{"challenge": c.Challenge}) // the test checks the outcome at ingest
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer buyer.Close()
	certFile := filepath.Join(t.TempDir(), "buyer.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: buyer.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i + 7)
	}
	signingKey := base64.StdEncoding.EncodeToString(seed)
	common := []string{"NATS_URL=" + natstest.URL(), "TOPIC_PREFIX=" + prefix, "LOG_LEVEL=info", "OUTBOX_POLL_INTERVAL=20ms",
		"SSL_CERT_FILE=" + certFile}

	const key = "e2e_key_lifecycle_0123456789"
	admin := exec.Command(filepath.Join(bin, "ingest"), "admin", "bootstrap-demo")
	admin.Env = append(os.Environ(), append(common, "DATABASE_URL="+dbs["ingest"], "DEMO_API_KEY="+key)...)
	if out, err := admin.CombinedOutput(); err != nil {
		t.Fatalf("bootstrap-demo: %v\n%s", err, out)
	}
	const reviewerToken = "reviewer-token-0123456789abcdef"
	start(t, bin, "ingest", append(common, "DATABASE_URL="+dbs["ingest"], "HTTP_ADDR="+addrs["ingest"],
		"WEBHOOK_SIGNING_KEY="+signingKey, "WEBHOOK_ALLOW_PRIVATE_TARGETS=true")...)
	start(t, bin, "review", append(common, "DATABASE_URL="+dbs["review"], "HTTP_ADDR="+addrs["review"], "REVIEWER_TOKEN="+reviewerToken,
		// The creatives' asset URLs are placeholders no test may reach.
		"REVIEW_INSPECT_ASSETS=false")...)
	start(t, bin, "notifier", append(common, "DATABASE_URL="+dbs["notifier"], "HTTP_ADDR="+addrs["notifier"],
		"NOTIFIER_ALLOW_PRIVATE_TARGETS=true", "NOTIFIER_SIGNING_KEY="+signingKey)...)
	for name, addr := range addrs {
		waitReady(t, name, addr)
	}
	ingest, review, notifier := "http://"+addrs["ingest"], "http://"+addrs["review"], "http://"+addrs["notifier"]
	post := func(url, token string, v any) (int, []byte) {
		t.Helper()
		return callJSON(t, "POST", url, bearer(token), v)
	}
	next := func(what string) hit {
		t.Helper()
		return receive(t, hits, 30*time.Second, what)
	}

	// 1. Declare the account and its subscriber; the challenge arrives
	// signed, is echoed, and the subscriber is active.
	hookURL := buyer.URL + "/adcp/lifecycle"
	account := map[string]any{"brand": map[string]any{"domain": "lifecycle-brand.example"}, "operator": "lifecycle-agency.example"}
	st, body := post(ingest+"/api/v1/accounts/sync", key, map[string]any{
		"idempotency_key": "e2e-accounts-000000000001",
		"accounts": []any{map[string]any{"brand": account["brand"], "operator": account["operator"], "billing": "operator",
			"notification_configs": []any{map[string]any{"subscriber_id": "buyer-primary", "url": hookURL,
				"event_types": []string{"creative.status_changed"}}}}},
	})
	challenge := next("challenge")
	if st != 200 || !strings.Contains(string(body), `"action":"created"`) || !strings.Contains(string(body), `"active":true`) {
		t.Fatalf("sync_accounts: %d %s", st, body)
	}
	verifySignature(t, notifier, hookURL, delivery{challenge.header, challenge.body})

	// 2. A political creative: review always sends it to a person.
	st, body = post(ingest+"/api/v1/creatives/sync", key, map[string]any{
		"idempotency_key": "e2e-sync-lifecycle-00000001",
		"account":         account,
		"creatives": []any{map[string]any{
			"creative_id": "e2e_vote", "name": "Vote in the election", "tags": []string{"election"},
			"format_id": map[string]any{"agent_url": ingest, "id": "display_300x250"},
			"assets": map[string]any{"image": map[string]any{"asset_type": "image", "url": "https://cdn.example.com/vote.png", "width": 300, "height": 250},
				"click_url": map[string]any{"asset_type": "url", "url": "https://brand.example.com/"}},
		}},
	})
	if st != 200 {
		t.Fatalf("sync_creatives: %d %s", st, body)
	}
	var synced struct {
		Creatives []struct {
			Status string `json:"status"`
		} `json:"creatives"`
	}
	_ = json.Unmarshal(body, &synced) // checked just below
	var accountID string
	{
		req, _ := http.NewRequest("GET", ingest+"/api/v1/accounts?max_results=100", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var l struct {
			Accounts []struct {
				AccountID string `json:"account_id"`
				Name      string `json:"name"`
			} `json:"accounts"`
		}
		err = json.NewDecoder(resp.Body).Decode(&l)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range l.Accounts {
			if strings.HasPrefix(a.Name, "lifecycle-brand.example") {
				accountID = a.AccountID
			}
		}
	}
	if accountID == "" || len(synced.Creatives) != 1 {
		t.Fatalf("account %q, sync %s", accountID, body)
	}

	// 3. The reviewer rejects it once it is queued for people.
	reviewURL := review + "/api/v1/reviews/" + accountID + "/e2e_vote/1"
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest("GET", reviewURL, nil)
		req.Header.Set("Authorization", "Bearer "+reviewerToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body) // an unreadable body just means: not yet
		resp.Body.Close()
		if resp.StatusCode == 200 && strings.Contains(string(b), `"state":"pending_human"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the creative was not queued for a person: %d %s", resp.StatusCode, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The decision is recorded under the authenticated reviewer (here the
	// development shared token), so the body names none.
	st, body = post(reviewURL+"/decision", reviewerToken, map[string]any{"decision": "reject",
		"reason": "political advertiser is not verified"})
	if st/100 != 2 {
		t.Fatalf("reviewer decision: %d %s", st, body)
	}

	// 4. One signed creative.status_changed with the reason.
	h := next("creative.status_changed webhook")
	if h.path != "/adcp/lifecycle" {
		t.Fatalf("webhook went to %s", h.path)
	}
	verifySignature(t, notifier, hookURL, delivery{h.header, h.body})
	var fire struct {
		IdempotencyKey   string `json:"idempotency_key"`
		NotificationID   string `json:"notification_id"`
		NotificationType string `json:"notification_type"`
		SubscriberID     string `json:"subscriber_id"`
		AccountID        string `json:"account_id"`
		CreativeID       string `json:"creative_id"`
		Transition       struct {
			From string `json:"from"`
			To   string `json:"to"`
		} `json:"transition"`
		ReasonCode   string `json:"reason_code"`
		ReasonDetail string `json:"reason_detail"`
		Initiator    string `json:"initiator"`
	}
	if err := json.Unmarshal(h.body, &fire); err != nil {
		t.Fatalf("webhook body: %v: %s", err, h.body)
	}
	if fire.NotificationType != "creative.status_changed" || fire.SubscriberID != "buyer-primary" || fire.AccountID != accountID ||
		fire.CreativeID != "e2e_vote" || fire.Transition.From != "pending_review" || fire.Transition.To != "rejected" ||
		fire.ReasonCode != "review_failure" || fire.ReasonDetail != "political advertiser is not verified" || fire.Initiator != "seller" ||
		fire.IdempotencyKey == "" || fire.NotificationID == "" {
		t.Errorf("webhook: %s", h.body)
	}
	nothingMore(t, hits, func(h hit) string { return h.path + " " + string(h.body) })
}
