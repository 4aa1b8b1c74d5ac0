package service_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/servicetest"
	"example.com/creativesync/services/ingest/internal/adcptest"
	"example.com/creativesync/services/ingest/internal/creative"
)

const (
	syncAccountsResponse = "3.0.6/account/sync-accounts-response.json"
	listAccountsResponse = "3.0.6/account/list-accounts-response.json"
)

func decl(brand, operator string, extra ...any) map[string]any {
	m := map[string]any{"brand": map[string]any{"domain": brand}, "operator": operator, "billing": "operator"}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i].(string)] = extra[i+1]
	}
	return m
}

func syncAccountsReq(accounts ...map[string]any) map[string]any {
	as := make([]any, len(accounts))
	for i, a := range accounts {
		as[i] = a
	}
	return map[string]any{"idempotency_key": newKey(), "accounts": as, "context": map[string]any{"correlation_id": "acct-ctx"}}
}

type accountResult struct {
	AccountID string `json:"account_id"`
	Action    string `json:"action"`
	Status    string `json:"status"`
	Setup     *struct {
		Message string `json:"message"`
	} `json:"setup"`
	Errors []creative.Error `json:"errors"`
}

type syncAccountsOut struct {
	Accounts []accountResult  `json:"accounts"`
	DryRun   bool             `json:"dry_run"`
	Replayed bool             `json:"replayed"`
	Errors   []creative.Error `json:"errors"`
	Context  map[string]any   `json:"context"`
}

// syncAccounts posts body with key and decodes the answer; a success is
// also held to the 3.0.6 response schema.
func (s *stack) syncAccounts(key string, body any) (int, syncAccountsOut) {
	s.t.Helper()
	st, b := s.do("POST", "/api/v1/accounts/sync", key, jsonOf(body))
	var out syncAccountsOut
	if err := json.Unmarshal(b, &out); err != nil {
		s.t.Fatalf("sync_accounts answer is not JSON: %s", b)
	}
	adcptest.Validate(s.t, syncAccountsResponse, b)
	return st, out
}

func TestSyncAccountsUpsertsByNaturalKeyUnderTheCaller(t *testing.T) {
	s := startIngest(t)
	req := syncAccountsReq(decl("acme-corp.com", "pinnacle-media.com"), decl("nova-brands.com", "pinnacle-media.com", "sandbox", true))
	st, out := s.syncAccounts(s.key, req)
	if st != http.StatusOK || len(out.Accounts) != 2 {
		t.Fatalf("sync_accounts: %d %+v", st, out)
	}
	for _, a := range out.Accounts {
		if a.Action != "created" || a.Status != "active" || !strings.HasPrefix(a.AccountID, "acct_") {
			t.Errorf("new account: %+v", a)
		}
	}
	if out.Context["correlation_id"] != "acct-ctx" {
		t.Errorf("context not echoed: %+v", out.Context)
	}
	acme := out.Accounts[0].AccountID

	// The same key and body replays the stored answer; the same key with
	// another body is a conflict; neither writes anything.
	st, again := s.syncAccounts(s.key, req)
	if st != http.StatusOK || !again.Replayed || again.Accounts[0].AccountID != acme || again.Accounts[0].Action != "created" {
		t.Errorf("replay: %d %+v", st, again)
	}
	changed := req
	changed["accounts"] = []any{decl("acme-corp.com", "pinnacle-media.com", "billing", "agent")}
	if st, conflict := s.syncAccounts(s.key, changed); st != http.StatusConflict || conflict.Errors[0].Code != "IDEMPOTENCY_CONFLICT" {
		t.Errorf("same key, other body: %d %+v", st, conflict)
	}

	// A fresh key: unchanged when nothing differs, updated when billing does;
	// the natural key finds the same account either way.
	_, out = s.syncAccounts(s.key, syncAccountsReq(decl("acme-corp.com", "pinnacle-media.com")))
	if a := out.Accounts[0]; a.Action != "unchanged" || a.AccountID != acme {
		t.Errorf("resend: %+v", a)
	}
	_, out = s.syncAccounts(s.key, syncAccountsReq(decl("acme-corp.com", "pinnacle-media.com", "billing", "agent", "payment_terms", "net_30")))
	if a := out.Accounts[0]; a.Action != "updated" || a.AccountID != acme {
		t.Errorf("billing change: %+v", a)
	}
	var billing, terms string
	must(t, s.db.QueryRow(`SELECT billing, payment_terms FROM accounts WHERE account_id = $1`, acme).Scan(&billing, &terms))
	if billing != "agent" || terms != "net_30" {
		t.Errorf("stored billing %q terms %q", billing, terms)
	}

	// Another principal declaring the same brand and operator gets its own
	// account; it never sees or touches the first one.
	other := s.provision("other", "acct_other")
	_, out = s.syncAccounts(other, syncAccountsReq(decl("acme-corp.com", "pinnacle-media.com")))
	if a := out.Accounts[0]; a.Action != "created" || a.AccountID == acme {
		t.Errorf("other principal: %+v", a)
	}

	// A dry run answers what would happen and writes nothing.
	before := s.count(`SELECT count(*) FROM accounts`)
	dry := syncAccountsReq(decl("dry.example", "dry.example"))
	dry["dry_run"] = true
	_, out = s.syncAccounts(s.key, dry)
	if !out.DryRun || out.Accounts[0].Action != "created" {
		t.Errorf("dry run: %+v", out)
	}
	if n := s.count(`SELECT count(*) FROM accounts`); n != before {
		t.Errorf("dry run wrote %d accounts", n-before)
	}

	// A sync's push_notification_config is kept for the account's status
	// changes.
	pushed := syncAccountsReq(decl("acme-corp.com", "pinnacle-media.com", "billing", "agent", "payment_terms", "net_30"))
	pushed["push_notification_config"] = map[string]any{"url": "https://buyer.example/hooks/accounts", "token": "0123456789abcdef"}
	_, out = s.syncAccounts(s.key, pushed)
	if out.Accounts[0].Action != "updated" {
		t.Errorf("push config change: %+v", out.Accounts[0])
	}
	var url string
	must(t, s.db.Get(&url, `SELECT push_config->>'url' FROM accounts WHERE account_id = $1`, acme))
	if url != "https://buyer.example/hooks/accounts" {
		t.Errorf("stored push url %q", url)
	}
}

