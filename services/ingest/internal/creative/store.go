package creative

import (
	"context"
	"encoding/json"
	"time"

	"example.com/creativesync/events"
)

// Store is what the domain needs from persistence. Transactions belong to
// the store: the domain passes a function that runs inside one.
type Store interface {
	PrincipalByKeyHash(ctx context.Context, keyHash string) (Principal, error)
	AccountByID(ctx context.Context, principalID, accountID string) (Account, error)
	AccountByNaturalKey(ctx context.Context, principalID, brandDomain, operator string, sandbox bool) (Account, error)
	// ProductionAccounts returns at most two non-sandbox accounts of the
	// principal (AdCP 2 requests name no account).
	ProductionAccounts(ctx context.Context, principalID string) ([]Account, error)
	// MediaBuyPackages returns the account of a media buy the principal
	// owns and its package ids (ErrNotFound otherwise).
	MediaBuyPackages(ctx context.Context, principalID, mediaBuyID string) (accountID string, packageIDs []string, err error)
	Formats(ctx context.Context) ([]Format, error)
	ListCreatives(ctx context.Context, q ListQuery) (ListPage, error)
	Task(ctx context.Context, principalID, taskID string) (Task, error)
	InTx(ctx context.Context, fn func(Tx) error) error
	// Job returns a creative_sync job and its files by position.
	Job(ctx context.Context, jobID string) (Job, []JobFile, error)
	SandboxFormats(ctx context.Context, principalID string) ([]Format, error)
	AddSandboxFormat(ctx context.Context, principalID string, f Format, limit int) (existing json.RawMessage, err error)
}

// Tx is the work one use case does atomically: library rows, assignments,
// task rows, the idempotency record and the outbox events commit together.
type Tx interface {
	// ClaimIdempotencyKey inserts rec, or returns the record that holds the
	// key. A concurrent transaction holding the same key makes this wait
	// until that transaction ends, so identical requests execute once.
	ClaimIdempotencyKey(ctx context.Context, rec IdempotencyRecord) (existing *IdempotencyRecord, err error)
	SaveIdempotencyResponse(ctx context.Context, rec IdempotencyRecord) error
	// LoadSyncState locks and reads what a sync of these creatives needs.
	// Writers of one creative serialize on it, including two first syncs
	// of an id that does not exist yet, so every stored revision is unique.
	// withLibrary also locks and reads the unarchived library for
	// delete_missing; packageIDs are the packages assignments name.
	LoadSyncState(ctx context.Context, accountID string, creativeIDs []string, withLibrary bool, packageIDs []string) (SyncState, error)
	// CommitSync writes a planned sync with a constant number of
	// statements, whatever the number of creatives.
	CommitSync(ctx context.Context, w SyncWrites) error

	// Single-creative operations (review decisions, the test controller).
	CreativeForUpdate(ctx context.Context, accountID, creativeID string) (Creative, error)
	UpsertCreative(ctx context.Context, c Creative) error
	ArchiveCreative(ctx context.Context, a Archive) error
	SetReview(ctx context.Context, accountID, creativeID string, revision int64, status string, reasons []events.Reason) error
	PendingTaskItems(ctx context.Context, accountID, creativeID string, revision int64) ([]TaskItem, error)
	DecideTaskItem(ctx context.Context, item TaskItem) error
	TaskForUpdate(ctx context.Context, taskID string) (Task, []TaskItem, error)
	CompleteTask(ctx context.Context, t Task) error
	Publish(ctx context.Context, evs ...events.Event) error

	// creative_sync jobs.
	JobByIdempotencyKey(ctx context.Context, principalID, key string) (Job, []JobFile, error)
	CreateJob(ctx context.Context, j Job, files []JobFile) error
	// JobForUpdate locks a job and returns it with its files by position.
	JobForUpdate(ctx context.Context, jobID string) (Job, []JobFile, error)
	SaveJobFile(ctx context.Context, f JobFile) error
	AddJobFiles(ctx context.Context, files []JobFile) error
	UpdateJob(ctx context.Context, j Job) error
	// DecideJobFiles marks the files waiting on a creative revision decided
	// with status and returns their jobs' ids.
	DecideJobFiles(ctx context.Context, accountID, creativeID string, revision int64, status string) ([]string, error)
}

// IdempotencyRecord remembers a mutating request's hash and its response.
type IdempotencyRecord struct {
	PrincipalID string
	AccountID   string
	Key         string
	RequestHash string
	Response    json.RawMessage // nil while in flight or after expiry
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// Task is an async operation a buyer can poll and be notified about.
type Task struct {
	ID          string
	PrincipalID string
	AccountID   string
	Type        string
	Status      string
	Context     json.RawMessage
	Push        *PushConfig
	Result      json.RawMessage
	CreatedAt   time.Time
	UpdatedAt   time.Time
	CompletedAt *time.Time
	// MajorVersion is the AdCP major of the request that started the
	// task; the result is written in its shape (Options.EncodeResult).
	MajorVersion int
}

// TaskItem is one creative of a task; the task completes when every item
// is decided.
type TaskItem struct {
	TaskID     string
	AccountID  string
	CreativeID string
	Revision   int64
	Position   int
	Outcome    SyncResult
	Decided    bool
}
