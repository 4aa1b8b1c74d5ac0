package service_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"example.com/creativesync/platform/drivetest"
	"example.com/creativesync/services/ingest/internal/creative"
)

// The write paths that came with the AdCP 2 dialect and Drive jobs pass the
// same account status gate as sync_creatives: an AdCP 2 sync without an
// account (the key's one production account) and a creative_sync job are
// refused on a suspended account and write nothing; a closed account does
// not make the AdCP 2 fallback ambiguous.
func TestAccountStatusGatesAdCP2AndDriveJobs(t *testing.T) {
	s, _ := startJobs(t, &drivetest.File{ID: "file_banner_0001", Name: "b.png", MIMEType: "image/png", Content: imageBytes(t, "png", 300, 250)})
	ctx := t.Context()
	s.seedPackage("acct_1", "mb_v2", "pkg_v2", "paused")
	v2 := func() map[string]any {
		var m map[string]any
		must(t, json.Unmarshal(golden(t, "v2/sync_request.json"), &m))
		return m
	}
	must(t, s.svc.Store.UpsertAccount(ctx, creative.Account{ID: "acct_gone", PrincipalID: "buyer", BrandDomain: "gone.example",
		Operator: "agency.example", Status: creative.AccountClosed}))
	if st, _, raw := s.sync(v2()); st != http.StatusOK {
		t.Fatalf("v2 without account, one open production account: %d %s", st, raw)
	}

	if _, err := s.svc.Domain.SetAccountStatus(ctx, "buyer", "acct_1", creative.AccountSuspended); err != nil {
		t.Fatal(err)
	}
	creatives := s.count(`SELECT count(*) FROM creatives WHERE account_id = 'acct_1'`)
	if st, _, raw := s.sync(v2()); st != http.StatusForbidden {
		t.Errorf("v2 sync into a suspended account: %d %s", st, raw)
	} else if code, _ := errorOf(t, raw); code != "ACCOUNT_SUSPENDED" {
		t.Errorf("v2 sync into a suspended account: %s", raw)
	}
	job := map[string]any{"file_links": []string{"file_banner_0001"}, "ad_account_id": "acct_1"}
	if st, _, raw := s.startJob(job); st != http.StatusForbidden {
		t.Errorf("job on a suspended account: %d %s", st, raw)
	} else if code, field := errorOf(t, raw); code != "ACCOUNT_SUSPENDED" || field != "ad_account_id" {
		t.Errorf("job on a suspended account: %s", raw)
	}
	if n := s.count(`SELECT count(*) FROM sync_jobs`); n != 0 {
		t.Errorf("a refused job left %d jobs", n)
	}
	if n := s.count(`SELECT count(*) FROM creatives WHERE account_id = 'acct_1'`); n != creatives {
		t.Errorf("refused writes changed the library: %d creatives, had %d", n, creatives)
	}

	// Reactivated, the job is accepted again.
	if _, err := s.svc.Domain.SetAccountStatus(ctx, "buyer", "acct_1", creative.AccountActive); err != nil {
		t.Fatal(err)
	}
	if st, _, raw := s.startJob(job); st >= 300 {
		t.Errorf("job on a reactivated account: %d %s", st, raw)
	}
}