func TestSyncAccountsRefusesBadInputPreciselyAndWritesNothing(t *testing.T) {
	s := startIngest(t)
	before := s.count(`SELECT count(*) FROM accounts`)
	for _, tc := range []struct {
		name  string
		body  map[string]any
		code  string
		field string
	}{
		{"no idempotency key", map[string]any{"accounts": []any{decl("a.example", "a.example")}}, "INVALID_REQUEST", "idempotency_key"},
		{"no accounts", map[string]any{"idempotency_key": newKey()}, "INVALID_REQUEST", "accounts"},
		{"no billing", syncAccountsReq(decl("a.example", "a.example", "billing", nil)), "INVALID_REQUEST", "accounts[0].billing"},
		{"unknown billing", syncAccountsReq(decl("a.example", "a.example", "billing", "brand")), "VALIDATION_ERROR", "accounts[0].billing"},
		{"upper-case operator", syncAccountsReq(decl("a.example", "Agency.Example")), "VALIDATION_ERROR", "accounts[0].operator"},
		{"brand without domain", syncAccountsReq(decl("a.example", "a.example", "brand", map[string]any{"brand_id": "x"})), "VALIDATION_ERROR", "accounts[0].brand"},
		{"bad brand_id", syncAccountsReq(decl("a.example", "a.example", "brand", map[string]any{"domain": "a.example", "brand_id": "Big Brand"})), "VALIDATION_ERROR", "accounts[0].brand.brand_id"},
		{"unknown payment terms", syncAccountsReq(decl("a.example", "a.example", "payment_terms", "net_7")), "VALIDATION_ERROR", "accounts[0].payment_terms"},
		{"duplicate natural key", syncAccountsReq(decl("a.example", "b.example"), decl("a.example", "b.example")), "VALIDATION_ERROR", "accounts[1]"},
		{"settings-update entry", syncAccountsReq(map[string]any{"account": map[string]any{"account_id": "acct_1"}}), "UNSUPPORTED_PROVISIONING", "accounts[0].account"},
		{"bad push url", func() map[string]any {
			r := syncAccountsReq(decl("a.example", "a.example"))
			r["push_notification_config"] = map[string]any{"url": "ftp://x"}
			return r
		}(), "VALIDATION_ERROR", "push_notification_config.url"},
	} {
		st, out := s.syncAccounts(s.key, tc.body)
		if st != http.StatusBadRequest || len(out.Errors) == 0 || out.Errors[0].Code != tc.code || out.Errors[0].Field != tc.field {
			t.Errorf("%s: %d %+v, want %s on %s", tc.name, st, out.Errors, tc.code, tc.field)
		}
	}
	// A good entry next to a bad one is not applied either.
	st, _ := s.syncAccounts(s.key, syncAccountsReq(decl("good.example", "good.example"), decl("bad.example", "BAD")))
	if st != http.StatusBadRequest {
		t.Errorf("mixed request: %d", st)
	}
	if n := s.count(`SELECT count(*) FROM accounts`); n != before {
		t.Errorf("refused requests wrote %d accounts", n-before)
	}
}

