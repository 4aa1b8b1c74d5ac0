package creative

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
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
	// Agents are the trusted outside creative agents' formats (nil: none).
	Agents *AgentFormats
	// EncodeResult writes a completed task's result in the shape of the
	// AdCP major version that started it; the wire layer provides it
	// (adcp.EncodeTaskResult), because a task completes in a message
	// handler, not in a request. Nil encodes the AdCP 3 shape.
	EncodeResult func(major int, r SyncResponse) (json.RawMessage, error)
	// Jobs configures Drive creative_sync jobs (off without a source).
	Jobs JobOptions
}

// Service runs the creative library's use cases.
type Service struct {
	store    Store
	registry *Registry
	ttl      time.Duration
	jobs     JobOptions
	now      func() time.Time
	encode   func(major int, r SyncResponse) (json.RawMessage, error)
}

// encodeResult writes a task's final result for AdCP major version major.
func (s *Service) encodeResult(major int, r SyncResponse) (json.RawMessage, error) {
	if s.encode != nil {
		return s.encode(major, r)
	}
	return json.Marshal(r)
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
	opts.Jobs.defaults()
	return &Service{
		store:    store,
		registry: NewRegistry(formats, opts.AgentURLs).withAgents(opts.Agents),
		ttl:      opts.IdempotencyTTL,
		jobs:     opts.Jobs,
		now:      func() time.Time { return time.Now().UTC() },
		encode:   opts.EncodeResult,
	}, nil
}

// Registry exposes the format registry.
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
		return Principal{}, Reject(CodeAuthRequired, "", "authentication required: send Authorization: Bearer <api key>")
	}
	p, err := s.store.PrincipalByKeyHash(ctx, KeyHash(key))
	if errors.Is(err, ErrNotFound) {
		return Principal{}, Reject(CodeAuthRequired, "", "the API key is not valid")
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
		a, err = s.store.AccountByNaturalKey(ctx, p.ID, ref.BrandDomain, ref.Operator, ref.Sandbox)
	}
	if errors.Is(err, ErrNotFound) {
		return Account{}, Reject(CodeAccountNotFound, "account", "no such account for this API key")
	}
	if err != nil {
		return Account{}, err
	}
	if a.Status == "suspended" {
		return Account{}, Reject(CodeAccountSuspended, "account", "the account is suspended")
	}
	return a, nil
}

func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // never fails (Go 1.24+ aborts instead)
	return prefix + hex.EncodeToString(b[:])
}

// newEventID gives event ids; they double as JetStream message ids.
func newEventID() string { return uuid.NewString() }

// Sync runs sync_creatives for principal p.
func (s *Service) Sync(ctx context.Context, p Principal, cmd SyncCommand, correlationID string) (SyncResponse, error) {
	acct, err := s.accountOf(ctx, p, cmd.Account)
	if err != nil {
		return SyncResponse{}, err
	}
	return s.syncInto(ctx, p, acct, cmd, correlationID)
}

// accountOf resolves ref, or, when it is empty (AdCP 2 has no account
// field: the credentials owned the library), the principal's one
// production account.
func (s *Service) accountOf(ctx context.Context, p Principal, ref AccountRef) (Account, error) {
	if !ref.IsZero() {
		return s.ResolveAccount(ctx, p, ref)
	}
	accts, err := s.store.ProductionAccounts(ctx, p.ID)
	if err != nil {
		return Account{}, err
	}
	switch len(accts) {
	case 0:
		return Account{}, Reject(CodeAccountNotFound, "account", "this API key has no account to sync into")
	case 1:
		return s.ResolveAccount(ctx, p, AccountRef{AccountID: accts[0].ID})
	default:
		return Account{}, Reject(CodeAccountAmbiguous, "account",
			"this API key has several accounts; name one with account: {account_id}")
	}
}

