package creative

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"example.com/creativesync/events"
)

// This file is the domain side of comply_test_controller, the sandbox-only
// tool AdCP defines for deterministic testing: buyers (and the compliance
// suite) seed library creatives and formats and force review outcomes
// instead of waiting for real review. Every operation acts on a sandbox
// account of the calling principal; production accounts are never reachable.

// Controller error codes (comply-test-controller-response.json,
// ControllerError). They are not AdCP task error codes: the controller
// answers {success: false, error: CODE}.
const (
	ControllerInvalidTransition = "INVALID_TRANSITION"
	ControllerInvalidState      = "INVALID_STATE"
	ControllerNotFound          = "NOT_FOUND"
	ControllerUnknownScenario   = "UNKNOWN_SCENARIO"
	ControllerInvalidParams     = "INVALID_PARAMS"
	ControllerForbidden         = "FORBIDDEN"
	ControllerInternal          = "INTERNAL_ERROR"
)

// ControllerError is a controller scenario that did not run.
type ControllerError struct {
	Code   string
	Detail string
	// CurrentState is the entity's state when a transition was refused.
	CurrentState string
}

func (e *ControllerError) Error() string { return e.Code + ": " + e.Detail }

func controllerErr(code, format string, args ...any) *ControllerError {
	return &ControllerError{Code: code, Detail: fmt.Sprintf(format, args...)}
}

// creativeTransitions is the creative-status lifecycle the controller may
// force: the spec's graph (processing → pending_review | rejected,
// pending_review → approved | rejected, approved ↔ archived, approved →
// pending_review for re-review, rejected → processing on resubmission) plus
// the edges the compliance runner's state machine also allows (approved →
// rejected, rejected → pending_review). Self-transitions are not edges.
var creativeTransitions = map[string][]string{
	StatusProcessing:    {StatusPendingReview, StatusRejected},
	StatusPendingReview: {StatusApproved, StatusRejected},
	StatusApproved:      {StatusArchived, StatusRejected, StatusPendingReview},
	StatusArchived:      {StatusApproved, StatusPendingReview},
	StatusRejected:      {StatusProcessing, StatusPendingReview},
}

// maxSandboxFormats caps one principal's sandbox catalog.
const maxSandboxFormats = 100

// SandboxAccount resolves the account a controller request names and
// requires it to be one of p's sandbox accounts. Anything else, including
// an unknown account, is FORBIDDEN, so the controller never reveals or
// touches production state.
func (s *Service) SandboxAccount(ctx context.Context, p Principal, raw json.RawMessage) (Account, error) {
	if len(raw) == 0 || isJSONNull(raw) {
		return Account{}, controllerErr(ControllerInvalidParams, "this scenario needs account: a sandbox account of yours")
	}
	a, err := s.AccountFromRef(ctx, p, raw)
	if re := AsRequestError(err); re != nil {
		return Account{}, controllerErr(ControllerForbidden, "comply_test_controller only acts on your sandbox accounts: %s", re.Errors[0].Message)
	}
	if err != nil {
		return Account{}, err
	}
	if !a.Sandbox {
		return Account{}, controllerErr(ControllerForbidden, "account %s is not a sandbox account; comply_test_controller only acts on sandbox accounts", a.ID)
	}
	return a, nil
}

// SandboxAccountOf finds the sandbox account of p that holds creativeID, for
// controller calls that name no account (the AdCP controller request has
// none: the caller's identity scopes it). Production accounts are not
// searched, so their creatives are NOT_FOUND like missing ones.
func (s *Service) SandboxAccountOf(ctx context.Context, p Principal, creativeID string) (Account, error) {
	page, err := s.store.ListCreatives(ctx, ListQuery{PrincipalID: p.ID, CreativeIDs: []string{creativeID},
		IncludeArchived: true, SortField: "created_date", Limit: 100})
	if err != nil {
		return Account{}, err
	}
	var found []Account
	for _, c := range page.Creatives {
		a, err := s.store.AccountByID(ctx, p.ID, c.AccountID)
		if err != nil {
			return Account{}, err
		}
		if a.Sandbox {
			found = append(found, a)
		}
	}
	switch len(found) {
	case 0:
		return Account{}, controllerErr(ControllerNotFound, "creative %s not found in your sandbox accounts", creativeID)
	case 1:
		return found[0], nil
	default:
		return Account{}, controllerErr(ControllerInvalidParams, "creative %s exists in several of your sandbox accounts; pass account", creativeID)
	}
}

