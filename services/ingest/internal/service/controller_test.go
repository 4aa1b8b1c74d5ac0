package service_test

import (
	"context"
	"strings"
	"testing"

	"example.com/creativesync/services/ingest/internal/creative"
	"example.com/creativesync/services/ingest/internal/service"
)

func TestComplyTestControllerIsSandboxOnlyAndDurable(t *testing.T) {
	s := startIngest(t)
	ctx := context.Background()
	must(t, s.svc.Store.UpsertAccount(ctx, creative.Account{ID: "acct_sbx", PrincipalID: "buyer", BrandDomain: "sbx.example", Operator: "agency.example", Sandbox: true}))
	cs := s.mcpSession(s.key)
	sandbox := map[string]any{"account_id": "acct_sbx"}

	res, body := call(t, cs, "comply_test_controller", map[string]any{"scenario": "list_scenarios", "account": sandbox})
	if res.IsError || !strings.Contains(string(body), "force_creative_status") {
		t.Fatalf("list_scenarios: %s", body)
	}

	// A seeded format is the sandbox account's whole catalog, and it is
	// stored: the next request (any replica) sees it.
	_, body = call(t, cs, "comply_test_controller", map[string]any{"scenario": "seed_creative_format", "account": sandbox,
		"params": map[string]any{"format_id": "sbx_fmt", "fixture": map[string]any{"name": "Sandbox format"}}})
	if !strings.Contains(string(body), `"success":true`) {
		t.Fatalf("seed format: %s", body)
	}
	if n := s.count(`SELECT count(*) FROM sandbox_formats WHERE principal_id='buyer'`); n != 1 {
		t.Fatalf("%d sandbox formats stored", n)
	}
	_, body = call(t, cs, "list_creative_formats", map[string]any{"account": sandbox})
	if !strings.Contains(string(body), `"id":"sbx_fmt"`) || strings.Contains(string(body), "display_300x250") {
		t.Errorf("sandbox catalog: %s", body)
	}
	_, body = call(t, cs, "list_creative_formats", map[string]any{"account": map[string]any{"account_id": "acct_1"}})
	if strings.Contains(string(body), "sbx_fmt") || !strings.Contains(string(body), "display_300x250") {
		t.Errorf("production catalog changed: %s", body)
	}
	_, body = call(t, cs, "comply_test_controller", map[string]any{"scenario": "seed_creative_format", "account": sandbox,
		"params": map[string]any{"format_id": "sbx_fmt", "fixture": map[string]any{"name": "Different"}}})
	if !strings.Contains(string(body), "INVALID_PARAMS") {
		t.Errorf("conflicting reseed: %s", body)
	}

	// Forcing a status works on sandbox creatives only.
	_, body = call(t, cs, "comply_test_controller", map[string]any{"scenario": "seed_creative", "account": sandbox,
		"params": map[string]any{"creative_id": "sbx_c1", "fixture": map[string]any{"name": "Seeded", "format_id": map[string]any{"agent_url": agentURL, "id": "sbx_fmt"}}}})
	if !strings.Contains(string(body), `"success":true`) {
		t.Fatalf("seed creative: %s", body)
	}
	_, body = call(t, cs, "comply_test_controller", map[string]any{"scenario": "force_creative_status", "account": sandbox,
		"params": map[string]any{"creative_id": "sbx_c1", "status": "approved"}})
	if !strings.Contains(string(body), `"success":true`) {
		t.Fatalf("force approved: %s", body)
	}
	var status string
	must(t, s.db.Get(&status, `SELECT status FROM creatives WHERE creative_id='sbx_c1'`))
	if status != "approved" {
		t.Errorf("status %s", status)
	}
	s.sync(syncReq(banner("prod_c1")))
	_, body = call(t, cs, "comply_test_controller", map[string]any{"scenario": "force_creative_status", "account": map[string]any{"account_id": "acct_1"},
		"params": map[string]any{"creative_id": "prod_c1", "status": "approved"}})
	if !strings.Contains(string(body), "FORBIDDEN") {
		t.Errorf("production account: %s", body)
	}
	must(t, s.db.Get(&status, `SELECT status FROM creatives WHERE creative_id='prod_c1'`))
	if status != "pending_review" {
		t.Errorf("production creative forced to %s", status)
	}
	_, body = call(t, cs, "comply_test_controller", map[string]any{"scenario": "explode", "account": sandbox})
	if !strings.Contains(string(body), "UNKNOWN_SCENARIO") {
		t.Errorf("unknown scenario: %s", body)
	}
}

// On a sandbox deployment the controller acts on every account of the
// caller, and finds a creative across them although the call names the
// runner's own sandbox account (as the compliance storyboards do).
func TestSandboxDeploymentControlsEveryAccount(t *testing.T) {
	t.Parallel()
	s := startIngestB(t, func(c *service.Config) { c.SandboxDeployment = true })
	ctx := context.Background()
	must(t, s.svc.Store.UpsertAccount(ctx, creative.Account{ID: "acct_sbx", PrincipalID: "buyer", BrandDomain: "sbx.example", Operator: "agency.example", Sandbox: true}))
	if st, m, _ := s.sync(syncReq(banner("prod_c1"))); st != 200 {
		t.Fatalf("sync: %d %v", st, m)
	}
	cs := s.mcpSession(s.key)
	_, body := call(t, cs, "comply_test_controller", map[string]any{"scenario": "force_creative_status",
		"account": map[string]any{"account_id": "acct_sbx"}, "params": map[string]any{"creative_id": "prod_c1", "status": "approved"}})
	if !strings.Contains(string(body), `"success":true`) {
		t.Fatalf("force on a production account's creative: %s", body)
	}
	_, body = call(t, cs, "comply_test_controller", map[string]any{"scenario": "force_account_status",
		"params": map[string]any{"account_id": "acct_1", "status": "suspended"}})
	if !strings.Contains(string(body), `"current_state":"suspended"`) {
		t.Fatalf("force a production account's status: %s", body)
	}
}