func TestAccountApprovalPolicyAndStatusGateSyncCreatives(t *testing.T) {
	s := startIngest(t)
	ctx := context.Background()
	must(t, s.svc.Store.SetAccountApproval(ctx, "buyer", creative.ApprovalPending))

	_, out := s.syncAccounts(s.key, syncAccountsReq(decl("brand.example", "agency.example")))
	a := out.Accounts[0]
	if a.Action != "created" || a.Status != "pending_approval" || a.Setup == nil || a.Setup.Message == "" {
		t.Fatalf("pending policy: %+v", a)
	}
	id := a.AccountID
	syncInto := func(account map[string]any) (int, []creative.Error) {
		req := syncReq(banner("gate_" + id))
		req["account"] = account
		st, m, _ := s.sync(req)
		var errs []creative.Error
		if e, ok := m["errors"]; ok {
			must(t, json.Unmarshal(jsonOf(e), &errs))
		}
		return st, errs
	}
	creatives := func() int { return s.count(`SELECT count(*) FROM creatives WHERE account_id = $1`, id) }
	byID := map[string]any{"account_id": id}

	for _, step := range []struct {
		status string // set by the operator first ("" keeps it)
		code   string // expected refusal, "" for success
		http   int
	}{
		{"", "ACCOUNT_SETUP_REQUIRED", http.StatusForbidden},
		{"active", "", http.StatusOK},
		{"suspended", "ACCOUNT_SUSPENDED", http.StatusForbidden},
		{"active", "", http.StatusOK},
		{"payment_required", "", http.StatusOK},
		{"closed", "ACCOUNT_NOT_FOUND", http.StatusNotFound},
	} {
		if step.status != "" {
			if _, err := s.svc.Domain.SetAccountStatus(ctx, "buyer", id, step.status); err != nil {
				t.Fatalf("operator sets %s: %v", step.status, err)
			}
		}
		n := creatives()
		st, errs := syncInto(byID)
		if step.code == "" {
			if st != http.StatusOK {
				t.Errorf("%s: sync answered %d %+v", step.status, st, errs)
			}
			continue
		}
		if st != step.http || len(errs) == 0 || errs[0].Code != step.code {
			t.Errorf("%s: sync answered %d %+v, want %d %s", step.status, st, errs, step.http, step.code)
		}
		if creatives() != n {
			t.Errorf("%s: a refused sync wrote creatives", step.status)
		}
	}
	// Closed is final: the operator cannot reopen it.
	if _, err := s.svc.Domain.SetAccountStatus(ctx, "buyer", id, "active"); err == nil || !strings.Contains(err.Error(), "INVALID_TRANSITION") {
		t.Errorf("closed → active: %v", err)
	}

	// Under pending approval a first natural-key use does not declare an
	// account: the buyer must use sync_accounts.
	before := s.count(`SELECT count(*) FROM accounts`)
	st, errs := syncInto(map[string]any{"brand": map[string]any{"domain": "new.example"}, "operator": "new.example"})
	if st != http.StatusNotFound || errs[0].Code != "ACCOUNT_NOT_FOUND" || !strings.Contains(errs[0].Message, "sync_accounts") {
		t.Errorf("implicit use under pending policy: %d %+v", st, errs)
	}
	if s.count(`SELECT count(*) FROM accounts`) != before {
		t.Error("a refused implicit use created an account")
	}
	// Under the active policy it does, in the sync's own transaction.
	must(t, s.svc.Store.SetAccountApproval(ctx, "buyer", creative.ApprovalActive))
	st, errs = syncInto(map[string]any{"brand": map[string]any{"domain": "new.example"}, "operator": "new.example"})
	if st != http.StatusOK {
		t.Fatalf("implicit use under active policy: %d %+v", st, errs)
	}
	var status string
	var declared bool
	must(t, s.db.QueryRow(`SELECT status, declared FROM accounts WHERE brand_domain = 'new.example'`).Scan(&status, &declared))
	if status != "active" || !declared {
		t.Errorf("implicit account: %s declared=%v", status, declared)
	}
}

