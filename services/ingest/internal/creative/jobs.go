package creative

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/inspect"
)

// This file is the Drive-link face of the library (the creative_sync job
// API of the first seed): a buyer names files in Google Drive and an ad
// account; each file is fetched, inspected, matched to a format and synced
// into the library like any creative, and a webhook reports the job once
// its creatives are decided. The job and its files are rows; per-file work
// is driven by creative_sync_file_requested_v1 messages, so a crash or a
// restart resumes where it stopped.

// Job and file statuses. A job is pending until a file is worked on,
// running while files are, then completed (at least one file became a
// creative) or failed (none did).
const (
	JobPending   = "pending"
	JobRunning   = "running"
	JobCompleted = "completed"
	JobFailed    = "failed"

	FilePending  = "pending"
	FileDone     = "done"
	FileFailed   = "failed"
	FileExpanded = "expanded" // a folder, replaced by its files
)

// JobLink is one entry of file_links, parsed.
type JobLink struct {
	Link        string // as the buyer sent it
	ID          string
	ResourceKey string
	Folder      bool
}

// JobCommand is a decoded POST /api/external/creative_sync.
type JobCommand struct {
	AccountID      string
	Links          []JobLink
	WebhookURL     string
	IdempotencyKey string // Idempotency-Key header; empty: not replay-protected
	RequestHash    string
}

// Job is a creative_sync job.
type Job struct {
	ID             string
	PrincipalID    string
	AccountID      string
	Status         string
	Message        string
	WebhookURL     string
	IdempotencyKey string
	RequestHash    string
	Notified       bool
	CreatedAt      time.Time
	UpdatedAt      time.Time
	CompletedAt    *time.Time
}

// JobFile is one file (or folder) of a job and what became of it.
type JobFile struct {
	JobID          string
	Position       int
	Link           string
	DriveID        string
	ResourceKey    string
	Folder         bool
	Status         string
	Reason         string
	Name           string
	Inspection     *inspect.Result
	MD5            string
	CreativeID     string
	FormatID       string
	Revision       int64
	Action         string
	CreativeStatus string
	Decided        bool
}

func (f JobFile) terminal() bool { return f.Status != FilePending }

// SourceFile is a file's metadata at its source (Drive).
type SourceFile struct {
	ID          string
	ResourceKey string
	Name        string
	MIMEType    string
	Size        int64
	MD5         string
	Folder      bool
}

// SourceError is a failure of the file source. Permanent ones (not found,
// no permission) end the file; others are retried with the message.
type SourceError struct {
	Reason    string
	Permanent bool
}

func (e *SourceError) Error() string { return e.Reason }

// FileSource is where job files come from (Google Drive).
type FileSource interface {
	Stat(ctx context.Context, l JobLink) (SourceFile, error)
	List(ctx context.Context, folder JobLink, max int) ([]SourceFile, error)
	// Copy streams the file's content into dst.
	Copy(ctx context.Context, l JobLink, dst io.Writer) (int64, error)
}

// AssetStore keeps fetched assets, content-addressed, and says where the
// world reads them.
type AssetStore interface {
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	URL(key string) string
}

// JobOptions configures Drive jobs; without Files they are refused.
type JobOptions struct {
	Files  FileSource
	Assets AssetStore
	// MaxLinks bounds file_links (default 100); MaxFolderFiles a folder's
	// files (default 500); MaxFileBytes one file (default 512 MiB).
	MaxLinks       int
	MaxFolderFiles int
	MaxFileBytes   int64
	// TempDir holds files while they are inspected (default os.TempDir()).
	TempDir string
}

func (o *JobOptions) defaults() {
	if o.MaxLinks <= 0 {
		o.MaxLinks = 100
	}
	if o.MaxFolderFiles <= 0 {
		o.MaxFolderFiles = 500
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = 512 << 20
	}
}

// JobsEnabled reports whether this seller can run Drive jobs.
func (s *Service) JobsEnabled() bool { return s.jobs.Files != nil && s.jobs.Assets != nil }