// syncInto runs a sync on a resolved account.
func (s *Service) syncInto(ctx context.Context, p Principal, acct Account, cmd SyncCommand, correlationID string) (SyncResponse, error) {
	catalog, err := s.Catalog(ctx, acct)
	if err != nil {
		return SyncResponse{}, err
	}
	cmd.Creatives = resolveAssets(catalog, cmd.Creatives)
	results, ok, invalid := validateInputs(catalog, cmd)
	if !cmd.Lenient && len(invalid) > 0 {
		return SyncResponse{}, RejectAll(invalid)
	}
	protect := cmd.IdempotencyKey != "" && !cmd.DryRun
	var resp SyncResponse
	// Everything the closure produces is built inside it: a retried
	// transaction starts again from the same inputs.
	err = s.store.InTx(ctx, func(tx Tx) error {
		now := s.now()
		if protect {
			prior, err := tx.ClaimIdempotencyKey(ctx, IdempotencyRecord{
				PrincipalID: p.ID, AccountID: acct.ID, Key: cmd.IdempotencyKey, RequestHash: cmd.RequestHash,
				CreatedAt: now, ExpiresAt: now.Add(s.ttl),
			})
			if err != nil {
				return err
			}
			if prior != nil {
				r, err := s.replay(*prior, cmd.RequestHash, now)
				resp = r
				return err
			}
		}
		plan, err := s.planAndCommit(ctx, tx, p, acct, catalog, cmd, results, ok, now, correlationID)
		if err != nil {
			return err
		}
		resp = plan.Response
		if !protect {
			return nil
		}
		stored, err := json.Marshal(resp)
		if err != nil {
			return fmt.Errorf("encoding the idempotency record: %w", err)
		}
		return tx.SaveIdempotencyResponse(ctx, IdempotencyRecord{PrincipalID: p.ID, AccountID: acct.ID, Key: cmd.IdempotencyKey, Response: stored})
	})
	if err != nil {
		return SyncResponse{}, err
	}
	resp.Sandbox = acct.Sandbox
	resp.Context = cmd.Context
	return resp, nil
}

// planAndCommit reads the state cmd touches, plans it and commits the
// plan inside tx. results and ok come from validateInputs.
func (s *Service) planAndCommit(ctx context.Context, tx Tx, p Principal, acct Account, catalog *Registry, cmd SyncCommand,
	results []SyncResult, ok []bool, now time.Time, correlationID string) (SyncPlan, error) {
	ids := make([]string, 0, len(cmd.Creatives))
	for i, in := range cmd.Creatives {
		if ok[i] {
			ids = append(ids, in.CreativeID)
		}
	}
	var pkgIDs []string
	for _, a := range cmd.Assignments {
		if !slices.Contains(pkgIDs, a.PackageID) {
			pkgIDs = append(pkgIDs, a.PackageID)
		}
	}
	st, err := tx.LoadSyncState(ctx, acct.ID, ids, cmd.DeleteMissing, pkgIDs)
	if err != nil {
		return SyncPlan{}, err
	}
	plan := planSync(p, acct, catalog, cmd, slices.Clone(results), ok, st, planEnv{
		Now: now, NewID: newID, NewEventID: newEventID, CorrelationID: correlationID})
	// Strict mode applies nothing when any creative is held by active
	// delivery; the transaction rolls back.
	if !cmd.Lenient && len(plan.Blocked) > 0 {
		return SyncPlan{}, RejectAll(plan.Blocked)
	}
	if err := tx.CommitSync(ctx, plan.Writes); err != nil {
		return SyncPlan{}, err
	}
	return plan, nil
}

// validateInputs checks every creative of cmd against scoping and the
// catalog. results holds a failed result for each rejected creative,
// ok[i] whether creative i may be applied, invalid the content errors that
// refuse a strict request.
func validateInputs(catalog *Registry, cmd SyncCommand) (results []SyncResult, ok []bool, invalid []Error) {
	results = make([]SyncResult, len(cmd.Creatives))
	ok = make([]bool, len(cmd.Creatives))
	for i, in := range cmd.Creatives {
		results[i] = SyncResult{CreativeID: in.CreativeID}
		if len(cmd.CreativeIDs) > 0 && !slices.Contains(cmd.CreativeIDs, in.CreativeID) {
			results[i].Action = ActionFailed
			results[i].Errors = []Error{{Code: CodeInvalidRequest, Field: fmt.Sprintf("creatives[%d].creative_id", in.Index),
				Message: "creative_id is not listed in creative_ids, so this sync does not touch it", Recovery: "correctable"}}
			continue
		}
		errs := slices.Clone(in.Errors)
		if len(errs) == 0 {
			errs = validateFormat(catalog, in)
		}
		if len(errs) > 0 {
			for j := range errs {
				errs[j].Recovery = RecoveryOf(errs[j].Code)
			}
			results[i].Action = ActionFailed
			results[i].Errors = errs
			invalid = append(invalid, errs...)
			continue
		}
		ok[i] = true
	}
	return results, ok, invalid
}