func TestDeleteMissingClosesOnlyDeclaredAccounts(t *testing.T) {
	s := startIngest(t)
	_, out := s.syncAccounts(s.key, syncAccountsReq(decl("keep.example", "keep.example"), decl("drop.example", "drop.example")))
	drop := out.Accounts[1].AccountID
	req := syncAccountsReq(decl("keep.example", "keep.example"))
	req["delete_missing"] = true
	if st, out := s.syncAccounts(s.key, req); st != http.StatusOK || out.Accounts[0].Action != "unchanged" {
		t.Fatalf("delete_missing: %d %+v", st, out)
	}
	var dropped, operatorMade string
	must(t, s.db.Get(&dropped, `SELECT status FROM accounts WHERE account_id = $1`, drop))
	must(t, s.db.Get(&operatorMade, `SELECT status FROM accounts WHERE account_id = 'acct_1'`))
	if dropped != "closed" || operatorMade != "active" {
		t.Errorf("after delete_missing: declared %s, operator-made %s", dropped, operatorMade)
	}
	// Declaring a closed account again is refused per account.
	_, out = s.syncAccounts(s.key, syncAccountsReq(decl("drop.example", "drop.example")))
	if a := out.Accounts[0]; a.Action != "failed" || a.Status != "closed" || len(a.Errors) == 0 || a.Errors[0].Field != "accounts[0]" {
		t.Errorf("closed account declared again: %+v", a)
	}
}

type listAccountsOut struct {
	Accounts []struct {
		AccountID string `json:"account_id"`
		Status    string `json:"status"`
		Sandbox   bool   `json:"sandbox"`
	} `json:"accounts"`
	Pagination struct {
		HasMore    bool    `json:"has_more"`
		Cursor     *string `json:"cursor"`
		TotalCount int     `json:"total_count"`
	} `json:"pagination"`
	Errors []creative.Error `json:"errors"`
}

func (s *stack) listAccounts(key string, body any) (int, listAccountsOut) {
	s.t.Helper()
	st, b := s.do("POST", "/api/v1/accounts/list", key, jsonOf(body))
	var out listAccountsOut
	if err := json.Unmarshal(b, &out); err != nil {
		s.t.Fatalf("list_accounts answer is not JSON: %s", b)
	}
	if st == http.StatusOK {
		adcptest.Validate(s.t, listAccountsResponse, b)
	}
	return st, out
}

