package creative

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"example.com/creativesync/events"
)

// This file is the accounts side of AdCP 3.0 (sync_accounts, list_accounts):
// buyer-declared accounts keyed by their natural key (brand, operator,
// sandbox) under the calling principal, the account status lifecycle and
// the gate it puts on work.

// Account statuses (enums/account-status.json).
const (
	AccountActive          = "active"
	AccountPendingApproval = "pending_approval"
	AccountRejected        = "rejected"
	AccountPaymentRequired = "payment_required"
	AccountSuspended       = "suspended"
	AccountClosed          = "closed"
)

// AccountStatuses are every account status, in the enum's order.
var AccountStatuses = []string{AccountActive, AccountPendingApproval, AccountRejected, AccountPaymentRequired, AccountSuspended, AccountClosed}

// accountTransitions is the account lifecycle (accounts overview): pending
// approval is decided once, active may lapse into payment_required or be
// suspended, suspension is lifted or made permanent, rejected and closed
// are terminal.
var accountTransitions = map[string][]string{
	AccountPendingApproval: {AccountActive, AccountRejected},
	AccountActive:          {AccountPaymentRequired, AccountSuspended, AccountClosed},
	AccountPaymentRequired: {AccountActive, AccountSuspended, AccountClosed},
	AccountSuspended:       {AccountActive, AccountClosed},
}

// CanTransitionAccount reports whether the lifecycle allows from → to.
func CanTransitionAccount(from, to string) bool {
	return slices.Contains(accountTransitions[from], to)
}

// Billing parties (enums/billing-party.json). This seller records which
// party the buyer names and accepts all three: it invoices nothing itself.
var BillingParties = []string{"operator", "agent", "advertiser"}

// PaymentTerms are enums/payment-terms.json.
var PaymentTerms = []string{"net_15", "net_30", "net_45", "net_60", "net_90", "prepay"}

// Approval policies: whether a principal's newly declared accounts are
// active at once or wait for an operator (`ingest admin set-account-status`).
const (
	ApprovalActive  = AccountActive
	ApprovalPending = AccountPendingApproval
)

// Additional AdCP error codes of the accounts protocol.
const (
	CodeAccountSetupRequired   = "ACCOUNT_SETUP_REQUIRED"
	CodeAccountPaymentRequired = "ACCOUNT_PAYMENT_REQUIRED"
)

// MaxAccountsPerSync is sync-accounts-request.json's bound.
const MaxAccountsPerSync = 1000

// AccountDecl is one accounts[] entry of sync_accounts, decoded.
type AccountDecl struct {
	Index        int
	BrandDomain  string
	BrandID      string
	Operator     string
	Sandbox      bool
	Billing      string
	PaymentTerms string
	// Subscribers is notification_configs: nil leaves the account's set
	// unchanged, empty removes every subscriber, otherwise it replaces the
	// set.
	Subscribers *[]Subscriber
	// Errors are per-account problems (notification_configs): the entry
	// fails and nothing of it is applied.
	Errors []Error
}

// Key is the entry's natural key.
func (d AccountDecl) Key() AccountRef {
	return AccountRef{BrandDomain: d.BrandDomain, BrandID: d.BrandID, Operator: d.Operator, Sandbox: d.Sandbox}
}

// SyncAccountsCommand is a decoded sync_accounts request.
type SyncAccountsCommand struct {
	Accounts       []AccountDecl
	DeleteMissing  bool
	DryRun         bool
	IdempotencyKey string
	RequestHash    string
	Push           *PushConfig
	Context        json.RawMessage
}

// BrandRef is core/brand-ref.json as far as we keep it.
type BrandRef struct {
	Domain  string `json:"domain"`
	BrandID string `json:"brand_id,omitempty"`
}

// AccountSetup tells a buyer what a pending account waits for.
type AccountSetup struct {
	Message string `json:"message"`
}

