package adcp

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"example.com/creativesync/services/ingest/internal/creative"
)

var (
	// domainPattern is brand-ref.json's domain and the operator's pattern.
	domainPattern  = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)
	brandIDPattern = regexp.MustCompile(`^[a-z0-9_]+$`)
)

// DecodeSyncAccounts decodes a sync_accounts body (3.0.6
// account/sync-accounts-request.json). Every structural problem, request
// level or in one entry, refuses the whole request with each field named:
// an entry that cannot be read cannot be echoed as a per-account failure.
// Per-account results are for what only the store can tell (a final
// account).
func DecodeSyncAccounts(body []byte) (creative.SyncAccountsCommand, error) {
	var cmd creative.SyncAccountsCommand
	raw, err := Object(body)
	if err != nil {
		return cmd, err
	}
	d := &fields{raw: raw}
	if _, verr := d.majorVersion(); verr != nil {
		return cmd, verr
	}
	cmd.Context = d.context()
	if d.str("idempotency_key", &cmd.IdempotencyKey, true) && cmd.IdempotencyKey != "" &&
		!idempotencyKeyPattern.MatchString(cmd.IdempotencyKey) {
		d.bad(creative.CodeInvalidRequest, "idempotency_key",
			"idempotency_key must be 16-255 characters of A-Z a-z 0-9 _ . : - (use a fresh UUID per request)")
	}
	d.boolean("delete_missing", &cmd.DeleteMissing)
	d.boolean("dry_run", &cmd.DryRun)
	if v, ok := d.has("push_notification_config"); ok {
		pc, perr := decodePushConfig(v)
		if perr != nil {
			d.errs = append(d.errs, *perr)
		} else {
			cmd.Push = pc
		}
	}
	var entries []json.RawMessage
	if v, ok := d.has("accounts"); !ok {
		d.bad(creative.CodeInvalidRequest, "accounts", "accounts is required: [{brand, operator, billing}, …]")
	} else if json.Unmarshal(v, &entries) != nil {
		d.bad(creative.CodeValidation, "accounts", "accounts must be an array of account entries")
	} else if len(entries) == 0 && !cmd.DeleteMissing {
		d.bad(creative.CodeValidation, "accounts", "accounts is empty; send at least one entry (or delete_missing)")
	} else if len(entries) > creative.MaxAccountsPerSync {
		d.bad(creative.CodeValidation, "accounts", fmt.Sprintf("at most %d accounts per request", creative.MaxAccountsPerSync))
	} else {
		seen := make(map[creative.AccountRef]int, len(entries))
		for i, e := range entries {
			decl, errs := decodeAccountDecl(i, e)
			d.errs = append(d.errs, errs...)
			if len(errs) > 0 {
				continue
			}
			if j, dup := seen[decl.Key()]; dup {
				d.bad(creative.CodeValidation, fmt.Sprintf("accounts[%d]", i),
					fmt.Sprintf("accounts[%d] declares the same brand, operator and sandbox as accounts[%d]", i, j))
				continue
			}
			seen[decl.Key()] = i
			cmd.Accounts = append(cmd.Accounts, decl)
		}
	}
	if err := d.err(); err != nil {
		return cmd, err
	}
	h, herr := requestHash(raw, cmd.Push)
	if herr != nil {
		return cmd, invalid(creative.CodeInvalidRequest, "", "request cannot be canonicalised for idempotency: "+herr.Error())
	}
	cmd.RequestHash = h
	return cmd, nil
}