func TestListAccountsFiltersAndPagesOnlyTheCallers(t *testing.T) {
	s := startIngest(t)
	s.provision("other", "acct_other")
	_, out := s.syncAccounts(s.key, syncAccountsReq(decl("a.example", "a.example", "sandbox", true),
		decl("b.example", "b.example", "sandbox", true), decl("c.example", "c.example")))
	if len(out.Accounts) != 3 {
		t.Fatalf("sync: %+v", out)
	}

	// acct_1 plus three declared: four, over two pages of two and a
	// terminal one; has_more ⇔ cursor; total_count stable.
	var seen []string
	req := map[string]any{"pagination": map[string]any{"max_results": 2}}
	for page := 0; ; page++ {
		st, l := s.listAccounts(s.key, req)
		if st != http.StatusOK || l.Pagination.TotalCount != 4 {
			t.Fatalf("page %d: %d %+v", page, st, l)
		}
		if l.Pagination.HasMore != (l.Pagination.Cursor != nil) {
			t.Fatalf("page %d: has_more %v with cursor %v", page, l.Pagination.HasMore, l.Pagination.Cursor)
		}
		for _, a := range l.Accounts {
			seen = append(seen, a.AccountID)
		}
		if !l.Pagination.HasMore {
			break
		}
		req = map[string]any{"pagination": map[string]any{"max_results": 2, "cursor": *l.Pagination.Cursor}}
	}
	if len(seen) != 4 || strings.Contains(strings.Join(seen, ","), "acct_other") {
		t.Errorf("walked %v", seen)
	}

	_, l := s.listAccounts(s.key, map[string]any{"sandbox": true})
	if len(l.Accounts) != 2 || !l.Accounts[0].Sandbox {
		t.Errorf("sandbox filter: %+v", l.Accounts)
	}
	_, l = s.listAccounts(s.key, map[string]any{"account": map[string]any{"brand": map[string]any{"domain": "c.example"}, "operator": "c.example"}})
	if len(l.Accounts) != 1 || l.Accounts[0].AccountID != out.Accounts[2].AccountID {
		t.Errorf("natural-key filter: %+v", l.Accounts)
	}
	must(t, func() error {
		_, err := s.svc.Domain.SetAccountStatus(context.Background(), "buyer", "acct_1", "suspended")
		return err
	}())
	_, l = s.listAccounts(s.key, map[string]any{"status": "suspended"})
	if len(l.Accounts) != 1 || l.Accounts[0].AccountID != "acct_1" {
		t.Errorf("status filter: %+v", l.Accounts)
	}

	for _, tc := range []struct {
		body        map[string]any
		code, field string
	}{
		{map[string]any{"status": "open"}, "VALIDATION_ERROR", "status"},
		{map[string]any{"pagination": map[string]any{"cursor": "bm9wZQ"}}, "INVALID_REQUEST", "pagination.cursor"},
		{map[string]any{"pagination": map[string]any{"max_results": 0}}, "VALIDATION_ERROR", "pagination.max_results"},
	} {
		st, l := s.listAccounts(s.key, tc.body)
		if st != http.StatusBadRequest || len(l.Errors) == 0 || l.Errors[0].Code != tc.code || l.Errors[0].Field != tc.field {
			t.Errorf("%v: %d %+v", tc.body, st, l.Errors)
		}
	}

	// REST GET and MCP answer the same.
	st, b := s.do("GET", "/api/v1/accounts?sandbox=false&max_results=1", s.key, nil)
	if st != http.StatusOK || !strings.Contains(string(b), `"has_more":true`) {
		t.Errorf("GET: %d %s", st, b)
	}
	cs := s.mcpSession(s.key)
	res, body := call(t, cs, "sync_accounts", syncAccountsReq(decl("mcp.example", "mcp.example")))
	if res.IsError || !strings.Contains(string(body), `"action":"created"`) {
		t.Errorf("MCP sync_accounts: %s", body)
	}
	adcptest.Validate(t, syncAccountsResponse, body)
	res, body = call(t, cs, "sync_accounts", map[string]any{"accounts": []any{}})
	if !res.IsError || !strings.Contains(string(body), `"field":"idempotency_key"`) {
		t.Errorf("MCP sync_accounts without a key: %s", body)
	}
	res, body = call(t, cs, "list_accounts", map[string]any{"context": map[string]any{"correlation_id": "mcp"}})
	if res.IsError || !strings.Contains(string(body), `"correlation_id":"mcp"`) {
		t.Errorf("MCP list_accounts: %s", body)
	}
	adcptest.Validate(t, listAccountsResponse, body)
}

func TestForceAccountStatusIsSandboxOnlyAndFollowsTheLifecycle(t *testing.T) {
	s := startIngest(t)
	_, out := s.syncAccounts(s.key, syncAccountsReq(decl("test.example", "test.example", "sandbox", true)))
	sbx := out.Accounts[0].AccountID
	cs := s.mcpSession(s.key)
	force := func(id, status string) string {
		_, body := call(t, cs, "comply_test_controller", map[string]any{"scenario": "force_account_status",
			"params": map[string]any{"account_id": id, "status": status}})
		return string(body)
	}
	for _, step := range []struct{ status, want string }{
		{"suspended", `"current_state":"suspended"`},
		{"active", `"previous_state":"suspended"`},
		{"payment_required", `"current_state":"payment_required"`},
		{"active", `"success":true`},
		{"pending_approval", `"error":"INVALID_TRANSITION"`},
		{"closed", `"success":true`},
		{"active", `"current_state":"closed"`},
		{"asleep", `"error":"INVALID_PARAMS"`},
	} {
		if body := force(sbx, step.status); !strings.Contains(body, step.want) {
			t.Errorf("force %s: %s, want %s", step.status, body, step.want)
		}
	}
	if body := force("acct_1", "suspended"); !strings.Contains(body, `"error":"FORBIDDEN"`) {
		t.Errorf("production account: %s", body)
	}
	if body := force("acct_nope", "suspended"); !strings.Contains(body, `"error":"NOT_FOUND"`) {
		t.Errorf("unknown account: %s", body)
	}
	var status string
	must(t, s.db.Get(&status, `SELECT status FROM accounts WHERE account_id = 'acct_1'`))
	if status != "active" {
		t.Errorf("production account is %s", status)
	}
}