// AccountResult is one item of sync_accounts' accounts[].
type AccountResult struct {
	AccountID    string        `json:"account_id,omitempty"`
	Brand        BrandRef      `json:"brand"`
	Operator     string        `json:"operator"`
	Name         string        `json:"name,omitempty"`
	Action       string        `json:"action"`
	Status       string        `json:"status"`
	Billing      string        `json:"billing,omitempty"`
	AccountScope string        `json:"account_scope,omitempty"`
	PaymentTerms string        `json:"payment_terms,omitempty"`
	Setup        *AccountSetup `json:"setup,omitempty"`
	Sandbox      bool          `json:"sandbox,omitempty"`
	// NotificationConfigs is the persisted subscriber set after the sync,
	// credentials omitted (present when the request sent one or any exist).
	NotificationConfigs []SubscriberView `json:"notification_configs,omitempty"`
	Errors              []Error          `json:"errors,omitempty"`
	Warnings            []string         `json:"warnings,omitempty"`
}

// SyncAccountsResponse is sync_accounts' success branch.
type SyncAccountsResponse struct {
	Accounts []AccountResult `json:"accounts"`
	DryRun   bool            `json:"dry_run,omitempty"`
	Replayed bool            `json:"replayed,omitempty"`
	Context  json.RawMessage `json:"context,omitempty"`
}

// pendingSetup is what a pending_approval account tells the buyer.
var pendingSetup = &AccountSetup{Message: "The seller approves new accounts before they can be used; poll list_accounts until the status is active."}

// accountScope is how this seller scopes every account: one per brand and
// operator pair (enums/account-scope.json).
const accountScope = "operator_brand"

// AccountWrites is what a planned sync_accounts writes.
type AccountWrites struct {
	// Upserts are created or changed accounts (all columns written).
	Upserts []Account
	// Closed are the ids delete_missing deactivates.
	Closed []string
	// Subscribers replaces the whole subscriber set of each account named.
	Subscribers map[string][]Subscriber
}

// accountEnv is what planning takes from outside: the clock, new ids (or
// the ids already chosen for new natural keys, see SyncAccounts) and the
// proofs subscribers passed before the transaction.
type accountEnv struct {
	Now    time.Time
	NewID  func(string) string
	IDs    map[AccountRef]string
	Proven map[string]time.Time // by proofKey
}

// prove marks the subscribers whose registration was just proven.
func (e accountEnv) prove(accountID string, subs []Subscriber) []Subscriber {
	for i, s := range subs {
		if at, ok := e.Proven[proofKey(accountID, s.SubscriberID)]; ok && s.ProvenAt == nil {
			subs[i].ProvenAt = &at
		}
	}
	return subs
}

// accountPlan is the pure outcome of planning a sync_accounts request.
type accountPlan struct {
	Writes   AccountWrites
	Response SyncAccountsResponse
}