// MaxJobLinks is how many file_links one job may name.
func (s *Service) MaxJobLinks() int { return s.jobs.MaxLinks }

// JobView is GET /api/external/creative_sync/{job_id}'s answer and, once
// the job is done and decided, its webhook body: the seed's {job_id,
// status, message} plus counts and per-file results.
type JobView struct {
	JobID       string        `json:"job_id"`
	Status      string        `json:"status"`
	Message     string        `json:"message"`
	AdAccountID string        `json:"ad_account_id"`
	Counts      JobCounts     `json:"counts"`
	Files       []JobFileView `json:"files"`
	CreatedAt   time.Time     `json:"created_at"`
	UpdatedAt   time.Time     `json:"updated_at"`
	CompletedAt *time.Time    `json:"completed_at,omitempty"`
}

// JobCounts summarises a job's files (folders are not counted, their files
// are).
type JobCounts struct {
	Total         int `json:"total"`
	Pending       int `json:"pending"`
	Done          int `json:"done"`
	Failed        int `json:"failed"`
	PendingReview int `json:"pending_review"`
	Approved      int `json:"approved"`
	Rejected      int `json:"rejected"`
}

// JobFileView is one file in a JobView.
type JobFileView struct {
	Link           string          `json:"link"`
	FileID         string          `json:"file_id"`
	Name           string          `json:"name,omitempty"`
	Status         string          `json:"status"`
	Reason         string          `json:"reason,omitempty"`
	CreativeID     string          `json:"creative_id,omitempty"`
	FormatID       string          `json:"format_id,omitempty"`
	Action         string          `json:"action,omitempty"`
	CreativeStatus string          `json:"creative_status,omitempty"`
	Inspection     *inspect.Result `json:"inspection,omitempty"`
}

func viewOf(j Job, files []JobFile) JobView {
	v := JobView{JobID: j.ID, Status: j.Status, Message: j.Message, AdAccountID: j.AccountID, CreatedAt: j.CreatedAt,
		UpdatedAt: j.UpdatedAt, CompletedAt: j.CompletedAt, Files: make([]JobFileView, 0, len(files))}
	for _, f := range files {
		v.Files = append(v.Files, JobFileView{Link: f.Link, FileID: f.DriveID, Name: f.Name, Status: f.Status, Reason: f.Reason,
			CreativeID: f.CreativeID, FormatID: f.FormatID, Action: f.Action, CreativeStatus: f.CreativeStatus, Inspection: f.Inspection})
		if f.Status == FileExpanded {
			continue
		}
		v.Counts.Total++
		switch f.Status {
		case FilePending:
			v.Counts.Pending++
		case FileFailed:
			v.Counts.Failed++
		case FileDone:
			v.Counts.Done++
			switch f.CreativeStatus {
			case StatusApproved:
				v.Counts.Approved++
			case StatusRejected:
				v.Counts.Rejected++
			default:
				v.Counts.PendingReview++
			}
		}
	}
	return v
}

// jobStartedMessage is the seed's message for a job just accepted.
const jobStartedMessage = "Uploading files is running"

