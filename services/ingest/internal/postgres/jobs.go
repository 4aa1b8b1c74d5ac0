package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"example.com/creativesync/platform/inspect"
	"example.com/creativesync/services/ingest/internal/creative"
)

type jobRow struct {
	ID             string     `db:"job_id"`
	PrincipalID    string     `db:"principal_id"`
	AccountID      string     `db:"account_id"`
	Status         string     `db:"status"`
	Message        string     `db:"message"`
	WebhookURL     string     `db:"webhook_url"`
	IdempotencyKey string     `db:"idempotency_key"`
	RequestHash    string     `db:"request_hash"`
	Notified       bool       `db:"notified"`
	CreatedAt      time.Time  `db:"created_at"`
	UpdatedAt      time.Time  `db:"updated_at"`
	CompletedAt    *time.Time `db:"completed_at"`
}

func (r jobRow) domain() creative.Job {
	return creative.Job{ID: r.ID, PrincipalID: r.PrincipalID, AccountID: r.AccountID, Status: r.Status, Message: r.Message,
		WebhookURL: r.WebhookURL, IdempotencyKey: r.IdempotencyKey, RequestHash: r.RequestHash, Notified: r.Notified,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), CompletedAt: r.CompletedAt}
}

type jobFileRow struct {
	JobID          string `db:"job_id" json:"job_id"`
	Position       int    `db:"position" json:"position"`
	Link           string `db:"link" json:"link"`
	DriveID        string `db:"drive_id" json:"drive_id"`
	ResourceKey    string `db:"resource_key" json:"resource_key"`
	Folder         bool   `db:"folder" json:"folder"`
	Status         string `db:"status" json:"status"`
	Reason         string `db:"reason" json:"reason"`
	Name           string `db:"name" json:"name"`
	Inspection     []byte `db:"inspection" json:"-"`
	MD5            string `db:"md5" json:"md5"`
	CreativeID     string `db:"creative_id" json:"creative_id"`
	FormatID       string `db:"format_id" json:"format_id"`
	Revision       int64  `db:"revision" json:"revision"`
	Action         string `db:"action" json:"action"`
	CreativeStatus string `db:"creative_status" json:"creative_status"`
	Decided        bool   `db:"decided" json:"decided"`
}

func (r jobFileRow) domain() (creative.JobFile, error) {
	f := creative.JobFile{JobID: r.JobID, Position: r.Position, Link: r.Link, DriveID: r.DriveID, ResourceKey: r.ResourceKey,
		Folder: r.Folder, Status: r.Status, Reason: r.Reason, Name: r.Name, MD5: r.MD5, CreativeID: r.CreativeID,
		FormatID: r.FormatID, Revision: r.Revision, Action: r.Action, CreativeStatus: r.CreativeStatus, Decided: r.Decided}
	if len(r.Inspection) > 0 {
		f.Inspection = &inspect.Result{}
		if err := json.Unmarshal(r.Inspection, f.Inspection); err != nil {
			return f, fmt.Errorf("job %s file %d inspection: %w", r.JobID, r.Position, err)
		}
	}
	return f, nil
}

func jobFileRowOf(f creative.JobFile) (jobFileRow, error) {
	r := jobFileRow{JobID: f.JobID, Position: f.Position, Link: f.Link, DriveID: f.DriveID, ResourceKey: f.ResourceKey,
		Folder: f.Folder, Status: f.Status, Reason: f.Reason, Name: f.Name, MD5: f.MD5, CreativeID: f.CreativeID,
		FormatID: f.FormatID, Revision: f.Revision, Action: f.Action, CreativeStatus: f.CreativeStatus, Decided: f.Decided}
	if f.Inspection != nil {
		b, err := json.Marshal(f.Inspection)
		if err != nil {
			return r, err
		}
		r.Inspection = b
	}
	return r, nil
}

// jobFileIn is a file row as jsonb_to_recordset reads it.
type jobFileIn struct {
	jobFileRow
	InspectionJSON json.RawMessage `json:"inspection"`
}

const jobColumns = `job_id, principal_id, account_id, status, message, webhook_url, idempotency_key, request_hash, notified, created_at, updated_at, completed_at`

const jobFileColumns = `job_id, position, link, drive_id, resource_key, folder, status, reason, name, inspection, md5, creative_id, format_id, revision, action, creative_status, decided`