// AccountFromRef decodes an account reference ({account_id} or {brand,
// operator, sandbox?}) and resolves it among p's accounts.
func (s *Service) AccountFromRef(ctx context.Context, p Principal, raw json.RawMessage) (Account, error) {
	var ref AccountRef
	if e := decodeAccountRef(raw, &ref); e != nil {
		return Account{}, rejectAll(http.StatusBadRequest, []Error{*e})
	}
	return s.ResolveAccount(ctx, p, ref)
}

// Catalog is the format registry account a sees: its principal's seeded
// sandbox catalog for a sandbox account that has one (a seeded catalog
// replaces the standard one, listing and validation alike, so a test knows
// the exact result set), the standard registry otherwise.
func (s *Service) Catalog(ctx context.Context, a Account) (*Registry, error) {
	if !a.Sandbox {
		return s.registry, nil
	}
	formats, err := s.store.SandboxFormats(ctx, a.PrincipalID)
	if err != nil {
		return nil, err
	}
	if len(formats) == 0 {
		return s.registry, nil
	}
	return NewRegistry(formats, s.registry.AgentURLs()), nil
}

// SeedFormat adds a format to acct's principal's sandbox catalog. fixture is
// a partial AdCP format object; format_id is ours. Seeding the same id again
// with an equivalent fixture succeeds (replayed); a different one is refused.
func (s *Service) SeedFormat(ctx context.Context, acct Account, formatID string, fixture map[string]json.RawMessage) (replayed bool, err error) {
	if !formatIDPattern.MatchString(formatID) || len(formatID) > MaxIDLength {
		return false, controllerErr(ControllerInvalidParams, "params.format_id must be 1-%d letters, digits, _ or -", MaxIDLength)
	}
	def := make(map[string]json.RawMessage, len(fixture)+2)
	for k, v := range fixture {
		def[k] = v
	}
	ours := s.registry.AgentURLs()
	def["format_id"], _ = json.Marshal(FormatID{AgentURL: ours[0], ID: formatID})
	var name string
	if v, ok := def["name"]; ok && json.Unmarshal(v, &name) != nil {
		return false, controllerErr(ControllerInvalidParams, "params.fixture.name must be a string")
	}
	if strings.TrimSpace(name) == "" {
		def["name"], _ = json.Marshal(formatID)
	}
	b, err := json.Marshal(def)
	if err != nil {
		return false, err
	}
	f, err := ParseFormat(b)
	if err != nil {
		return false, controllerErr(ControllerInvalidParams, "params.fixture is not a usable format: %v", err)
	}
	prev, err := s.store.AddSandboxFormat(ctx, acct.PrincipalID, f, maxSandboxFormats)
	if errors.Is(err, ErrLimit) {
		return false, controllerErr(ControllerInvalidState, "a sandbox catalog holds at most %d formats", maxSandboxFormats)
	}
	if err != nil {
		return false, err
	}
	if prev != nil {
		if !jsonEqual(prev, f.Definition) {
			return false, controllerErr(ControllerInvalidParams, "format %s was already seeded with a different fixture; seed an equivalent fixture or use a new format_id", formatID)
		}
		return true, nil
	}
	return false, nil
}