// planAccounts decides every entry of cmd against existing (the principal's
// accounts, by id) as pure code: create under the principal's approval
// policy, update what changed, report unchanged, refuse terminal accounts,
// and, with delete_missing, close the principal's declared accounts the
// request leaves out.
func planAccounts(p Principal, cmd SyncAccountsCommand, existing []Account, env accountEnv) accountPlan {
	now := env.Now
	byKey := make(map[AccountRef]Account, len(existing))
	for _, a := range existing {
		if a.BrandDomain != "" {
			byKey[a.Key()] = a
		}
	}
	var plan accountPlan
	plan.Response.Accounts = make([]AccountResult, 0, len(cmd.Accounts))
	named := make(map[AccountRef]bool, len(cmd.Accounts))
	for _, d := range cmd.Accounts {
		named[d.Key()] = true
		res := AccountResult{Brand: BrandRef{Domain: d.BrandDomain, BrandID: d.BrandID}, Operator: d.Operator,
			Billing: d.Billing, Sandbox: d.Sandbox, AccountScope: accountScope, PaymentTerms: d.PaymentTerms}
		cur, found := byKey[d.Key()]
		switch {
		case len(d.Errors) > 0:
			res.Action, res.Status, res.Errors = ActionFailed, AccountRejected, d.Errors
			if found {
				res.AccountID, res.Name, res.Status = cur.ID, cur.Name, cur.Status
				res.NotificationConfigs = subscriberViews(cur.Subscribers)
			}
		case !found:
			id := env.IDs[d.Key()]
			if id == "" {
				id = env.NewID("acct_")
			}
			a := Account{ID: id, PrincipalID: p.ID, Name: accountName(d), BrandDomain: d.BrandDomain,
				BrandID: d.BrandID, Operator: d.Operator, Sandbox: d.Sandbox, Status: p.AccountApproval,
				Billing: d.Billing, PaymentTerms: d.PaymentTerms, Declared: true, Push: cmd.Push, UpdatedAt: now}
			if a.Status == "" {
				a.Status = ApprovalActive
			}
			plan.Writes.Upserts = append(plan.Writes.Upserts, a)
			res.Action, res.AccountID, res.Name, res.Status = ActionCreated, a.ID, a.Name, a.Status
			if d.Subscribers != nil {
				plan.setSubscribers(a.ID, env.prove(a.ID, replaceSubscribers(nil, *d.Subscribers)))
				res.NotificationConfigs = subscriberViews(plan.Writes.Subscribers[a.ID])
			}
		case cur.Status == AccountRejected || cur.Status == AccountClosed:
			res.Action, res.AccountID, res.Name, res.Status = ActionFailed, cur.ID, cur.Name, cur.Status
			res.Billing, res.PaymentTerms = cur.Billing, cur.PaymentTerms
			res.Errors = []Error{{Code: CodeAccountNotFound, Field: fmt.Sprintf("accounts[%d]", d.Index), Recovery: RecoveryOf(CodeAccountNotFound),
				Message: fmt.Sprintf("account %s is %s, which is final; it cannot be declared again", cur.ID, cur.Status)}}
		default:
			next := cur
			next.Billing, next.PaymentTerms, next.Declared = d.Billing, d.PaymentTerms, true
			if cmd.Push != nil {
				next.Push = cmd.Push
			}
			res.AccountID, res.Name, res.Status = cur.ID, cur.Name, cur.Status
			subs, subsChanged := cur.Subscribers, false
			if d.Subscribers != nil {
				subs = env.prove(cur.ID, replaceSubscribers(cur.Subscribers, *d.Subscribers))
				subsChanged = !subscribersEqual(subs, cur.Subscribers)
			}
			res.NotificationConfigs = subscriberViews(subs)
			accountChanged := next.Billing != cur.Billing || next.PaymentTerms != cur.PaymentTerms || next.Declared != cur.Declared ||
				!pushEqual(next.Push, cur.Push)
			if accountChanged {
				next.UpdatedAt = now
				plan.Writes.Upserts = append(plan.Writes.Upserts, next)
			}
			if subsChanged {
				plan.setSubscribers(cur.ID, subs)
			}
			res.Action = ActionUnchanged
			if accountChanged || subsChanged {
				res.Action = ActionUpdated
			}
		}
		if res.Status == AccountPendingApproval {
			res.Setup = pendingSetup
		}
		plan.Response.Accounts = append(plan.Response.Accounts, res)
	}
	if cmd.DeleteMissing {
		for _, a := range existing {
			if a.Declared && !named[a.Key()] && CanTransitionAccount(a.Status, AccountClosed) {
				plan.Writes.Closed = append(plan.Writes.Closed, a.ID)
			}
		}
	}
	return plan
}

func (p *accountPlan) setSubscribers(accountID string, subs []Subscriber) {
	if p.Writes.Subscribers == nil {
		p.Writes.Subscribers = map[string][]Subscriber{}
	}
	if subs == nil {
		subs = []Subscriber{}
	}
	p.Writes.Subscribers[accountID] = subs
}

// accountName is the display name of a declared account.
func accountName(d AccountDecl) string {
	brand := d.BrandDomain
	if d.BrandID != "" {
		brand += " (" + d.BrandID + ")"
	}
	if d.Operator == d.BrandDomain {
		return brand
	}
	return brand + " c/o " + d.Operator
}

