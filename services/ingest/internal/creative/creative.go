// Package creative is ingest's domain: the creative library of each account,
// the format registry it validates against, and the sync_creatives rules of
// AdCP 3.0 (upsert, scoping, delete_missing, dry runs, validation modes,
// assignments, idempotency and async tasks). It takes typed commands that
// the wire layer (internal/adcp) decoded and returns typed results and coded
// errors; it knows nothing of HTTP or MCP. Result types carry AdCP's JSON
// names because the library is the protocol's own model.
package creative

import (
	"encoding/json"
	"time"

	"example.com/creativesync/events"
)

// Creative statuses (enums/creative-status.json).
const (
	StatusProcessing    = "processing"
	StatusPendingReview = "pending_review"
	StatusApproved      = "approved"
	StatusRejected      = "rejected"
	StatusArchived      = "archived"
)

// Per-item actions (enums/creative-action.json).
const (
	ActionCreated   = "created"
	ActionUpdated   = "updated"
	ActionUnchanged = "unchanged"
	ActionFailed    = "failed"
	ActionDeleted   = "deleted"
)

// Principal is an authenticated buyer agent.
type Principal struct {
	ID   string
	Name string
	// AccountApproval is the status this principal's newly declared
	// accounts get: active, or pending_approval until an operator approves.
	AccountApproval string
}

// Account owns a creative library.
type Account struct {
	ID           string
	PrincipalID  string
	Name         string
	BrandDomain  string
	BrandID      string
	Operator     string
	Sandbox      bool
	Status       string
	Billing      string
	PaymentTerms string
	// Declared accounts came through sync_accounts (or a first natural-key
	// use); only they are in delete_missing's scope.
	Declared bool
	// Push is the sync_accounts push_notification_config for status changes.
	Push      *PushConfig
	UpdatedAt time.Time
	// Subscribers are its notification_configs (loaded where needed).
	Subscribers []Subscriber
}

// Key is the account's natural key.
func (a Account) Key() AccountRef {
	return AccountRef{BrandDomain: a.BrandDomain, BrandID: a.BrandID, Operator: a.Operator, Sandbox: a.Sandbox}
}

// AccountRef is how a request names an account: by id or by natural key
// (brand domain + operator, both lower-cased by the decoder).
type AccountRef struct {
	AccountID   string
	BrandDomain string
	BrandID     string
	Operator    string
	Sandbox     bool
}

// IsZero reports whether the reference names nothing.
func (r AccountRef) IsZero() bool { return r.AccountID == "" && r.BrandDomain == "" }

// FormatID references a format (core/format-id.json).
type FormatID struct {
	AgentURL   string `json:"agent_url"`
	ID         string `json:"id"`
	Width      int    `json:"width,omitempty"`
	Height     int    `json:"height,omitempty"`
	DurationMS int    `json:"duration_ms,omitempty"`
}

// Creative is one library entry.
type Creative struct {
	AccountID     string
	CreativeID    string
	PlatformID    string
	Name          string
	FormatID      FormatID
	Body          map[string]json.RawMessage // merged creative object as the buyer sent it
	Tags          []string
	ContentHash   string
	Revision      int64
	Status        string
	ReviewReasons []events.Reason
	CreatedAt     time.Time
	UpdatedAt     time.Time
	ArchivedAt    *time.Time
	Assignments   []Assignment
}

// Assignment places a creative in a package.
type Assignment struct {
	AccountID    string    `json:"-"`
	CreativeID   string    `json:"creative_id"`
	PackageID    string    `json:"package_id"`
	Weight       *float64  `json:"weight,omitempty"`
	PlacementIDs []string  `json:"placement_ids,omitempty"`
	CreatedAt    time.Time `json:"-"`
}

// Package is a media-buy package creatives can be assigned to.
type Package struct {
	ID         string
	MediaBuyID string
	AccountID  string
	Status     string // active | paused | completed | canceled
}

// Error is the AdCP error object (core/error.json).
type Error struct {
	Code       string         `json:"code"`
	Message    string         `json:"message"`
	Field      string         `json:"field,omitempty"`
	Suggestion string         `json:"suggestion,omitempty"`
	RetryAfter int            `json:"retry_after,omitempty"`
	Details    map[string]any `json:"details,omitempty"`
	Recovery   string         `json:"recovery,omitempty"`
}
