package main

import (
	"encoding/json"
	"testing"
)

func TestUseMCPSpreadsTheShare(t *testing.T) {
	t.Parallel()
	for _, frac := range []float64{0, 0.25, 0.5, 1} {
		n := 0
		for k := range int64(1000) {
			if useMCP(k, frac) {
				n++
			}
		}
		if want := int(frac * 1000); n != want {
			t.Errorf("share %v: %d of 1000 over MCP; want %d", frac, n, want)
		}
	}
	// Half: every other call, so even two calls use both protocols.
	if useMCP(0, 0.5) == useMCP(1, 0.5) {
		t.Error("share 0.5 does not alternate")
	}
}

func TestSyncRequestIsTheAdCPBody(t *testing.T) {
	t.Parallel()
	raw := syncRequest("run1-b2-7", "acct_x", "http://127.0.0.1:8080", "http://127.0.0.1:9/webhooks/buyer2", 3)
	var req struct {
		IdempotencyKey string `json:"idempotency_key"`
		Account        struct {
			AccountID string `json:"account_id"`
		} `json:"account"`
		Creatives []struct {
			CreativeID string `json:"creative_id"`
			FormatID   struct {
				AgentURL string `json:"agent_url"`
				ID       string `json:"id"`
			} `json:"format_id"`
			Assets map[string]map[string]any `json:"assets"`
		} `json:"creatives"`
		Push struct {
			URL   string `json:"url"`
			Token string `json:"token"`
		} `json:"push_notification_config"`
		Context map[string]string `json:"context"`
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, raw)
	}
	if len(req.IdempotencyKey) < 16 || req.Account.AccountID != "acct_x" || len(req.Creatives) != 3 ||
		req.Push.URL != "http://127.0.0.1:9/webhooks/buyer2" || len(req.Push.Token) < 16 || req.Context["correlation_id"] != "run1-b2-7" {
		t.Errorf("request = %+v", req)
	}
	seen := map[string]bool{}
	for _, c := range req.Creatives {
		if seen[c.CreativeID] || c.FormatID.AgentURL != "http://127.0.0.1:8080" || c.FormatID.ID != "display_300x250" ||
			c.Assets["image"]["url"] == nil {
			t.Errorf("creative %+v", c)
		}
		seen[c.CreativeID] = true
	}
}