// decodeAccountDecl reads one provisioning-mode entry. The settings-update
// shape ({account: …}) is refused: this seller provisions by natural key.
func decodeAccountDecl(i int, v json.RawMessage) (creative.AccountDecl, []Error) {
	path := fmt.Sprintf("accounts[%d]", i)
	decl := creative.AccountDecl{Index: i}
	var m map[string]json.RawMessage
	if json.Unmarshal(v, &m) != nil || m == nil {
		return decl, []Error{{Code: creative.CodeValidation, Field: path, Message: path + " must be an object {brand, operator, billing}"}}
	}
	if _, ok := m["account"]; ok {
		return decl, []Error{{Code: "UNSUPPORTED_PROVISIONING", Field: path + ".account",
			Message: "settings-update entries ({account}) are not supported; declare accounts by brand, operator and billing"}}
	}
	var errs []Error
	bad := func(code, field, msg string) {
		errs = append(errs, Error{Code: code, Field: path + "." + field, Message: msg})
	}
	var brand struct {
		Domain  *string `json:"domain"`
		BrandID *string `json:"brand_id"`
	}
	switch bv, ok := m["brand"]; {
	case !ok || isNull(bv):
		bad(creative.CodeInvalidRequest, "brand", "brand is required: {domain, brand_id?}")
	case json.Unmarshal(bv, &brand) != nil || brand.Domain == nil:
		bad(creative.CodeValidation, "brand", "brand must be {domain, brand_id?}")
	case !domainPattern.MatchString(*brand.Domain):
		bad(creative.CodeValidation, "brand.domain", "brand.domain must be a lower-case domain name (e.g. acme-corp.com)")
	default:
		decl.BrandDomain = *brand.Domain
		if brand.BrandID != nil {
			if !brandIDPattern.MatchString(*brand.BrandID) {
				bad(creative.CodeValidation, "brand.brand_id", "brand.brand_id must be lower-case letters, digits and underscores")
			}
			decl.BrandID = *brand.BrandID
		}
	}
	str := func(name string, dst *string, required bool, allowed []string, pattern *regexp.Regexp) {
		fv, ok := m[name]
		if !ok || isNull(fv) {
			if required {
				bad(creative.CodeInvalidRequest, name, name+" is required")
			}
			return
		}
		if json.Unmarshal(fv, dst) != nil {
			bad(creative.CodeValidation, name, name+" must be a string")
			return
		}
		if allowed != nil && !slices.Contains(allowed, *dst) {
			bad(creative.CodeValidation, name, name+" must be one of "+strings.Join(allowed, ", "))
		}
		if pattern != nil && !pattern.MatchString(*dst) {
			bad(creative.CodeValidation, name, name+" must be a lower-case domain name (the brand's own domain when it buys direct)")
		}
	}
	str("operator", &decl.Operator, true, nil, domainPattern)
	str("billing", &decl.Billing, true, creative.BillingParties, nil)
	str("payment_terms", &decl.PaymentTerms, false, creative.PaymentTerms, nil)
	if sv, ok := m["sandbox"]; ok && !isNull(sv) && json.Unmarshal(sv, &decl.Sandbox) != nil {
		bad(creative.CodeValidation, "sandbox", "sandbox must be true or false")
	}
	for j := range errs {
		errs[j].Recovery = creative.RecoveryOf(errs[j].Code)
	}
	if v, ok := m["notification_configs"]; ok && !isNull(v) && len(errs) == 0 {
		// notification_configs problems fail this account only (AdCP names
		// them per-account validation failures), so they stay on the entry.
		subs, serrs := decodeSubscribers(path+".notification_configs", v)
		decl.Subscribers, decl.Errors = &subs, serrs
	}
	return decl, errs
}

var subscriberIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// decodeSubscribers reads notification_configs[]: each problem is named by
// its field (…notification_configs[1].event_types[0]).
func decodeSubscribers(path string, v json.RawMessage) ([]creative.Subscriber, []Error) {
	var entries []json.RawMessage
	if json.Unmarshal(v, &entries) != nil {
		return nil, []Error{{Code: creative.CodeValidation, Field: path, Message: "notification_configs must be an array", Recovery: "correctable"}}
	}
	var errs []Error
	bad := func(code, field, msg string) {
		errs = append(errs, Error{Code: code, Field: field, Message: msg, Recovery: creative.RecoveryOf(code)})
	}
	if len(entries) > creative.MaxSubscribersPerAccount {
		bad(creative.CodeValidation, path, fmt.Sprintf("at most %d notification_configs per account", creative.MaxSubscribersPerAccount))
		return nil, errs
	}
	subs := make([]creative.Subscriber, 0, len(entries))
	seen := map[string]int{}
	for j, e := range entries {
		at := fmt.Sprintf("%s[%d]", path, j)
		var raw struct {
			SubscriberID   *string            `json:"subscriber_id"`
			URL            *string            `json:"url"`
			EventTypes     []string           `json:"event_types"`
			Active         *bool              `json:"active"`
			Authentication *creative.PushAuth `json:"authentication"`
		}
		if json.Unmarshal(e, &raw) != nil {
			bad(creative.CodeValidation, at, "each notification config is {subscriber_id, url, event_types, active?, authentication?}")
			continue
		}
		sub := creative.Subscriber{Active: raw.Active == nil || *raw.Active, EventTypes: raw.EventTypes, Auth: raw.Authentication}
		switch {
		case raw.SubscriberID == nil:
			bad(creative.CodeInvalidRequest, at+".subscriber_id", "subscriber_id is required")
		case !subscriberIDPattern.MatchString(*raw.SubscriberID):
			bad(creative.CodeValidation, at+".subscriber_id", "subscriber_id must be 1-64 characters of A-Z a-z 0-9 _ . : -")
		default:
			sub.SubscriberID = *raw.SubscriberID
			if k, dup := seen[sub.SubscriberID]; dup {
				bad(creative.CodeValidation, at+".subscriber_id", fmt.Sprintf("subscriber_id %q is already used by %s[%d]", sub.SubscriberID, path, k))
			}
			seen[sub.SubscriberID] = j
		}
		if raw.URL == nil {
			bad(creative.CodeInvalidRequest, at+".url", "url is required")
		} else if u, err := url.Parse(*raw.URL); err != nil || u.Scheme != "https" || u.Hostname() == "" || u.User != nil || len(*raw.URL) > creative.MaxURLLength {
			bad(creative.CodeInvalidRequest, at+".url", "url must be an absolute https URL without credentials")
		} else {
			sub.URL = *raw.URL
		}
		if len(raw.EventTypes) == 0 {
			bad(creative.CodeValidation, at+".event_types", "event_types must name at least one account-level event type")
		}
		for k, et := range raw.EventTypes {
			if !slices.Contains(creative.AccountEventTypes, et) {
				bad(creative.CodeValidation, fmt.Sprintf("%s.event_types[%d]", at, k),
					fmt.Sprintf("%q is not an account-level event type; use %s", et, strings.Join(creative.AccountEventTypes, ", ")))
			}
		}
		if a := raw.Authentication; a != nil {
			if len(a.Schemes) != 1 || (a.Schemes[0] != "Bearer" && a.Schemes[0] != "HMAC-SHA256") {
				bad(creative.CodeValidation, at+".authentication.schemes", `schemes must be exactly one of ["Bearer"] or ["HMAC-SHA256"]`)
			}
			if len(a.Credentials) < 32 || len(a.Credentials) > 4096 {
				bad(creative.CodeValidation, at+".authentication.credentials", "credentials must be 32 to 4096 characters")
			}
		}
		subs = append(subs, sub)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return subs, nil
}

// DecodeListAccounts decodes a list_accounts body (3.0.6
// account/list-accounts-request.json, plus the 3.1 exact account filter).
func DecodeListAccounts(body []byte) (creative.AccountsQuery, error) {
	var q creative.AccountsQuery
	raw, err := Object(body)
	if err != nil {
		return q, err
	}
	d := &fields{raw: raw}
	if _, verr := d.majorVersion(); verr != nil {
		return q, verr
	}
	q.Context = d.context()
	if d.str("status", &q.Status, false) && q.Status != "" && !slices.Contains(creative.AccountStatuses, q.Status) {
		d.bad(creative.CodeValidation, "status", "status must be one of "+strings.Join(creative.AccountStatuses, ", "))
	}
	if v, ok := d.has("sandbox"); ok {
		var b bool
		if json.Unmarshal(v, &b) != nil {
			d.bad(creative.CodeValidation, "sandbox", "sandbox must be true or false")
		} else {
			q.Sandbox = &b
		}
	}
	if v, ok := d.has("account"); ok {
		ref, e := DecodeAccountRef(v, "account")
		if e != nil {
			d.errs = append(d.errs, *e)
		} else {
			q.Account = &ref
		}
	}
	if v, ok := d.has("pagination"); ok {
		var pg pagination
		if json.Unmarshal(v, &pg) != nil {
			d.bad(creative.CodeValidation, "pagination", "pagination must be {max_results?, cursor?}")
		} else if perr := pageAccounts(&q, &pg); perr != nil {
			return q, perr
		}
	}
	return q, d.err()
}

// pageAccounts applies a pagination request to q.
func pageAccounts(q *creative.AccountsQuery, pg *pagination) error {
	limit, after, err := readPage(pg, creative.ParseAccountCursor, "list_accounts")
	if err == nil {
		q.Limit = limit
		if after != nil {
			q.After = *after
		}
	}
	return err
}

// ListAccountsFromQuery maps REST query parameters onto list_accounts:
// status, sandbox, account_id, max_results, cursor.
func ListAccountsFromQuery(v url.Values) (creative.AccountsQuery, error) {
	var q creative.AccountsQuery
	if st := v.Get("status"); st != "" {
		if !slices.Contains(creative.AccountStatuses, st) {
			return q, invalid(creative.CodeValidation, "status", "status must be one of "+strings.Join(creative.AccountStatuses, ", "))
		}
		q.Status = st
	}
	if sb := v.Get("sandbox"); sb != "" {
		b, err := strconv.ParseBool(sb)
		if err != nil {
			return q, invalid(creative.CodeValidation, "sandbox", "sandbox must be true or false")
		}
		q.Sandbox = &b
	}
	if id := v.Get("account_id"); id != "" {
		q.Account = &creative.AccountRef{AccountID: id}
	}
	pg, err := paginationFrom(v)
	if err != nil {
		return q, err
	}
	return q, pageAccounts(&q, pg)
}
