package creative

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
func (s *Service) SandboxAccount(ctx context.Context, p Principal, ref *AccountRef) (Account, error) {
	if ref == nil || ref.IsZero() {
		return Account{}, controllerErr(ControllerInvalidParams, "this scenario needs account: a sandbox account of yours")
	}
	a, err := s.ResolveAccount(ctx, p, *ref)
	if re := AsRejection(err); re != nil {
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
	return NewRegistry(formats, s.registry.AgentURLs()).withAgents(s.registry.outside), nil
}

// FormatFixture is a seed_creative_format request: a partial AdCP format
// object whose format_id is ours to set.
type FormatFixture struct {
	FormatID   string
	Definition map[string]json.RawMessage
}

// SeedFormat adds a format to acct's principal's sandbox catalog. Seeding
// the same id again with an equivalent fixture succeeds (replayed); a
// different one is refused.
func (s *Service) SeedFormat(ctx context.Context, acct Account, fx FormatFixture) (replayed bool, err error) {
	def := make(map[string]json.RawMessage, len(fx.Definition)+2)
	for k, v := range fx.Definition {
		def[k] = v
	}
	ours := s.registry.AgentURLs()
	if def["format_id"], err = json.Marshal(FormatID{AgentURL: ours[0], ID: fx.FormatID}); err != nil {
		return false, err
	}
	var name string
	if v, ok := def["name"]; ok && json.Unmarshal(v, &name) != nil {
		return false, controllerErr(ControllerInvalidParams, "params.fixture.name must be a string")
	}
	if strings.TrimSpace(name) == "" {
		if def["name"], err = json.Marshal(fx.FormatID); err != nil {
			return false, err
		}
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
			return false, controllerErr(ControllerInvalidParams, "format %s was already seeded with a different fixture; seed an equivalent fixture or use a new format_id", fx.FormatID)
		}
		return true, nil
	}
	return false, nil
}

// CreativeFixture is a seed_creative request, decoded: the creative object
// (creative_id, name and format_id filled in) and its status.
type CreativeFixture struct {
	CreativeID string
	Name       string
	FormatID   FormatID // AgentURL empty means ours
	Tags       []string
	Status     string
	Body       map[string]json.RawMessage
}

// SeedCreative puts a creative into acct's library as a fixture. Fixtures
// do not enter review: no event is published. Seeding the same id again
// with an equivalent fixture succeeds (replayed); anything else under that
// id is refused, so a seed never overwrites a buyer's creative.
func (s *Service) SeedCreative(ctx context.Context, acct Account, fx CreativeFixture) (replayed bool, err error) {
	if fx.Status == "" {
		fx.Status = StatusPendingReview
	}
	if !slices.Contains(validStatuses, fx.Status) {
		return false, controllerErr(ControllerInvalidParams, "params.fixture.status must be one of %s", strings.Join(validStatuses, ", "))
	}
	if fx.FormatID.AgentURL == "" {
		fx.FormatID.AgentURL = s.registry.AgentURLs()[0]
	}
	body := make(map[string]json.RawMessage, len(fx.Body)+3)
	for k, v := range fx.Body {
		if !slices.Contains(sellerOwnedFields, k) {
			body[k] = v
		}
	}
	for k, v := range map[string]any{"creative_id": fx.CreativeID, "name": fx.Name, "format_id": fx.FormatID} {
		if body[k], err = json.Marshal(v); err != nil {
			return false, err
		}
	}
	hash, err := CanonicalHash(body)
	if err != nil {
		return false, controllerErr(ControllerInvalidParams, "params.fixture cannot be canonicalised: %v", err)
	}
	now := s.now()
	err = s.store.InTx(ctx, func(tx Tx) error {
		replayed = false
		old, err := tx.CreativeForUpdate(ctx, acct.ID, fx.CreativeID)
		switch {
		case err == nil:
			if old.ContentHash == hash && old.Status == fx.Status {
				replayed = true
				return nil
			}
			return controllerErr(ControllerInvalidParams, "creative %s already exists with different content; seed an equivalent fixture or use a new creative_id", fx.CreativeID)
		case !errors.Is(err, ErrNotFound):
			return err
		}
		c := Creative{AccountID: acct.ID, CreativeID: fx.CreativeID, PlatformID: newID("crv_"), Name: fx.Name, FormatID: fx.FormatID,
			Body: body, Tags: fx.Tags, ContentHash: hash, Revision: 1, Status: fx.Status, CreatedAt: now, UpdatedAt: now}
		if err := tx.UpsertCreative(ctx, c); err != nil {
			return err
		}
		if fx.Status == StatusArchived {
			return tx.ArchiveCreative(ctx, Archive{AccountID: acct.ID, CreativeID: fx.CreativeID, Revision: c.Revision, At: now})
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
			if err := tx.ArchiveCreative(ctx, Archive{AccountID: acct.ID, CreativeID: creativeID, Revision: rev, At: now}); err != nil {
				return err
			}
			return tx.Publish(ctx, &events.CreativeArchivedV1{
				Header:    events.Header{EventID: newEventID(), CorrelationID: correlationID, OccurredAt: now},
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