// resolveAssets builds the assets of every creative whose dialect sends
// them in another shape (Input.AssetsFor) from its resolved format, and
// stores and hashes the result as if the buyer had sent it keyed by asset
// id: the library, review and list_creatives see one shape, and the same
// creative sent in either dialect is unchanged, not updated. Creatives
// whose format does not resolve are left for validateFormat to report.
func resolveAssets(catalog *Registry, ins []Input) []Input {
	out := slices.Clone(ins)
	for i := range out {
		in := &out[i]
		if in.AssetsFor == nil || len(in.Errors) > 0 {
			continue
		}
		f, ok := catalog.Resolve(in.FormatID)
		if !ok {
			continue
		}
		assets, errs := in.AssetsFor(f)
		if len(errs) > 0 {
			in.Errors = errs
			continue
		}
		encoded, err := json.Marshal(assets)
		if err == nil {
			body := maps.Clone(in.Body)
			body["assets"] = encoded
			in.Body, in.Assets = body, assets
			in.ContentHash, err = CanonicalHash(body)
		}
		if err != nil {
			in.Errors = []Error{{Code: CodeValidation, Field: fmt.Sprintf("creatives[%d].assets", in.Index),
				Message: "assets cannot be encoded: " + err.Error()}}
		}
	}
	return out
}

// idempotencySkew tolerates clock differences at the TTL boundary.
const idempotencySkew = 60 * time.Second

func (s *Service) replay(prior IdempotencyRecord, reqHash string, now time.Time) (SyncResponse, error) {
	if now.After(prior.ExpiresAt.Add(idempotencySkew)) {
		return SyncResponse{}, Reject(CodeIdempotencyExpired, "",
			"this idempotency_key was used more than the replay window ago; send a new key if you mean a new request")
	}
	if prior.RequestHash != reqHash {
		return SyncResponse{}, Reject(CodeIdempotencyConflict, "",
			"this idempotency_key was already used with a different request; use a new key for a new request")
	}
	if len(prior.Response) == 0 {
		return SyncResponse{}, Reject(CodeIdempotencyConflict, "", "a request with this idempotency_key is still being processed")
	}
	var r SyncResponse
	if err := json.Unmarshal(prior.Response, &r); err != nil {
		return SyncResponse{}, fmt.Errorf("stored idempotent response of key %s: %w", prior.Key, err)
	}
	r.Replayed = true
	return r, nil
}

func validateFormat(catalog *Registry, in Input) []Error {
	path := fmt.Sprintf("creatives[%d]", in.Index)
	if !catalog.Trusts(in.FormatID.AgentURL) {
		return []Error{{Code: CodeUnsupportedFeature, Field: path + ".format_id.agent_url",
			Message: fmt.Sprintf("format agent %s is not served or trusted by this seller", in.FormatID.AgentURL),
			Suggestion: "use a format_id from list_creative_formats (agent_url " +
				strings.Join(slices.Concat(catalog.AgentURLs(), catalog.outside.URLs()), ", ") + ")"}}
	}
	f, ok := catalog.Resolve(in.FormatID)
	if !ok {
		return []Error{{Code: CodeUnsupportedFeature, Field: path + ".format_id.id",
			Message:    fmt.Sprintf("format %q is not known at agent %s", in.FormatID.ID, in.FormatID.AgentURL),
			Suggestion: "call list_creative_formats of that agent for its format ids"}}
	}
	return validateAssets(path, in.FormatID, f, in.Assets)
}