// SeedCreative puts a creative into acct's library as a fixture: fixture is
// a partial creative object (format_id required; name, assets, tags…
// optional) plus an optional status (default pending_review). Fixtures do
// not enter review: no event is published. Seeding the same id again with
// an equivalent fixture succeeds (replayed); anything else under that id is
// refused, so a seed never overwrites a buyer's creative.
func (s *Service) SeedCreative(ctx context.Context, acct Account, creativeID string, fixture map[string]json.RawMessage) (replayed bool, err error) {
	if strings.TrimSpace(creativeID) == "" || len(creativeID) > MaxIDLength {
		return false, controllerErr(ControllerInvalidParams, "params.creative_id must be a non-empty string of at most %d characters", MaxIDLength)
	}
	status := StatusPendingReview
	if v, ok := fixture["status"]; ok && !isJSONNull(v) {
		if json.Unmarshal(v, &status) != nil || !slices.Contains(validStatuses, status) {
			return false, controllerErr(ControllerInvalidParams, "params.fixture.status must be one of %s", strings.Join(validStatuses, ", "))
		}
	}
	var fid FormatID
	if v, ok := fixture["format_id"]; !ok || json.Unmarshal(v, &fid) != nil || !formatIDPattern.MatchString(fid.ID) {
		return false, controllerErr(ControllerInvalidParams, "params.fixture.format_id must be an object with an id")
	}
	if fid.AgentURL == "" {
		fid.AgentURL = s.registry.AgentURLs()[0]
	}
	name := creativeID
	if v, ok := fixture["name"]; ok && (json.Unmarshal(v, &name) != nil || strings.TrimSpace(name) == "") {
		return false, controllerErr(ControllerInvalidParams, "params.fixture.name must be a non-empty string")
	}
	var tags []string
	if v, ok := fixture["tags"]; ok && json.Unmarshal(v, &tags) != nil {
		return false, controllerErr(ControllerInvalidParams, "params.fixture.tags must be an array of strings")
	}
	body := make(map[string]json.RawMessage, len(fixture)+2)
	for k, v := range fixture {
		if !slices.Contains(sellerOwnedFields, k) {
			body[k] = v
		}
	}
	body["creative_id"], _ = json.Marshal(creativeID)
	body["name"], _ = json.Marshal(name)
	body["format_id"], _ = json.Marshal(fid)
	hash, err := canonicalHash(body)
	if err != nil {
		return false, controllerErr(ControllerInvalidParams, "params.fixture is not valid JSON")
	}
	now := s.now()
	err = s.store.InTx(ctx, func(tx Tx) error {
		current, err := tx.LockCreatives(ctx, acct.ID, []string{creativeID})
		if err != nil {
			return err
		}
		if old, exists := current[creativeID]; exists {
			if old.ContentHash == hash && old.Status == status {
				replayed = true
				return nil
			}
			return controllerErr(ControllerInvalidParams, "creative %s already exists with different content; seed an equivalent fixture or use a new creative_id", creativeID)
		}
		c := Creative{AccountID: acct.ID, CreativeID: creativeID, PlatformID: newID("crv_"), Name: name, FormatID: fid,
			Body: body, Tags: tags, ContentHash: hash, Revision: 1, Status: status, CreatedAt: now, UpdatedAt: now}
		if err := tx.UpsertCreative(ctx, c); err != nil {
			return err
		}
		if status == StatusArchived {
			return tx.ArchiveCreative(ctx, acct.ID, creativeID, c.Revision, now)
		}
		return nil
	})
	return replayed, err
}

// ForceCreativeStatus moves a creative of acct to status along the lifecycle
// graph, as if review (or the buyer, for archive) had done it: approved and
// rejected settle the tasks waiting on that revision like a review decision
// does; archived publishes the same event a delete_missing archive does. It
// returns the previous status.
func (s *Service) ForceCreativeStatus(ctx context.Context, acct Account, creativeID, status, reason, correlationID string) (string, error) {
	if !slices.Contains(validStatuses, status) {
		return "", controllerErr(ControllerInvalidParams, "params.status must be one of %s", strings.Join(validStatuses, ", "))
	}
	now := s.now()
	var previous string
	err := s.store.InTx(ctx, func(tx Tx) error {
		c, err := tx.CreativeForUpdate(ctx, acct.ID, creativeID)
		if errors.Is(err, ErrNotFound) {
			return controllerErr(ControllerNotFound, "creative %s not found in account %s", creativeID, acct.ID)
		}
		if err != nil {
			return err
		}
		previous = c.Status
		if !slices.Contains(creativeTransitions[c.Status], status) {
			return &ControllerError{Code: ControllerInvalidTransition, CurrentState: c.Status,
				Detail: fmt.Sprintf("creative %s cannot go from %s to %s", creativeID, c.Status, status)}
		}
		switch {
		case status == StatusArchived:
			rev := c.Revision + 1
			if err := tx.ArchiveCreative(ctx, acct.ID, creativeID, rev, now); err != nil {
				return err
			}
			return tx.Publish(ctx, &events.CreativeArchivedV1{
				Header:    events.Header{EventID: newUUID(), CorrelationID: correlationID, OccurredAt: now},
				AccountID: acct.ID, CreativeID: creativeID, Revision: rev, Reason: "comply_test_controller",
			})
		case c.ArchivedAt != nil:
			// Unarchiving brings the creative back into the library.
			c.Status, c.UpdatedAt = status, now
			return tx.UpsertCreative(ctx, c)
		case status == StatusApproved || status == StatusRejected:
			d := events.Decision{AccountID: acct.ID, CreativeID: creativeID, Revision: c.Revision, DecidedBy: events.DecidedByHuman,
				Reviewer: "comply_test_controller"}
			if status == StatusRejected {
				if reason == "" {
					reason = "rejected through comply_test_controller"
				}
				d.Reasons = []events.Reason{{Code: "CREATIVE_REJECTED", Message: reason}}
			}
			if err := tx.SetReview(ctx, acct.ID, creativeID, c.Revision, status, d.Reasons); err != nil {
				return err
			}
			return s.settleTasks(ctx, tx, d, status, now, correlationID)
		default:
			return tx.SetReview(ctx, acct.ID, creativeID, c.Revision, status, nil)
		}
	})
	return previous, err
}
