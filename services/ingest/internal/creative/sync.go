package creative

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gowebpki/jcs"

	"example.com/creativesync/events"
)

// SyncResult is one item of the success branch's creatives[].
type SyncResult struct {
	CreativeID       string            `json:"creative_id"`
	Action           string            `json:"action"`
	Status           string            `json:"status,omitempty"`
	PlatformID       string            `json:"platform_id,omitempty"`
	Changes          []string          `json:"changes,omitempty"`
	Errors           []Error           `json:"errors,omitempty"`
	Warnings         []string          `json:"warnings,omitempty"`
	AssignedTo       []string          `json:"assigned_to,omitempty"`
	AssignmentErrors map[string]string `json:"assignment_errors,omitempty"`
	RejectionReason  string            `json:"rejection_reason,omitempty"`
}

// SyncResponse is either the synchronous success branch (Creatives) or the
// submitted branch (TaskID): the two are mutually exclusive in the schema.
type SyncResponse struct {
	Status    string          `json:"status"`
	TaskID    string          `json:"task_id,omitempty"`
	Message   string          `json:"message,omitempty"`
	Creatives *[]SyncResult   `json:"creatives,omitempty"`
	DryRun    bool            `json:"dry_run,omitempty"`
	Sandbox   bool            `json:"sandbox,omitempty"`
	Replayed  bool            `json:"replayed,omitempty"`
	Context   json.RawMessage `json:"context,omitempty"`
}

// Options configures the domain service.
type Options struct {
	// IdempotencyTTL is how long a key replays its response; declared in
	// get_adcp_capabilities.
	IdempotencyTTL time.Duration
	// AgentURLs are the format agent URLs this seller is authoritative for.
	AgentURLs []string
}

// Service runs the creative library's use cases.
type Service struct {
	store    Store
	registry *Registry
	ttl      time.Duration
	now      func() time.Time
}

// NewService loads the format registry and returns the service.
func NewService(ctx context.Context, store Store, opts Options) (*Service, error) {
	if store == nil {
		panic("creative.NewService: nil store")
	}
	formats, err := store.Formats(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading formats: %w", err)
	}
	if opts.IdempotencyTTL <= 0 {
		opts.IdempotencyTTL = 24 * time.Hour
	}
	return &Service{
		store:    store,
		registry: NewRegistry(formats, opts.AgentURLs),
		ttl:      opts.IdempotencyTTL,
		now:      func() time.Time { return time.Now().UTC() },
	}, nil
}

// Registry exposes the format registry to list_creative_formats.
func (s *Service) Registry() *Registry { return s.registry }

// IdempotencyTTL is the declared replay window.
func (s *Service) IdempotencyTTL() time.Duration { return s.ttl }

// KeyHash is how API keys are stored.
func KeyHash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Authenticate resolves an API key to its principal.
func (s *Service) Authenticate(ctx context.Context, key string) (Principal, error) {
	if key == "" {
		return Principal{}, Reject(http.StatusUnauthorized, CodeAuthRequired, "", "authentication required: send Authorization: Bearer <api key>")
	}
	p, err := s.store.PrincipalByKeyHash(ctx, KeyHash(key))
	if errors.Is(err, ErrNotFound) {
		return Principal{}, Reject(http.StatusUnauthorized, CodeAuthRequired, "", "the API key is not valid")
	}
	return p, err
}

// ResolveAccount finds the account ref names among p's accounts. Another
// principal's account is reported exactly like a missing one.
func (s *Service) ResolveAccount(ctx context.Context, p Principal, ref AccountRef) (Account, error) {
	var (
		a   Account
		err error
	)
	if ref.AccountID != "" {
		a, err = s.store.AccountByID(ctx, p.ID, ref.AccountID)
	} else {
		sandbox := ref.Sandbox != nil && *ref.Sandbox
		a, err = s.store.AccountByNaturalKey(ctx, p.ID, BrandDomain(ref.Brand), strings.ToLower(ref.Operator), sandbox)
	}
	if errors.Is(err, ErrNotFound) {
		return Account{}, Reject(http.StatusNotFound, CodeAccountNotFound, "account", "no such account for this API key")
	}
	if err != nil {
		return Account{}, err
	}
	if a.Status == "suspended" {
		return Account{}, Reject(http.StatusForbidden, CodeAccountSuspended, "account", "the account is suspended")
	}
	return a, nil
}

// hashExclusions are the request fields AdCP leaves out of the idempotency
// payload hash.
var hashExclusions = []string{"idempotency_key", "context", "governance_context"}

