package events

import "encoding/json"

// FormatID identifies a creative format as AdCP does: the agent that owns
// the format plus its id, optionally parameterised by size or duration.
type FormatID struct {
	AgentURL   string `json:"agent_url"`
	ID         string `json:"id"`
	Width      int    `json:"width,omitempty"`
	Height     int    `json:"height,omitempty"`
	DurationMS int    `json:"duration_ms,omitempty"`
}

// FormatAsset is one asset slot of a format, as known to ingest when the
// creative was synced. Review checks manifests against this snapshot rather
// than a registry of its own, so both services judge the same definition.
type FormatAsset struct {
	AssetID   string `json:"asset_id"`
	AssetType string `json:"asset_type"`
	Required  bool   `json:"required"`
}

// FormatSnapshot is the definition of the creative's format at sync time.
type FormatSnapshot struct {
	Name   string        `json:"name"`
	Assets []FormatAsset `json:"assets"`
}

// CreativeSyncedV1 is published by ingest for every creative created or
// updated by a sync, in the same transaction as the library row.
type CreativeSyncedV1 struct {
	Header
	AccountID   string          `json:"account_id"`
	PrincipalID string          `json:"principal_id"`
	CreativeID  string          `json:"creative_id"`
	Revision    int64           `json:"revision"`
	Action      string          `json:"action"` // created | updated
	ContentHash string          `json:"content_hash"`
	Name        string          `json:"name"`
	FormatID    FormatID        `json:"format_id"`
	Format      *FormatSnapshot `json:"format,omitempty"` // nil when the format is unknown to ingest
	Assets      json.RawMessage `json:"assets"`
	Tags        []string        `json:"tags,omitempty"`
	Provenance  json.RawMessage `json:"provenance,omitempty"`
	TaskID      string          `json:"task_id,omitempty"` // set when the sync answered "submitted"
}

func (*CreativeSyncedV1) EventName() string { return "creative_synced_v1" }

// CreativeArchivedV1 is published by ingest when a creative leaves the active
// library (delete_missing, or a buyer archive).
type CreativeArchivedV1 struct {
	Header
	AccountID  string `json:"account_id"`
	CreativeID string `json:"creative_id"`
	Revision   int64  `json:"revision"`
	Reason     string `json:"reason"`
}

func (*CreativeArchivedV1) EventName() string { return "creative_archived_v1" }

// WebhookAuth is the buyer's legacy authentication choice from
// push_notification_config.authentication. Absent means RFC 9421 signing.
type WebhookAuth struct {
	Scheme      string `json:"scheme"` // Bearer | HMAC-SHA256
	Credentials string `json:"credentials"`
}

// NotificationRequestedV1 asks the notifier to deliver Payload to URL.
// Ingest composes the AdCP webhook body; the notifier signs and sends those
// exact bytes, retrying until delivered or expired. IdempotencyKey is the
// payload's idempotency_key and stays the same across retries.
type NotificationRequestedV1 struct {
	Header
	IdempotencyKey string          `json:"idempotency_key"`
	AccountID      string          `json:"account_id"`
	TaskID         string          `json:"task_id,omitempty"`
	Kind           string          `json:"kind"` // e.g. task_status
	URL            string          `json:"url"`
	Token          string          `json:"token,omitempty"`
	Auth           *WebhookAuth    `json:"auth,omitempty"`
	Payload        json.RawMessage `json:"payload"`
}

func (*NotificationRequestedV1) EventName() string { return "notification_requested_v1" }

// CreativeSyncFileRequestedV1 asks ingest to process one file of a Drive
// creative_sync job. Ingest both produces and consumes it: the job's rows
// commit with these events, and JetStream drives the per-file work, so a
// crash or restart resumes where it stopped and files are processed in
// parallel across replicas.
type CreativeSyncFileRequestedV1 struct {
	Header
	JobID     string `json:"job_id"`
	AccountID string `json:"account_id"`
	Position  int    `json:"position"`
}

func (*CreativeSyncFileRequestedV1) EventName() string { return "creative_sync_file_requested_v1" }