func TestCapabilitiesDeclareTheAccountModel(t *testing.T) {
	s := startIngest(t)
	_, b := s.do("GET", "/api/v1/capabilities", "", nil)
	var c struct {
		Account struct {
			RequireOperatorAuth *bool    `json:"require_operator_auth"`
			SupportedBilling    []string `json:"supported_billing"`
			Sandbox             bool     `json:"sandbox"`
		} `json:"account"`
		ComplianceTesting struct {
			Scenarios []string `json:"scenarios"`
		} `json:"compliance_testing"`
	}
	must(t, json.Unmarshal(b, &c))
	if c.Account.RequireOperatorAuth == nil || *c.Account.RequireOperatorAuth || len(c.Account.SupportedBilling) != 3 || !c.Account.Sandbox {
		t.Errorf("account block: %s", b)
	}
	if !strings.Contains(strings.Join(c.ComplianceTesting.Scenarios, ","), "force_account_status") {
		t.Errorf("scenarios: %v", c.ComplianceTesting.Scenarios)
	}
	adcptest.Validate(t, "protocol/get-adcp-capabilities-response.json", b)
}

func TestNotificationConfigsReplaceAsASetAndRefusePerAccount(t *testing.T) {
	s := startIngest(t)
	sub := func(id, url string, types ...any) map[string]any {
		return map[string]any{"subscriber_id": id, "url": url, "event_types": types}
	}
	withSubs := func(d map[string]any, subs ...any) map[string]any {
		d["notification_configs"] = append([]any{}, subs...)
		return d
	}
	echoed := func(body []byte) string { return string(body) }

	// Two subscribers, one with legacy HMAC: each endpoint passes the signed
	// challenge (one echoes {"challenge"}, the other the {"token"} alias), so
	// both are stored and echoed active, without credentials.
	ep := sharedEndpoint()
	hmac := sub("audit-bus", ep.URL("/token/nc-audit"), "creative.status_changed", "creative.purged")
	hmac["authentication"] = map[string]any{"schemes": []string{"HMAC-SHA256"}, "credentials": strings.Repeat("s", 40)}
	req := syncAccountsReq(withSubs(decl("subs.example", "subs.example"),
		sub("buyer-primary", ep.URL("/ok/nc-primary"), "creative.status_changed"), hmac))
	st, b := s.do("POST", "/api/v1/accounts/sync", s.key, jsonOf(req))
	if st != http.StatusOK || strings.Contains(echoed(b), strings.Repeat("s", 40)) || !strings.Contains(echoed(b), `"subscriber_id":"audit-bus"`) ||
		strings.Count(echoed(b), `"active":true`) != 2 {
		t.Fatalf("first registration: %d %s", st, b)
	}
	adcptest.Validate(t, syncAccountsResponse, b)
	var id string
	must(t, s.db.Get(&id, `SELECT account_id FROM accounts WHERE brand_domain = 'subs.example'`))
	subscribers := func() []string {
		var ids []string
		must(t, s.db.Select(&ids, `SELECT subscriber_id FROM account_notification_configs WHERE account_id = $1 ORDER BY 1`, id))
		return ids
	}
	if got := strings.Join(subscribers(), ","); got != "audit-bus,buyer-primary" {
		t.Fatalf("stored %s", got)
	}

	// Omitted: unchanged. A full array replaces the set (no merge).
	_, out := s.syncAccounts(s.key, syncAccountsReq(decl("subs.example", "subs.example")))
	if out.Accounts[0].Action != "unchanged" || len(subscribers()) != 2 {
		t.Errorf("omitted configs: %+v %v", out.Accounts[0], subscribers())
	}
	_, out = s.syncAccounts(s.key, syncAccountsReq(withSubs(decl("subs.example", "subs.example"),
		sub("dx-team", ep.URL("/ok/nc-dx"), "creative.status_changed"))))
	if out.Accounts[0].Action != "updated" || strings.Join(subscribers(), ",") != "dx-team" {
		t.Errorf("replacement: %+v %v", out.Accounts[0], subscribers())
	}

	// Refusals fail the account entry with the field named and leave the
	// previous set as it was; a good entry next to it still applies.
	for _, tc := range []struct {
		subs  []any
		field string
	}{
		{[]any{sub("a", "https://x.example/h", "scheduled")}, "accounts[0].notification_configs[0].event_types[0]"},
		{[]any{sub("a", "https://x.example/h", "creative.status_changed", "account.status_changed")}, "accounts[0].notification_configs[0].event_types[1]"},
		{[]any{sub("a", "http://x.example/h", "creative.status_changed")}, "accounts[0].notification_configs[0].url"},
		{[]any{sub("a", "https://x.example/h", "creative.status_changed"), sub("a", "https://y.example/h", "creative.purged")}, "accounts[0].notification_configs[1].subscriber_id"},
		{[]any{sub("a b", "https://x.example/h", "creative.status_changed")}, "accounts[0].notification_configs[0].subscriber_id"},
		// Proof failures: a wrong echo, an error status.
		{[]any{sub("a", ep.URL("/wrong/nc-a"), "creative.status_changed")}, "accounts[0].notification_configs[0].url"},
		{[]any{sub("ok", ep.URL("/ok/nc-b"), "creative.status_changed"), sub("a", ep.URL("/fail/nc-a"), "creative.status_changed")}, "accounts[0].notification_configs[1].url"},
	} {
		st, out := s.syncAccounts(s.key, syncAccountsReq(withSubs(decl("subs.example", "subs.example"), tc.subs...), decl("other.example", "other.example")))
		a := out.Accounts[0]
		if st != http.StatusOK || a.Action != "failed" || len(a.Errors) == 0 || a.Errors[0].Field != tc.field ||
			out.Accounts[1].Action == "failed" {
			t.Errorf("%s: %d %+v", tc.field, st, out.Accounts)
		}
		if got := strings.Join(subscribers(), ","); got != "dx-team" {
			t.Errorf("%s: a failed replacement changed the set to %s", tc.field, got)
		}
	}

	// list_accounts shows the set, credentials never; [] removes it.
	_, body := s.do("POST", "/api/v1/accounts/list", s.key, jsonOf(map[string]any{"account": map[string]any{"account_id": id}}))
	if !strings.Contains(string(body), `"subscriber_id":"dx-team"`) {
		t.Errorf("list_accounts: %s", body)
	}
	adcptest.Validate(t, listAccountsResponse, body)
	_, out = s.syncAccounts(s.key, syncAccountsReq(withSubs(decl("subs.example", "subs.example"))))
	if out.Accounts[0].Action != "updated" || len(subscribers()) != 0 {
		t.Errorf("empty set: %+v %v", out.Accounts[0], subscribers())
	}
}