func pushEqual(a, b *PushConfig) bool {
	if a == nil || b == nil {
		return a == b
	}
	// Marshalling plain strings cannot fail.
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// SyncAccounts runs sync_accounts for principal p: one transaction that
// claims the idempotency key, locks and reads p's accounts, applies the
// plan in a constant number of statements and saves the response.
func (s *Service) SyncAccounts(ctx context.Context, p Principal, cmd SyncAccountsCommand) (SyncAccountsResponse, error) {
	protect := cmd.IdempotencyKey != "" && !cmd.DryRun
	env, err := s.proveSubscribers(ctx, p, &cmd)
	if err != nil {
		return SyncAccountsResponse{}, err
	}
	var resp SyncAccountsResponse
	err = s.store.InTx(ctx, func(tx Tx) error {
		now := s.now()
		if protect {
			prior, err := tx.ClaimIdempotencyKey(ctx, IdempotencyRecord{
				PrincipalID: p.ID, Key: cmd.IdempotencyKey, RequestHash: cmd.RequestHash, CreatedAt: now, ExpiresAt: now.Add(s.ttl)})
			if err != nil {
				return err
			}
			if prior != nil {
				stored, err := checkReplay(*prior, cmd.RequestHash, now)
				if err != nil {
					return err
				}
				resp = SyncAccountsResponse{}
				if err := json.Unmarshal(stored, &resp); err != nil {
					return fmt.Errorf("stored idempotent response of key %s: %w", prior.Key, err)
				}
				resp.Replayed = true
				return nil
			}
		}
		existing, err := tx.LockAccounts(ctx, p.ID)
		if err != nil {
			return err
		}
		env.Now = now
		plan := planAccounts(p, cmd, existing, env)
		resp = plan.Response
		if cmd.DryRun {
			resp.DryRun = true
			return nil
		}
		if err := tx.CommitAccounts(ctx, p.ID, plan.Writes); err != nil {
			return err
		}
		if !protect {
			return nil
		}
		stored, err := json.Marshal(resp)
		if err != nil {
			return fmt.Errorf("encoding the idempotency record: %w", err)
		}
		return tx.SaveIdempotencyResponse(ctx, IdempotencyRecord{PrincipalID: p.ID, Key: cmd.IdempotencyKey, Response: stored})
	})
	if err != nil {
		return SyncAccountsResponse{}, err
	}
	resp.Context = cmd.Context
	return resp, nil
}

// proveSubscribers challenges, before the transaction (network I/O never
// holds locks), every subscriber the request would make active without a
// current proof. New accounts get their ids here so the challenge names the
// id they will have. A failed proof fails that account entry with the url
// named, and its previous set stays. A dry run challenges nothing.
func (s *Service) proveSubscribers(ctx context.Context, p Principal, cmd *SyncAccountsCommand) (accountEnv, error) {
	env := accountEnv{NewID: newID, IDs: map[AccountRef]string{}, Proven: map[string]time.Time{}}
	if cmd.DryRun || s.prover == nil {
		return env, nil
	}
	// A retry of a request that already ran replays its answer (or is a
	// conflict) in the transaction; it must not challenge anyone again.
	if cmd.IdempotencyKey != "" {
		used, err := s.store.IdempotencyKeyUsed(ctx, p.ID, "", cmd.IdempotencyKey)
		if err != nil || used {
			return env, err
		}
	}
	var pending []int
	for i, d := range cmd.Accounts {
		if d.Subscribers != nil && len(d.Errors) == 0 {
			pending = append(pending, i)
		}
	}
	if len(pending) == 0 {
		return env, nil
	}
	existing, err := s.store.Accounts(ctx, p.ID)
	if err != nil {
		return env, err
	}
	draft := planAccounts(p, *cmd, existing, accountEnv{Now: s.now(), NewID: newID})
	byKey := map[AccountRef]Account{}
	for _, a := range existing {
		byKey[a.Key()] = a
	}
	for _, i := range pending {
		d := &cmd.Accounts[i]
		res := draft.Response.Accounts[i]
		if res.Action == ActionFailed {
			continue
		}
		if res.Action == ActionCreated {
			env.IDs[d.Key()] = res.AccountID
		}
		subs := replaceSubscribers(byKey[d.Key()].Subscribers, *d.Subscribers)
		for j, sub := range subs {
			if !sub.Active || sub.ProvenAt != nil {
				continue
			}
			c := Challenge{AccountID: res.AccountID, SubscriberID: sub.SubscriberID, URL: sub.URL, EventTypes: sub.EventTypes}
			if sub.Auth != nil && len(sub.Auth.Schemes) == 1 {
				c.AuthScheme = sub.Auth.Schemes[0]
			}
			if err := s.prover.Prove(ctx, c); err != nil {
				field := fmt.Sprintf("accounts[%d].notification_configs[%d].url", d.Index, j)
				d.Errors = append(d.Errors, Error{Code: CodeValidation, Field: field, Recovery: RecoveryOf(CodeValidation),
					Message: "the endpoint did not prove control with the signed webhook.challenge: " + err.Error()})
				continue
			}
			env.Proven[proofKey(res.AccountID, sub.SubscriberID)] = s.now()
		}
	}
	return env, nil
}

// AccountsQuery is a decoded list_accounts request.
type AccountsQuery struct {
	PrincipalID string
	Account     *AccountRef
	Status      string
	Sandbox     *bool
	Limit       int
	// After is the account id the previous page ended with.
	After   string
	Context json.RawMessage
}

// ListedAccount is core/account.json as this seller fills it.
type ListedAccount struct {
	AccountID    string        `json:"account_id"`
	Name         string        `json:"name"`
	Status       string        `json:"status"`
	Brand        *BrandRef     `json:"brand,omitempty"`
	Operator     string        `json:"operator,omitempty"`
	Billing      string        `json:"billing,omitempty"`
	AccountScope string        `json:"account_scope,omitempty"`
	PaymentTerms string        `json:"payment_terms,omitempty"`
	Setup        *AccountSetup `json:"setup,omitempty"`
	Sandbox      bool          `json:"sandbox,omitempty"`
	// NotificationConfigs is the account's subscriber set, credentials
	// omitted (present when it has any).
	NotificationConfigs []SubscriberView `json:"notification_configs,omitempty"`
}

// AccountsPagination is core/pagination-response.json for list_accounts.
type AccountsPagination struct {
	HasMore    bool   `json:"has_more"`
	Cursor     string `json:"cursor,omitempty"`
	TotalCount int    `json:"total_count"`
}

// ListAccountsResponse is list_accounts' response.
type ListAccountsResponse struct {
	Accounts   []ListedAccount    `json:"accounts"`
	Pagination AccountsPagination `json:"pagination"`
	Context    json.RawMessage    `json:"context,omitempty"`
}

// AccountsPage is one page of accounts from the store.
type AccountsPage struct {
	Accounts []Account
	Total    int
	HasMore  bool
}

// ListAccounts answers list_accounts: only p's accounts, ordered by id (a
// stable key, so a cursor is just the last id of the page).
func (s *Service) ListAccounts(ctx context.Context, p Principal, q AccountsQuery) (ListAccountsResponse, error) {
	q.PrincipalID = p.ID
	if q.Limit <= 0 {
		q.Limit = 50
	}
	page, err := s.store.ListAccounts(ctx, q)
	if err != nil {
		return ListAccountsResponse{}, err
	}
	resp := ListAccountsResponse{Accounts: make([]ListedAccount, 0, len(page.Accounts)), Context: q.Context,
		Pagination: AccountsPagination{HasMore: page.HasMore, TotalCount: page.Total}}
	for _, a := range page.Accounts {
		resp.Accounts = append(resp.Accounts, listedAccount(a))
	}
	if page.HasMore && len(page.Accounts) > 0 {
		resp.Pagination.Cursor = AccountCursor(page.Accounts[len(page.Accounts)-1].ID)
	}
	return resp, nil
}

func listedAccount(a Account) ListedAccount {
	l := ListedAccount{AccountID: a.ID, Name: a.Name, Status: a.Status, Operator: a.Operator, Billing: a.Billing,
		AccountScope: accountScope, PaymentTerms: a.PaymentTerms, Sandbox: a.Sandbox,
		NotificationConfigs: subscriberViews(a.Subscribers)}
	if l.Name == "" {
		l.Name = a.ID
	}
	if a.BrandDomain != "" {
		l.Brand = &BrandRef{Domain: a.BrandDomain, BrandID: a.BrandID}
	}
	if a.Status == AccountPendingApproval {
		l.Setup = pendingSetup
	}
	return l
}

// accountCursorTag marks list_accounts cursors, so a list_creatives cursor
// is not mistaken for one.
const accountCursorTag = "accounts:"

// AccountCursor is the opaque list_accounts cursor: the last account id of
// a page.
func AccountCursor(lastID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(accountCursorTag + lastID))
}