const (
	selectJob          = `SELECT ` + jobColumns + ` FROM sync_jobs WHERE job_id = $1`
	selectJobForUpdate = `SELECT ` + jobColumns + ` FROM sync_jobs WHERE job_id = $1 FOR UPDATE`
	selectJobByIdemKey = `SELECT ` + jobColumns + ` FROM sync_jobs WHERE principal_id = $1 AND idempotency_key = $2`
	selectJobFiles     = `SELECT ` + jobFileColumns + ` FROM sync_job_files WHERE job_id = $1 ORDER BY position`
	insertJob          = `INSERT INTO sync_jobs (` + jobColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`
	updateJob          = `UPDATE sync_jobs SET status = $2, message = $3, notified = $4, updated_at = $5, completed_at = $6 WHERE job_id = $1`
	insertJobFiles     = `
INSERT INTO sync_job_files (` + jobFileColumns + `)
SELECT r.job_id, r.position, r.link, r.drive_id, r.resource_key, r.folder, r.status, r.reason, r.name, r.inspection, r.md5,
       r.creative_id, r.format_id, r.revision, r.action, r.creative_status, r.decided
FROM jsonb_to_recordset($1::jsonb) AS r(job_id text, position int, link text, drive_id text, resource_key text, folder boolean,
    status text, reason text, name text, inspection jsonb, md5 text, creative_id text, format_id text, revision bigint,
    action text, creative_status text, decided boolean)`
	saveJobFile = `
UPDATE sync_job_files SET status = $3, reason = $4, name = $5, inspection = $6, md5 = $7, creative_id = $8, format_id = $9,
    revision = $10, action = $11, creative_status = $12, decided = $13
WHERE job_id = $1 AND position = $2`
	// A decision settles the files of this account's creative revision; the
	// join keeps another account's creative with the same id out.
	decideJobFiles = `
UPDATE sync_job_files f SET decided = true, creative_status = $4
FROM sync_jobs j
WHERE j.job_id = f.job_id AND j.account_id = $1 AND f.creative_id = $2 AND f.revision = $3 AND f.status = 'done' AND NOT f.decided
RETURNING f.job_id`
)

func (s *Store) Job(ctx context.Context, jobID string) (creative.Job, []creative.JobFile, error) {
	var r jobRow
	if err := s.db.GetContext(ctx, &r, selectJob, jobID); err != nil {
		return creative.Job{}, nil, notFound(err)
	}
	files, err := s.jobFiles(ctx, s.db, jobID)
	return r.domain(), files, err
}

type selecter interface {
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
}

func (s *Store) jobFiles(ctx context.Context, q selecter, jobID string) ([]creative.JobFile, error) {
	var rows []jobFileRow
	if err := q.SelectContext(ctx, &rows, selectJobFiles, jobID); err != nil {
		return nil, fmt.Errorf("reading job files: %w", err)
	}
	out := make([]creative.JobFile, len(rows))
	for i, r := range rows {
		f, err := r.domain()
		if err != nil {
			return nil, err
		}
		out[i] = f
	}
	return out, nil
}

func (t *txn) JobByIdempotencyKey(ctx context.Context, principalID, key string) (creative.Job, []creative.JobFile, error) {
	var r jobRow
	if err := t.tx.GetContext(ctx, &r, selectJobByIdemKey, principalID, key); err != nil {
		return creative.Job{}, nil, notFound(err)
	}
	files, err := t.s.jobFiles(ctx, t.tx, r.ID)
	return r.domain(), files, err
}

func (t *txn) CreateJob(ctx context.Context, j creative.Job, files []creative.JobFile) error {
	if _, err := t.tx.ExecContext(ctx, insertJob, j.ID, j.PrincipalID, j.AccountID, j.Status, j.Message, j.WebhookURL,
		j.IdempotencyKey, j.RequestHash, j.Notified, j.CreatedAt, j.UpdatedAt, j.CompletedAt); err != nil {
		return fmt.Errorf("creating job: %w", err)
	}
	return t.AddJobFiles(ctx, files)
}

func (t *txn) AddJobFiles(ctx context.Context, files []creative.JobFile) error {
	rows := make([]jobFileIn, len(files))
	for i, f := range files {
		r, err := jobFileRowOf(f)
		if err != nil {
			return err
		}
		rows[i] = jobFileIn{jobFileRow: r, InspectionJSON: r.Inspection}
	}
	return t.execRecords(ctx, "job files", insertJobFiles, rows, len(rows))
}

func (t *txn) JobForUpdate(ctx context.Context, jobID string) (creative.Job, []creative.JobFile, error) {
	var r jobRow
	if err := t.tx.GetContext(ctx, &r, selectJobForUpdate, jobID); err != nil {
		return creative.Job{}, nil, notFound(err)
	}
	files, err := t.s.jobFiles(ctx, t.tx, jobID)
	return r.domain(), files, err
}

func (t *txn) SaveJobFile(ctx context.Context, f creative.JobFile) error {
	r, err := jobFileRowOf(f)
	if err != nil {
		return err
	}
	_, err = t.tx.ExecContext(ctx, saveJobFile, r.JobID, r.Position, r.Status, r.Reason, r.Name, nullJSON(r.Inspection), r.MD5,
		r.CreativeID, r.FormatID, r.Revision, r.Action, r.CreativeStatus, r.Decided)
	return err
}

func (t *txn) UpdateJob(ctx context.Context, j creative.Job) error {
	_, err := t.tx.ExecContext(ctx, updateJob, j.ID, j.Status, j.Message, j.Notified, j.UpdatedAt, j.CompletedAt)
	return err
}

func (t *txn) DecideJobFiles(ctx context.Context, accountID, creativeID string, revision int64, status string) ([]string, error) {
	var ids []string
	if err := t.tx.SelectContext(ctx, &ids, decideJobFiles, accountID, creativeID, revision, status); err != nil {
		return nil, fmt.Errorf("settling job files: %w", err)
	}
	// A job with several files of one creative is advanced once.
	out := ids[:0]
	seen := map[string]bool{}
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}