// An operator's approval of a pending account is pushed to the
// push_notification_config of the sync that declared it.
func TestApprovalIsPushedToTheSyncsNotificationConfig(t *testing.T) {
	s := startIngest(t)
	ctx := context.Background()
	must(t, s.svc.Store.SetAccountApproval(ctx, "buyer", creative.ApprovalPending))
	req := syncAccountsReq(decl("pending.example", "agency.example"))
	req["push_notification_config"] = map[string]any{"url": "https://buyer.example/hooks/accounts", "token": "0123456789abcdef"}
	_, out := s.syncAccounts(s.key, req)
	id := out.Accounts[0].AccountID
	if out.Accounts[0].Status != "pending_approval" {
		t.Fatalf("sync: %+v", out.Accounts[0])
	}
	if _, err := s.svc.Domain.SetAccountStatus(ctx, "buyer", id, "active"); err != nil {
		t.Fatal(err)
	}
	servicetest.EventuallyTrue(t, within, "the approval notification", func() bool { return s.bk.Count("notification_requested_v1") == 1 })
	var note events.NotificationRequestedV1
	s.lastEvent("notification_requested_v1", &note)
	var body creative.AccountNotification
	must(t, json.Unmarshal(note.Payload, &body))
	if note.Kind != "account_status" || note.URL != "https://buyer.example/hooks/accounts" || note.Token != "0123456789abcdef" ||
		body.AccountID != id || body.Status != "active" || body.Brand.Domain != "pending.example" || body.Operator != "agency.example" ||
		body.IdempotencyKey != note.IdempotencyKey {
		t.Errorf("notification %+v payload %+v", note, body)
	}
	// Without a push config nothing is sent.
	if _, err := s.svc.Domain.SetAccountStatus(ctx, "buyer", "acct_1", "suspended"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the outbox polls every 10 ms
	if n := s.bk.Count("notification_requested_v1"); n != 1 {
		t.Errorf("%d notifications", n)
	}
}

// The challenge is what AdCP specifies: signed with the key ingest
// publishes, naming the registration, and repeated only when the
// registration changes.
func TestSubscriberChallengeIsSignedAndScopedToTheRegistration(t *testing.T) {
	s := startIngest(t)
	ep := sharedEndpoint()
	path := "/ok/challenge-" + s.bk.Prefix
	d := decl("challenge.example", "challenge.example")
	d["notification_configs"] = []any{map[string]any{"subscriber_id": "primary", "url": ep.URL(path), "event_types": []string{"creative.status_changed"}}}
	_, out := s.syncAccounts(s.key, syncAccountsReq(d))
	reqs := ep.Requests(path)
	if out.Accounts[0].Action != "created" || len(reqs) != 1 {
		t.Fatalf("sync: %+v, %d challenges", out.Accounts[0], len(reqs))
	}
	s.verifyWithJWKS(t, ep.URL(path), reqs[0])
	var c map[string]any
	must(t, json.Unmarshal(reqs[0].Body, &c))
	if c["type"] != "webhook.challenge" || c["account_id"] != out.Accounts[0].AccountID || c["subscriber_id"] != "primary" ||
		c["seller_agent_url"] != agentURL || len(c["challenge"].(string)) < 16 ||
		c["delivery_auth"].(map[string]any)["mode"] != "rfc9421" {
		t.Errorf("challenge body: %v", c)
	}
	// A retry with the same key replays the answer without challenging
	// again, even when the proof failed the first time.
	wrong := "/wrong/replay-" + s.bk.Prefix
	rd := decl("replay.example", "replay.example")
	rd["notification_configs"] = []any{map[string]any{"subscriber_id": "r", "url": ep.URL(wrong), "event_types": []string{"creative.status_changed"}}}
	first := syncAccountsReq(rd)
	if _, out := s.syncAccounts(s.key, first); out.Accounts[0].Action != "failed" || len(ep.Requests(wrong)) != 1 {
		t.Fatalf("first: %+v, %d challenges", out, len(ep.Requests(wrong)))
	}
	if _, again := s.syncAccounts(s.key, first); !again.Replayed || len(ep.Requests(wrong)) != 1 {
		t.Errorf("replay: %+v, %d challenges", again, len(ep.Requests(wrong)))
	}
	// The same registration again keeps its proof: no new challenge.
	if _, out = s.syncAccounts(s.key, syncAccountsReq(d)); out.Accounts[0].Action != "unchanged" || len(ep.Requests(path)) != 1 {
		t.Errorf("resend: %+v, %d challenges", out.Accounts[0], len(ep.Requests(path)))
	}
	// Changed event types need a fresh proof.
	d["notification_configs"] = []any{map[string]any{"subscriber_id": "primary", "url": ep.URL(path),
		"event_types": []string{"creative.status_changed", "creative.purged"}}}
	if _, out = s.syncAccounts(s.key, syncAccountsReq(d)); out.Accounts[0].Action != "updated" || len(ep.Requests(path)) != 2 {
		t.Errorf("changed event types: %+v, %d challenges", out.Accounts[0], len(ep.Requests(path)))
	}
	// A dry run challenges nothing.
	dry := syncAccountsReq(decl("dry-challenge.example", "dry-challenge.example"))
	dry["accounts"].([]any)[0].(map[string]any)["notification_configs"] = []any{map[string]any{"subscriber_id": "x",
		"url": ep.URL(path + "-dry"), "event_types": []string{"creative.status_changed"}}}
	dry["dry_run"] = true
	s.syncAccounts(s.key, dry)
	if n := len(ep.Requests(path + "-dry")); n != 0 {
		t.Errorf("dry run sent %d challenges", n)
	}
}