// CreateJob accepts a creative_sync job: the job, its files and one work
// message per file commit together. The same Idempotency-Key with the
// same body returns the first job; with another body it is a conflict.
func (s *Service) CreateJob(ctx context.Context, p Principal, cmd JobCommand, correlationID string) (JobView, error) {
	if !s.JobsEnabled() {
		return JobView{}, Reject(CodeUnsupportedFeature, "", "creative_sync from Google Drive is not configured on this seller")
	}
	acct, err := s.ResolveAccount(ctx, p, AccountRef{AccountID: cmd.AccountID})
	if err == nil {
		// A job writes the account's library: the same status gate as a
		// sync (ResolveAccount itself lets suspended accounts be read).
		err = gateWrite(acct)
	}
	if re := AsRejection(err); re != nil {
		re.Errors[0].Field = "ad_account_id"
		return JobView{}, re
	}
	if err != nil {
		return JobView{}, err
	}
	var view JobView
	err = s.store.InTx(ctx, func(tx Tx) error {
		if cmd.IdempotencyKey != "" {
			prior, files, err := tx.JobByIdempotencyKey(ctx, p.ID, cmd.IdempotencyKey)
			switch {
			case err == nil && prior.RequestHash != cmd.RequestHash:
				return Reject(CodeIdempotencyConflict, "Idempotency-Key", "this Idempotency-Key was already used with a different request; use a new key for a new job")
			case err == nil:
				view = viewOf(prior, files)
				return nil
			case !errors.Is(err, ErrNotFound):
				return err
			}
		}
		now := s.now()
		job := Job{ID: newID("job_"), PrincipalID: p.ID, AccountID: acct.ID, Status: JobPending, Message: jobStartedMessage,
			WebhookURL: cmd.WebhookURL, IdempotencyKey: cmd.IdempotencyKey, RequestHash: cmd.RequestHash, CreatedAt: now, UpdatedAt: now}
		files := make([]JobFile, len(cmd.Links))
		evs := make([]events.Event, len(cmd.Links))
		for i, l := range cmd.Links {
			files[i] = JobFile{JobID: job.ID, Position: i, Link: l.Link, DriveID: l.ID, ResourceKey: l.ResourceKey, Folder: l.Folder, Status: FilePending}
			evs[i] = fileRequested(job, i, now, correlationID)
		}
		if err := tx.CreateJob(ctx, job, files); err != nil {
			return err
		}
		view = viewOf(job, files)
		return tx.Publish(ctx, evs...)
	})
	return view, err
}

func fileRequested(j Job, position int, now time.Time, correlationID string) *events.CreativeSyncFileRequestedV1 {
	return &events.CreativeSyncFileRequestedV1{Header: events.Header{EventID: newEventID(), CorrelationID: correlationID, OccurredAt: now},
		JobID: j.ID, AccountID: j.AccountID, Position: position}
}

// GetJob reports a job of p's; another principal's job is not found.
func (s *Service) GetJob(ctx context.Context, p Principal, jobID string) (JobView, error) {
	j, files, err := s.store.Job(ctx, jobID)
	if errors.Is(err, ErrNotFound) || (err == nil && j.PrincipalID != p.ID) {
		return JobView{}, Reject(CodeReferenceNotFound, "job_id", "no such job")
	}
	if err != nil {
		return JobView{}, err
	}
	return viewOf(j, files), nil
}

// ProcessJobFile does the work of one file of a job. Failures of the file
// itself (missing, forbidden, too large, unsupported) are recorded on it;
// an error returned is transient and the message is redelivered.
func (s *Service) ProcessJobFile(ctx context.Context, jobID string, position int, correlationID string) error {
	if !s.JobsEnabled() {
		return fmt.Errorf("creative_sync job %s: Drive jobs are not configured on this replica", jobID)
	}
	j, files, err := s.store.Job(ctx, jobID)
	if errors.Is(err, ErrNotFound) {
		return nil // the account and its jobs were deleted
	}
	if err != nil {
		return err
	}
	if position < 0 || position >= len(files) || files[position].terminal() {
		return nil // redelivered after the work was recorded
	}
	f := files[position]
	link := JobLink{Link: f.Link, ID: f.DriveID, ResourceKey: f.ResourceKey, Folder: f.Folder}
	meta, err := s.jobs.Files.Stat(ctx, link)
	if err != nil {
		return s.failFile(ctx, j, f, err, correlationID)
	}
	f.Name = meta.Name
	if meta.Folder {
		return s.expandFolder(ctx, j, f, link, correlationID)
	}
	if meta.Size > s.jobs.MaxFileBytes {
		return s.recordFile(ctx, j, f, FileFailed, fmt.Sprintf("file is %d bytes; at most %d are accepted", meta.Size, s.jobs.MaxFileBytes), nil, correlationID)
	}
	res, tmp, err := s.fetchAndInspect(ctx, link)
	if tmp != nil {
		defer removeTemp(tmp)
	}
	if err != nil {
		return s.failFile(ctx, j, f, err, correlationID)
	}
	f.Inspection, f.MD5 = &res, meta.MD5
	acct, err := s.store.AccountByID(ctx, j.PrincipalID, j.AccountID)
	if err != nil {
		return err
	}
	catalog, err := s.Catalog(ctx, acct)
	if err != nil {
		return err
	}
	format, slot, err := catalog.MatchAsset(res)
	if err != nil {
		return s.recordFile(ctx, j, f, FileFailed, err.Error(), nil, correlationID)
	}
	key := res.SHA256 + extensionOf(res)
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := s.jobs.Assets.Put(ctx, key, tmp, res.Size, res.MIME); err != nil {
		return fmt.Errorf("storing asset %s: %w", key, err)
	}
	in, err := s.driveInput(catalog, f, meta, format, slot, res, s.jobs.Assets.URL(key))
	if err != nil {
		return s.recordFile(ctx, j, f, FileFailed, err.Error(), nil, correlationID)
	}
	return s.recordFile(ctx, j, f, FileDone, "", &fileSync{acct: acct, catalog: catalog, in: in}, correlationID)
}