// RequestHash is the SHA-256 of the RFC 8785 canonical form of the request
// minus the excluded fields.
func RequestHash(raw map[string]json.RawMessage) (string, error) {
	m := make(map[string]json.RawMessage, len(raw))
	for k, v := range raw {
		if !slices.Contains(hashExclusions, k) {
			m[k] = v
		}
	}
	if pc, ok := m["push_notification_config"]; ok {
		var obj map[string]json.RawMessage
		if json.Unmarshal(pc, &obj) == nil {
			if auth, ok := obj["authentication"]; ok {
				var a map[string]json.RawMessage
				if json.Unmarshal(auth, &a) == nil {
					delete(a, "credentials")
					obj["authentication"], _ = json.Marshal(a)
				}
			}
			m["push_notification_config"], _ = json.Marshal(obj)
		}
	}
	return canonicalHash(m)
}

func canonicalHash(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	c, err := jcs.Transform(b)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(c)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// Sync runs sync_creatives for principal p.
func (s *Service) Sync(ctx context.Context, p Principal, req SyncRequest, correlationID string) (SyncResponse, error) {
	acct, err := s.ResolveAccount(ctx, p, req.Account)
	if err != nil {
		return SyncResponse{}, err
	}
	reqHash, err := RequestHash(req.Raw)
	if err != nil {
		return SyncResponse{}, fmt.Errorf("hashing request: %w", err)
	}

	scope := map[string]bool{}
	for _, id := range req.CreativeIDs {
		scope[id] = true
	}
	results := make([]SyncResult, len(req.Creatives))
	ok := make([]bool, len(req.Creatives))
	var invalid []Error
	catalog, err := s.Catalog(ctx, acct)
	if err != nil {
		return SyncResponse{}, err
	}
	for i, ci := range req.Creatives {
		results[i] = SyncResult{CreativeID: ci.CreativeID}
		if len(scope) > 0 && !scope[ci.CreativeID] {
			results[i].Action = ActionFailed
			results[i].Errors = []Error{{Code: CodeInvalidRequest, Field: fmt.Sprintf("creatives[%d].creative_id", ci.Index),
				Message: "creative_id is not listed in creative_ids, so this sync does not touch it", Recovery: "correctable"}}
			continue
		}
		errs := append(slices.Clone(ci.Errors), s.validateFormat(catalog, ci)...)
		if len(errs) > 0 {
			for j := range errs {
				errs[j].Recovery = recoveryOf(errs[j].Code)
			}
			results[i].Action = ActionFailed
			results[i].Errors = errs
			invalid = append(invalid, errs...)
			continue
		}
		ok[i] = true
	}
	if !req.Lenient && len(invalid) > 0 {
		return SyncResponse{}, rejectAll(http.StatusUnprocessableEntity, invalid)
	}

	now := s.now()
	var resp SyncResponse
	err = s.store.InTx(ctx, func(tx Tx) error {
		resp = SyncResponse{}
		if !req.DryRun {
			prior, err := tx.ClaimIdempotencyKey(ctx, IdempotencyRecord{
				PrincipalID: p.ID, AccountID: acct.ID, Key: req.IdempotencyKey, RequestHash: reqHash,
				CreatedAt: now, ExpiresAt: now.Add(s.ttl),
			})
			if err != nil {
				return err
			}
			if prior != nil {
				r, err := s.replay(*prior, reqHash, now)
				resp = r
				return err
			}
		}
		var err error
		resp, err = s.apply(ctx, tx, p, acct, catalog, req, results, ok, now, correlationID)
		if err != nil {
			return err
		}
		if req.DryRun {
			return nil
		}
		stored, err := json.Marshal(resp)
		if err != nil {
			return err
		}
		return tx.SaveIdempotencyResponse(ctx, IdempotencyRecord{PrincipalID: p.ID, AccountID: acct.ID, Key: req.IdempotencyKey, Response: stored})
	})
	if err != nil {
		return SyncResponse{}, err
	}
	resp.Sandbox = acct.Sandbox
	resp.Context = req.Context
	return resp, nil
}

// idempotencySkew tolerates clock differences at the TTL boundary.
const idempotencySkew = 60 * time.Second

func (s *Service) replay(prior IdempotencyRecord, reqHash string, now time.Time) (SyncResponse, error) {
	if now.After(prior.ExpiresAt.Add(idempotencySkew)) {
		return SyncResponse{}, Reject(http.StatusConflict, CodeIdempotencyExpired, "",
			"this idempotency_key was used more than the replay window ago; send a new key if you mean a new request")
	}
	if prior.RequestHash != reqHash {
		return SyncResponse{}, Reject(http.StatusConflict, CodeIdempotencyConflict, "",
			"this idempotency_key was already used with a different request; use a new key for a new request")
	}
	var r SyncResponse
	if len(prior.Response) == 0 || json.Unmarshal(prior.Response, &r) != nil {
		return SyncResponse{}, Reject(http.StatusConflict, CodeIdempotencyConflict, "", "a request with this idempotency_key is still being processed")
	}
	r.Replayed = true
	return r, nil
}

func (s *Service) validateFormat(catalog *Registry, ci CreativeInput) []Error {
	if len(ci.Errors) > 0 {
		return nil // structure is already broken; format checks would only repeat it
	}
	path := fmt.Sprintf("creatives[%d]", ci.Index)
	if !catalog.Serves(ci.FormatID.AgentURL) {
		return []Error{{Code: CodeUnsupportedFeature, Field: path + ".format_id.agent_url",
			Message:    fmt.Sprintf("format agent %s is not served by this seller", ci.FormatID.AgentURL),
			Suggestion: "use a format_id from list_creative_formats (agent_url " + strings.Join(catalog.AgentURLs(), ", ") + ")"}}
	}
	f, ok := catalog.Lookup(ci.FormatID.ID)
	if !ok {
		return []Error{{Code: CodeUnsupportedFeature, Field: path + ".format_id.id",
			Message:    fmt.Sprintf("format %q is not supported", ci.FormatID.ID),
			Suggestion: "call list_creative_formats for the supported format ids"}}
	}
	return validateAssets(path, ci.FormatID, f, ci.Assets)
}

// sellerOwnedFields are stripped from the stored body: status is ours to set.
var sellerOwnedFields = []string{"status"}

func mergeBody(old, in map[string]json.RawMessage) map[string]json.RawMessage {
	merged := make(map[string]json.RawMessage, len(old)+len(in))
	for k, v := range old {
		merged[k] = v
	}
	for k, v := range in {
		if !slices.Contains(sellerOwnedFields, k) {
			merged[k] = v
		}
	}
	return merged
}

func changedFields(old, merged map[string]json.RawMessage) []string {
	var changes []string
	for _, k := range sortedKeys(merged) {
		if !jsonEqual(old[k], merged[k]) {
			changes = append(changes, k)
		}
	}
	return changes
}

func jsonEqual(a, b json.RawMessage) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	ca, err1 := jcs.Transform(a)
	cb, err2 := jcs.Transform(b)
	if err1 != nil || err2 != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(ca, cb)
}