// ParseAccountCursor reads a cursor AccountCursor made.
func ParseAccountCursor(s string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	id, ok := strings.CutPrefix(string(b), accountCursorTag)
	if err != nil || !ok || id == "" {
		return "", errors.New("not a list_accounts cursor this seller issued")
	}
	return id, nil
}

// gateWrite refuses work that changes an account's library unless the
// account's status allows it (accounts overview, "Operations by Account
// Status": sync_creatives runs on active and payment_required accounts).
func gateWrite(a Account) error {
	switch a.Status {
	case AccountActive, AccountPaymentRequired:
		return nil
	case AccountPendingApproval:
		return Reject(CodeAccountSetupRequired, "account",
			fmt.Sprintf("account %s is pending approval; poll list_accounts until it is active", a.ID))
	case AccountSuspended:
		return Reject(CodeAccountSuspended, "account", fmt.Sprintf("account %s is suspended", a.ID))
	default: // rejected, closed: terminal, reported like a missing account
		return Reject(CodeAccountNotFound, "account", fmt.Sprintf("account %s is %s", a.ID, a.Status))
	}
}

// ForceAccountStatus moves one of p's sandbox accounts along the account
// lifecycle (comply_test_controller force_account_status) and returns the
// previous status.
func (s *Service) ForceAccountStatus(ctx context.Context, p Principal, accountID, status string) (string, error) {
	if !slices.Contains(AccountStatuses, status) {
		return "", controllerErr(ControllerInvalidParams, "params.status must be one of %v", AccountStatuses)
	}
	a, err := s.store.AccountByID(ctx, p.ID, accountID)
	if errors.Is(err, ErrNotFound) {
		return "", controllerErr(ControllerNotFound, "account %s not found among your accounts", accountID)
	}
	if err != nil {
		return "", err
	}
	if !s.controls(a) {
		return "", controllerErr(ControllerForbidden, "account %s is not a sandbox account; comply_test_controller only acts on sandbox accounts", a.ID)
	}
	return s.SetAccountStatus(ctx, p.ID, accountID, status)
}