// fileSync is the creative a file becomes, with the account and catalog
// it was matched in.
type fileSync struct {
	acct    Account
	catalog *Registry
	in      Input
}

// fetchAndInspect streams the file into a temporary file (memory stays
// small whatever its size) and inspects it there.
func (s *Service) fetchAndInspect(ctx context.Context, l JobLink) (inspect.Result, *os.File, error) {
	tmp, err := os.CreateTemp(s.jobs.TempDir, "creative-sync-*")
	if err != nil {
		return inspect.Result{}, nil, err
	}
	n, err := s.jobs.Files.Copy(ctx, l, &limitWriter{w: tmp, left: s.jobs.MaxFileBytes})
	if err != nil {
		return inspect.Result{}, tmp, err
	}
	res, err := inspect.Inspect(tmp, n)
	if inspect.IsProblem(err) {
		return res, tmp, &SourceError{Reason: "the file cannot be read as what it is: " + err.Error(), Permanent: true}
	}
	return res, tmp, err
}

func removeTemp(f *os.File) {
	// Temporary files are best effort: the OS cleans its temp dir.
	_ = f.Close()
	_ = os.Remove(f.Name())
}

// limitWriter refuses to write past left bytes: Drive's declared size is
// not trusted.
type limitWriter struct {
	w    io.Writer
	left int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.left {
		return 0, &SourceError{Reason: "the file is larger than the size limit", Permanent: true}
	}
	l.left -= int64(len(p))
	return l.w.Write(p)
}

func extensionOf(r inspect.Result) string {
	if r.Container == "" {
		return ""
	}
	return "." + r.Container
}

// driveInput builds the creative a Drive file becomes: its id is stable
// per account and Drive file, so a file synced again is unchanged, or
// updated when its content changed.
func (s *Service) driveInput(catalog *Registry, f JobFile, meta SourceFile, format Format, slot FormatAsset, res inspect.Result, assetURL string) (Input, error) {
	asset := map[string]any{"asset_type": slot.AssetType, "url": assetURL}
	if res.Width > 0 {
		asset["width"], asset["height"] = res.Width, res.Height
	}
	if res.DurationMS > 0 {
		asset["duration_ms"] = res.DurationMS
	}
	if res.Kind == inspect.KindVideo || res.Kind == inspect.KindAudio {
		asset["container_format"] = res.Container
	} else {
		asset["format"] = res.Container
	}
	asset["file_size_bytes"] = res.Size
	name := strings.TrimSuffix(meta.Name, path.Ext(meta.Name))
	if strings.TrimSpace(name) == "" {
		name = meta.ID
	}
	if len(name) > MaxNameLength {
		name = name[:MaxNameLength]
	}
	fid := FormatID{AgentURL: catalog.AgentURLs()[0], ID: format.ID}
	assets := map[string]json.RawMessage{}
	body := map[string]json.RawMessage{}
	for k, v := range map[string]any{"creative_id": "drive_" + meta.ID, "name": name, "format_id": fid,
		"assets": map[string]any{slot.AssetID: asset}} {
		b, err := json.Marshal(v)
		if err != nil {
			return Input{}, err
		}
		body[k] = b
	}
	if err := json.Unmarshal(body["assets"], &assets); err != nil {
		return Input{}, err
	}
	hash, err := CanonicalHash(body)
	if err != nil {
		return Input{}, err
	}
	return Input{CreativeID: "drive_" + meta.ID, Name: name, FormatID: fid, Assets: assets, Body: body, ContentHash: hash}, nil
}