func (s *Service) apply(ctx context.Context, tx Tx, p Principal, acct Account, catalog *Registry, req SyncRequest, results []SyncResult, ok []bool, now time.Time, correlationID string) (SyncResponse, error) {
	var ids []string
	for i, ci := range req.Creatives {
		if ok[i] {
			ids = append(ids, ci.CreativeID)
		}
	}
	current, err := tx.LockCreatives(ctx, acct.ID, ids)
	if err != nil {
		return SyncResponse{}, err
	}
	active, err := tx.ActivePackages(ctx, acct.ID, ids)
	if err != nil {
		return SyncResponse{}, err
	}
	var taskID string
	if req.Push != nil && !req.DryRun {
		taskID = newID("task_")
	}
	var (
		evs      []events.Event
		blocked  []Error
		items    []TaskItem
		inSync   = map[string]bool{}
		statusOf = map[string]string{}
	)
	for i, ci := range req.Creatives {
		inSync[ci.CreativeID] = true
		if !ok[i] {
			continue
		}
		old, exists := current[ci.CreativeID]
		merged := mergeBody(old.Body, ci.Body)
		hash, err := canonicalHash(merged)
		if err != nil {
			return SyncResponse{}, err
		}
		r := &results[i]
		if exists && old.ArchivedAt == nil && old.ContentHash == hash {
			r.Action, r.Status, r.PlatformID = ActionUnchanged, old.Status, old.PlatformID
			statusOf[ci.CreativeID] = old.Status
			continue
		}
		if pk := active[ci.CreativeID]; exists && len(pk) > 0 {
			e := Error{Code: CodeInvalidState, Field: fmt.Sprintf("creatives[%d]", ci.Index), Recovery: "correctable",
				Message: fmt.Sprintf("creative %s is assigned to active package(s) %s and cannot change while they deliver; pause them or sync under a new creative_id", ci.CreativeID, strings.Join(pk, ", "))}
			*r = SyncResult{CreativeID: ci.CreativeID, Action: ActionFailed, Errors: []Error{e}}
			blocked = append(blocked, e)
			continue
		}
		c := Creative{
			AccountID: acct.ID, CreativeID: ci.CreativeID, Name: ci.Name, FormatID: ci.FormatID,
			Body: merged, Tags: ci.Tags, ContentHash: hash, Status: StatusPendingReview,
			CreatedAt: now, UpdatedAt: now, PlatformID: newID("crv_"), Revision: 1,
		}
		if exists {
			c.PlatformID, c.CreatedAt, c.Revision = old.PlatformID, old.CreatedAt, old.Revision+1
			if ci.Tags == nil {
				c.Tags = old.Tags
			}
			r.Action, r.Changes = ActionUpdated, changedFields(old.Body, merged)
			if old.ArchivedAt != nil {
				r.Changes = append(r.Changes, "status")
			}
		} else {
			r.Action = ActionCreated
		}
		r.Status, r.PlatformID = c.Status, c.PlatformID
		statusOf[ci.CreativeID] = c.Status
		if req.DryRun {
			continue
		}
		if err := tx.UpsertCreative(ctx, c); err != nil {
			return SyncResponse{}, err
		}
		evs = append(evs, s.syncedEvent(p, catalog, c, r.Action, taskID, correlationID))
		items = append(items, TaskItem{TaskID: taskID, AccountID: acct.ID, CreativeID: c.CreativeID, Revision: c.Revision, Position: i, Outcome: *r})
	}
	if err := s.assign(ctx, tx, acct, req, results, current, statusOf); err != nil {
		return SyncResponse{}, err
	}
	if req.DeleteMissing {
		archived, kept, err := s.archiveMissing(ctx, tx, acct, req, inSync, now, correlationID, &results)
		if err != nil {
			return SyncResponse{}, err
		}
		evs = append(evs, archived...)
		blocked = append(blocked, kept...)
	}
	// Strict mode applies nothing when any creative is held by active
	// delivery; the transaction rolls back.
	if !req.Lenient && len(blocked) > 0 {
		return SyncResponse{}, rejectAll(http.StatusConflict, blocked)
	}
	if taskID != "" && len(items) > 0 {
		// The task's final result lists every creative of the sync, as a
		// synchronous answer would: items that wait for review, plus the
		// unchanged, failed and archived ones, settled from the start.
		// Outcomes are refreshed with assignment results gathered after the
		// loop.
		waiting := map[int]bool{}
		for _, it := range items {
			waiting[it.Position] = true
		}
		all := make([]TaskItem, len(results))
		for j, r := range results {
			all[j] = TaskItem{TaskID: taskID, AccountID: acct.ID, CreativeID: r.CreativeID, Position: j, Outcome: r, Decided: !waiting[j]}
		}
		for _, it := range items {
			all[it.Position].Revision = it.Revision
		}
		items = all
		t := Task{ID: taskID, PrincipalID: p.ID, AccountID: acct.ID, Type: "sync_creatives", Status: "submitted",
			Context: req.Context, Push: req.Push, CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateTask(ctx, t, items); err != nil {
			return SyncResponse{}, err
		}
		if err := tx.Publish(ctx, evs...); err != nil {
			return SyncResponse{}, err
		}
		return SyncResponse{Status: "submitted", TaskID: taskID,
			Message: fmt.Sprintf("%d creative(s) queued for review; the result is delivered to push_notification_config.url and via tasks/get", len(items))}, nil
	}
	if !req.DryRun {
		for _, ev := range evs {
			if e, ok := ev.(*events.CreativeSyncedV1); ok {
				e.TaskID = ""
			}
		}
		if err := tx.Publish(ctx, evs...); err != nil {
			return SyncResponse{}, err
		}
	}
	return SyncResponse{Status: "completed", Creatives: &results, DryRun: req.DryRun}, nil
}

func (s *Service) syncedEvent(p Principal, catalog *Registry, c Creative, action, taskID, correlationID string) *events.CreativeSyncedV1 {
	ev := &events.CreativeSyncedV1{
		Header:      events.Header{EventID: newUUID(), CorrelationID: correlationID, OccurredAt: c.UpdatedAt},
		AccountID:   c.AccountID,
		PrincipalID: p.ID,
		CreativeID:  c.CreativeID,
		Revision:    c.Revision,
		Action:      action,
		ContentHash: c.ContentHash,
		Name:        c.Name,
		FormatID:    events.FormatID(c.FormatID),
		Assets:      c.Body["assets"],
		Tags:        c.Tags,
		Provenance:  c.Body["provenance"],
		TaskID:      taskID,
	}
	if f, ok := catalog.Lookup(c.FormatID.ID); ok {
		snap := &events.FormatSnapshot{Name: f.Name}
		for _, a := range f.Assets {
			snap.Assets = append(snap.Assets, events.FormatAsset{AssetID: a.AssetID, AssetType: a.AssetType, Required: a.Required})
		}
		ev.Format = snap
	}
	return ev
}

func (s *Service) assign(ctx context.Context, tx Tx, acct Account, req SyncRequest, results []SyncResult, current map[string]Creative, statusOf map[string]string) error {
	if len(req.Assignments) == 0 {
		return nil
	}
	var pkgIDs []string
	for _, a := range req.Assignments {
		pkgIDs = append(pkgIDs, a.PackageID)
	}
	pkgs, err := tx.Packages(ctx, acct.ID, pkgIDs)
	if err != nil {
		return err
	}
	index := map[string]int{}
	for i, r := range results {
		index[r.CreativeID] = i
	}
	for _, a := range req.Assignments {
		i, inReq := index[a.CreativeID]
		if !inReq {
			// Assignments may only name creatives of this sync: the result
			// has nowhere else to report them.
			continue
		}
		r := &results[i]
		if r.Action == ActionFailed {
			continue
		}
		fail := func(msg string) {
			if r.AssignmentErrors == nil {
				r.AssignmentErrors = map[string]string{}
			}
			r.AssignmentErrors[a.PackageID] = msg
		}
		if _, ok := pkgs[a.PackageID]; !ok {
			fail(CodePackageNotFound + ": package " + a.PackageID + " does not exist in this account")
			continue
		}
		if statusOf[a.CreativeID] == StatusRejected {
			fail("CREATIVE_REJECTED: a rejected creative cannot be assigned")
			continue
		}
		if !req.DryRun {
			a.AccountID = acct.ID
			if err := tx.Assign(ctx, a); err != nil {
				return err
			}
		}
		if !slices.Contains(r.AssignedTo, a.PackageID) {
			r.AssignedTo = append(r.AssignedTo, a.PackageID)
		}
	}
	return nil
}

// archiveMissing archives the library creatives not in this sync and
// returns their events, plus an error for each creative it had to keep
// because active delivery holds it.
func (s *Service) archiveMissing(ctx context.Context, tx Tx, acct Account, req SyncRequest, inSync map[string]bool, now time.Time, correlationID string, results *[]SyncResult) (evs []events.Event, kept []Error, err error) {
	lib, err := tx.LockLibrary(ctx, acct.ID)
	if err != nil {
		return nil, nil, err
	}
	var missing []string
	for _, id := range lib {
		if !inSync[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return nil, nil, nil
	}
	active, err := tx.ActivePackages(ctx, acct.ID, missing)
	if err != nil {
		return nil, nil, err
	}
	locked, err := tx.LockCreatives(ctx, acct.ID, missing)
	if err != nil {
		return nil, nil, err
	}
	for _, id := range missing {
		if pk := active[id]; len(pk) > 0 {
			e := Error{Code: CodeInvalidState, Recovery: "correctable",
				Message: fmt.Sprintf("creative %s is assigned to active package(s) %s and was not archived; pause them first", id, strings.Join(pk, ", "))}
			*results = append(*results, SyncResult{CreativeID: id, Action: ActionFailed, Errors: []Error{e}})
			kept = append(kept, e)
			continue
		}
		*results = append(*results, SyncResult{CreativeID: id, Action: ActionDeleted})
		if req.DryRun {
			continue
		}
		rev := locked[id].Revision + 1
		if err := tx.ArchiveCreative(ctx, acct.ID, id, rev, now); err != nil {
			return nil, nil, err
		}
		evs = append(evs, &events.CreativeArchivedV1{
			Header:    events.Header{EventID: newUUID(), CorrelationID: correlationID, OccurredAt: now},
			AccountID: acct.ID, CreativeID: id, Revision: rev, Reason: "delete_missing",
		})
	}
	return evs, kept, nil
}