// SetAccountStatus moves an account of principalID along the lifecycle
// (an operator's approval, or the test controller). A forbidden edge is
// INVALID_TRANSITION with the current state. When the sync that declared
// the account gave a push_notification_config, the change is sent there
// (sync_accounts' async notification: brand, operator, status, account_id)
// in the same transaction.
func (s *Service) SetAccountStatus(ctx context.Context, principalID, accountID, status string) (string, error) {
	var previous string
	err := s.store.InTx(ctx, func(tx Tx) error {
		a, err := tx.AccountForUpdate(ctx, principalID, accountID)
		if errors.Is(err, ErrNotFound) {
			return controllerErr(ControllerNotFound, "account %s not found", accountID)
		}
		if err != nil {
			return err
		}
		previous = a.Status
		if a.Status == status {
			return nil
		}
		if !CanTransitionAccount(a.Status, status) {
			return &ControllerError{Code: ControllerInvalidTransition, CurrentState: a.Status,
				Detail: fmt.Sprintf("account %s cannot go from %s to %s", accountID, a.Status, status)}
		}
		now := s.now()
		if err := tx.SetAccountStatus(ctx, accountID, status, now); err != nil {
			return err
		}
		if a.Push == nil {
			return nil
		}
		a.Status = status
		ev, err := accountWebhook(a, now, "")
		if err != nil {
			return err
		}
		return tx.Publish(ctx, ev)
	})
	return previous, err
}

// AccountNotification is the body sync_accounts' push_notification_config
// receives when an account's status changes.
type AccountNotification struct {
	IdempotencyKey string    `json:"idempotency_key"`
	AccountID      string    `json:"account_id"`
	Brand          BrandRef  `json:"brand"`
	Operator       string    `json:"operator"`
	Status         string    `json:"status"`
	Timestamp      time.Time `json:"timestamp"`
}

func accountWebhook(a Account, now time.Time, correlationID string) (*events.NotificationRequestedV1, error) {
	key := newID("whk_")
	body, err := json.Marshal(AccountNotification{IdempotencyKey: key, AccountID: a.ID,
		Brand: BrandRef{Domain: a.BrandDomain, BrandID: a.BrandID}, Operator: a.Operator, Status: a.Status, Timestamp: now})
	if err != nil {
		return nil, fmt.Errorf("encoding the status notification of account %s: %w", a.ID, err)
	}
	ev := &events.NotificationRequestedV1{
		Header:         events.Header{EventID: newEventID(), CorrelationID: correlationID, OccurredAt: now},
		IdempotencyKey: key, AccountID: a.ID, Kind: "account_status", URL: a.Push.URL, Token: a.Push.Token, Payload: body,
	}
	if au := a.Push.Authentication; au != nil && len(au.Schemes) == 1 {
		ev.Auth = &events.WebhookAuth{Scheme: au.Schemes[0], Credentials: au.Credentials}
	}
	return ev, nil
}