// failFile records a permanent source failure, or returns a transient one
// for redelivery.
func (s *Service) failFile(ctx context.Context, j Job, f JobFile, err error, correlationID string) error {
	var se *SourceError
	if errors.As(err, &se) && se.Permanent {
		return s.recordFile(ctx, j, f, FileFailed, se.Reason, nil, correlationID)
	}
	return err
}

// recordFile settles a file: when in is given, the creative is synced in
// the same transaction. Then the job completes if this was its last file,
// and its webhook goes out if every creative is already decided.
func (s *Service) recordFile(ctx context.Context, j Job, f JobFile, status, reason string, sync *fileSync, correlationID string) error {
	p := Principal{ID: j.PrincipalID}
	return s.store.InTx(ctx, func(tx Tx) error {
		sync := sync // a retried transaction starts from the caller's value
		job, files, err := tx.JobForUpdate(ctx, j.ID)
		if errors.Is(err, ErrNotFound) {
			return nil // the account and its jobs were deleted meanwhile
		}
		if err != nil {
			return err
		}
		if files[f.Position].terminal() {
			return nil // another delivery of this message got here first
		}
		rec := f
		rec.Status, rec.Reason = status, reason
		if sync != nil {
			// The account may have been suspended, or worse, since the job
			// was accepted: the file then fails instead of writing the
			// library (a redelivery would not change that).
			if err := gateWrite(sync.acct); err != nil {
				sync = nil
				rec.Status, rec.Reason = FileFailed, err.Error()
			}
		}
		if sync != nil {
			now := s.now()
			cmd := SyncCommand{Creatives: []Input{sync.in}, Lenient: true}
			results, ok, _ := validateInputs(sync.catalog, cmd)
			plan, err := s.planAndCommit(ctx, tx, p, sync.acct, sync.catalog, cmd, results, ok, now, correlationID)
			if err != nil {
				return err
			}
			r := (*plan.Response.Creatives)[0]
			rec.CreativeID, rec.FormatID, rec.Action, rec.CreativeStatus = r.CreativeID, sync.in.FormatID.ID, r.Action, r.Status
			if r.Action == ActionFailed {
				rec.Status, rec.Reason = FileFailed, Summary(r.Errors)
			}
			for _, u := range plan.Writes.Upserts {
				rec.Revision = u.Revision
			}
			// An unchanged creative keeps its decision; a new revision
			// waits for review.
			rec.Decided = r.Status == StatusApproved || r.Status == StatusRejected
		}
		if err := tx.SaveJobFile(ctx, rec); err != nil {
			return err
		}
		files[f.Position] = rec
		if job.Status == JobPending {
			job.Status = JobRunning
		}
		return s.advanceJob(ctx, tx, job, files, correlationID)
	})
}

