package creative

import (
	"encoding/json"
	"time"
)

// Limits on what one request may carry. They keep one sync from
// monopolising Postgres or the review pipeline, and keep every event a sync
// can cause (creative_synced_v1 carries a creative's assets; the task
// webhook carries every outcome plus the buyer's context) far below the
// broker's 1 MiB message limit.
const (
	MaxCreativesPerSync  = 100
	MaxIDLength          = 255
	MaxNameLength        = 1024
	MaxTags              = 50
	MaxTagLength         = 255
	MaxAssetsPerCreative = 50
	MaxAssignments       = 1000
	MaxURLLength         = 4096
	// MaxCreativeBytes bounds one creative object as sent (HTML and
	// JavaScript assets travel inline, so this is generous).
	MaxCreativeBytes = 256 << 10
	// MaxContextBytes bounds the opaque context a buyer asks us to echo.
	MaxContextBytes = 16 << 10
)

// SupportedMajorVersions are the AdCP majors this seller speaks; 2 is
// accepted for the older assignments map shape buyers still send.
var SupportedMajorVersions = []int{2, 3}

// PushConfig is push_notification_config.
type PushConfig struct {
	URL            string    `json:"url"`
	Token          string    `json:"token,omitempty"`
	Authentication *PushAuth `json:"authentication,omitempty"`
}

// PushAuth is the legacy authentication block.
type PushAuth struct {
	Schemes     []string `json:"schemes"`
	Credentials string   `json:"credentials"`
}

// SyncCommand is a decoded sync_creatives request.
type SyncCommand struct {
	MajorVersion int
	Account      AccountRef
	Creatives    []Input
	CreativeIDs  []string
	Assignments  []Assignment
	// IdempotencyKey protects the request from running twice; empty only
	// for shapes that predate idempotency (the sales-agent route), which
	// are then simply not replay-protected.
	IdempotencyKey string
	// RequestHash identifies the request's content for idempotency (the
	// wire layer computes it from the body as received).
	RequestHash   string
	DeleteMissing bool
	DryRun        bool
	Lenient       bool
	Push          *PushConfig
	Context       json.RawMessage
	// KeepIDs are creatives delete_missing spares besides the sync's own:
	// the sales-agent route's creative_ids, "the canonical set".
	KeepIDs []string
}

// Input is one item of creatives[], decoded enough to route it; Body keeps
// every field the buyer sent (minus delivery-only fields).
type Input struct {
	Index      int
	CreativeID string
	Name       string
	FormatID   FormatID
	Assets     map[string]json.RawMessage
	Tags       []string
	Body       map[string]json.RawMessage
	// ContentHash is the canonical hash of Body, computed while decoding.
	ContentHash string
	Errors      []Error // structural problems found while decoding
	// AssetsFor, when set, builds the assets from a payload that is not
	// keyed by the format's asset ids (the sales-agent route's flat
	// {url, width, height} or {vast_url, duration_seconds}): only the
	// resolved format says which slot each value fills, and the domain
	// resolves formats. The wire layer that decoded the payload supplies
	// the mapping, so the domain never learns that dialect.
	AssetsFor func(Format) (map[string]json.RawMessage, []Error)
}

// MediaBuySync is the sales-agent route's request: a sync into the media
// buy's account that also assigns every creative to the buy's packages
// when the request names no assignments.
type MediaBuySync struct {
	MediaBuyID string
	Sync       SyncCommand
	// Assign maps media buy ids to the creatives of this sync to assign to
	// every package of that buy (the route's assignments map); nil means
	// every creative to the route's media buy.
	Assign map[string][]string
}

// ListQuery is a resolved list_creatives request.
type ListQuery struct {
	PrincipalID        string // only this principal's accounts are ever visible
	Accounts           []AccountRef
	AccountIDs         []string
	CreativeIDs        []string
	Statuses           []string
	FormatIDs          []string
	Tags               []string // all must match
	TagsAny            []string
	NameContains       string
	CreatedAfter       *time.Time
	CreatedBefore      *time.Time
	UpdatedAfter       *time.Time
	UpdatedBefore      *time.Time
	IncludeArchived    bool
	SortField          string
	SortDesc           bool
	Limit              int
	After              *Cursor
	IncludeAssignments bool
	FiltersApplied     []string
	Context            json.RawMessage
}

// FormatsQuery is a decoded list_creative_formats request.
type FormatsQuery struct {
	FormatIDs  []string
	AssetTypes []string
	Type       string
	Account    *AccountRef // needs credentials; nil lists the public catalog
	Limit      int
	After      string // format id the previous page ended with
	Context    json.RawMessage
}