// expandFolder replaces a folder by its files: new file rows and their
// work messages commit with the folder's own settlement.
func (s *Service) expandFolder(ctx context.Context, j Job, f JobFile, folder JobLink, correlationID string) error {
	kids, err := s.jobs.Files.List(ctx, folder, s.jobs.MaxFolderFiles)
	if err != nil {
		return s.failFile(ctx, j, f, err, correlationID)
	}
	return s.store.InTx(ctx, func(tx Tx) error {
		job, files, err := tx.JobForUpdate(ctx, j.ID)
		if err != nil {
			return err
		}
		if files[f.Position].terminal() {
			return nil
		}
		seen := map[string]bool{}
		for _, x := range files {
			seen[x.DriveID] = true
		}
		now := s.now()
		var added []JobFile
		var evs []events.Event
		for _, k := range kids {
			if k.Folder || seen[k.ID] {
				continue // subfolders are not walked; duplicates collapse
			}
			seen[k.ID] = true
			nf := JobFile{JobID: job.ID, Position: len(files) + len(added), Link: "folder " + f.DriveID + ": " + k.Name,
				DriveID: k.ID, ResourceKey: k.ResourceKey, Status: FilePending}
			added = append(added, nf)
			evs = append(evs, fileRequested(job, nf.Position, now, correlationID))
		}
		rec := f
		rec.Status, rec.Reason = FileExpanded, fmt.Sprintf("folder with %d file(s)", len(added))
		if err := tx.SaveJobFile(ctx, rec); err != nil {
			return err
		}
		if err := tx.AddJobFiles(ctx, added); err != nil {
			return err
		}
		files[f.Position] = rec
		files = append(files, added...)
		if job.Status == JobPending {
			job.Status = JobRunning
		}
		if err := tx.Publish(ctx, evs...); err != nil {
			return err
		}
		return s.advanceJob(ctx, tx, job, files, correlationID)
	})
}

// advanceJob completes the job when every file is settled, and sends its
// webhook once every creative it made is decided.
func (s *Service) advanceJob(ctx context.Context, tx Tx, job Job, files []JobFile, correlationID string) error {
	now := s.now()
	job.UpdatedAt = now
	if job.CompletedAt == nil {
		done, failed, total := 0, 0, 0
		for _, f := range files {
			if f.Status == FileExpanded {
				continue
			}
			total++
			switch f.Status {
			case FilePending:
				return tx.UpdateJob(ctx, job)
			case FileDone:
				done++
			case FileFailed:
				failed++
			}
		}
		job.CompletedAt = &now
		switch {
		case done == 0:
			job.Status, job.Message = JobFailed, fmt.Sprintf("No file could be uploaded (%d failed)", failed)
		case failed > 0:
			job.Status, job.Message = JobCompleted, fmt.Sprintf("Files uploaded: %d of %d (%d failed)", done, total, failed)
		default:
			job.Status, job.Message = JobCompleted, "Files uploaded successfully"
		}
	}
	if job.WebhookURL != "" && !job.Notified && allDecided(files) {
		body, err := json.Marshal(viewOf(job, files))
		if err != nil {
			return fmt.Errorf("encoding the webhook of job %s: %w", job.ID, err)
		}
		key := newID("whk_")
		if err := tx.Publish(ctx, &events.NotificationRequestedV1{
			Header:         events.Header{EventID: newEventID(), CorrelationID: correlationID, OccurredAt: now},
			IdempotencyKey: key, AccountID: job.AccountID, Kind: "creative_sync_job", URL: job.WebhookURL, Payload: body,
		}); err != nil {
			return err
		}
		job.Notified = true
	}
	return tx.UpdateJob(ctx, job)
}

func allDecided(files []JobFile) bool {
	for _, f := range files {
		if f.Status == FilePending || (f.Status == FileDone && !f.Decided) {
			return false
		}
	}
	return true
}

// settleJobFiles records a review decision on the job files waiting on
// that creative revision, and advances their jobs.
func (s *Service) settleJobFiles(ctx context.Context, tx Tx, accountID, creativeID string, revision int64, status, correlationID string) error {
	jobIDs, err := tx.DecideJobFiles(ctx, accountID, creativeID, revision, status)
	if err != nil {
		return err
	}
	for _, id := range jobIDs {
		job, files, err := tx.JobForUpdate(ctx, id)
		if err != nil {
			return err
		}
		if err := s.advanceJob(ctx, tx, job, files, correlationID); err != nil {
			return err
		}
	}
	return nil
}
