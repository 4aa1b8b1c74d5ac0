package creative

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"example.com/creativesync/events"
)

// ApplyDecision records a review decision: the library shows it to the buyer
// (list_creatives is authoritative), and every task waiting on that creative
// revision is settled; a task whose last item settles completes, and if the
// buyer asked for push notifications the completion webhook is queued in the
// same transaction. Redelivered decisions change nothing.
func (s *Service) ApplyDecision(ctx context.Context, d events.Decision, approved bool, correlationID string) error {
	return s.ApplyDecisions(ctx, []DecisionInput{{Decision: d, Approved: approved, CorrelationID: correlationID}})
}

// DecisionInput is one decision for ApplyDecisions.
type DecisionInput struct {
	Decision      events.Decision
	Approved      bool
	CorrelationID string
}

// ApplyDecisions is ApplyDecision for many decisions in one transaction,
// applied in order: the group commit of the decision consumers. Each task
// is checked for completion once, after every decision of the batch is
// applied, rather than once per settled item (a task of 100 creatives was
// read whole 100 times); its webhook carries the correlation id of the
// last decision that settled one of its items, as one at a time would.
func (s *Service) ApplyDecisions(ctx context.Context, ds []DecisionInput) error {
	now := s.now()
	// Creatives in key order, so that concurrent batches lock them in the
	// same order and cannot deadlock; the sort is stable, so decisions on
	// one creative keep their order.
	ds = slices.Clone(ds)
	slices.SortStableFunc(ds, func(a, b DecisionInput) int {
		return cmp.Or(cmp.Compare(a.Decision.AccountID, b.Decision.AccountID), cmp.Compare(a.Decision.CreativeID, b.Decision.CreativeID))
	})
	return s.store.InTx(ctx, func(tx Tx) error {
		touched := map[string]string{} // task id → correlation id
		var tasks []string
		jobsTouched := map[string]string{} // job id → correlation id
		var jobs []string
		for _, in := range ds {
			d := in.Decision
			status := StatusRejected
			if in.Approved {
				status = StatusApproved
			}
			c, err := tx.CreativeForUpdate(ctx, d.AccountID, d.CreativeID)
			if errors.Is(err, ErrNotFound) {
				continue // the account is gone; nothing to show the decision on
			}
			if err != nil {
				return err
			}
			// Only the current revision's decision is the creative's status; a
			// decision on a superseded revision still settles its own task.
			if c.Revision == d.Revision && c.ArchivedAt == nil && c.Status != status {
				if err := tx.SetReview(ctx, d.AccountID, d.CreativeID, d.Revision, status, d.Reasons); err != nil {
					return err
				}
				// The seller-side transition: the lifecycle feed and the
				// account subscribers' creative.status_changed.
				by := events.InitiatedByReviewAuto
				if d.DecidedBy == events.DecidedByHuman {
					by = events.InitiatedByReviewHuman
				}
				if err := s.publishTransition(ctx, tx, statusChanged(c, status, by, d.Reasons, now, in.CorrelationID)); err != nil {
					return err
				}
			}
			settled, err := s.settleItems(ctx, tx, d, status)
			if err != nil {
				return err
			}
			for _, id := range settled {
				if _, seen := touched[id]; !seen {
					tasks = append(tasks, id)
				}
				touched[id] = in.CorrelationID
			}
			// The Drive creative_sync job files waiting on this revision.
			jobIDs, err := tx.DecideJobFiles(ctx, d.AccountID, d.CreativeID, d.Revision, status)
			if err != nil {
				return err
			}
			for _, id := range jobIDs {
				if _, seen := jobsTouched[id]; !seen {
					jobs = append(jobs, id)
				}
				jobsTouched[id] = in.CorrelationID
			}
		}
		// In id order, so that two batches lock the tasks they share in the
		// same order.
		slices.Sort(tasks)
		for _, id := range tasks {
			if err := s.completeIfDone(ctx, tx, id, now, touched[id]); err != nil {
				return err
			}
		}
		// Then the jobs, likewise once each and in id order: advancing one
		// per decision would lock the jobs of a batch in creative order,
		// and two batches whose creatives interleave across two jobs would
		// deadlock.
		slices.Sort(jobs)
		return s.advanceJobs(ctx, tx, jobs, jobsTouched)
	})
}

// statusChanged is the lifecycle event of a seller-side move of c to status.
func statusChanged(c Creative, status, initiatedBy string, reasons []events.Reason, now time.Time, correlationID string) *events.CreativeStatusChangedV1 {
	ev := &events.CreativeStatusChangedV1{
		Header:         events.Header{EventID: newEventID(), CorrelationID: correlationID, OccurredAt: now},
		NotificationID: newID("ntf_"), AccountID: c.AccountID, CreativeID: c.CreativeID, Revision: c.Revision,
		FromStatus: c.Status, ToStatus: status, InitiatedBy: initiatedBy, Reasons: reasons,
	}
	if status == StatusRejected && len(reasons) > 0 {
		ev.RejectionReason = reasons[0].Message
	}
	return ev
}

// advanceJobs locks each job of ids in turn and advances it, its webhook
// carrying corr[id].
func (s *Service) advanceJobs(ctx context.Context, tx Tx, ids []string, corr map[string]string) error {
	for _, id := range ids {
		job, files, err := tx.JobForUpdate(ctx, id)
		if err != nil {
			return err
		}
		if err := s.advanceJob(ctx, tx, job, files, corr[id]); err != nil {
			return err
		}
	}
	return nil
}

// settleTasks settles d's task items and job files and completes the tasks
// and jobs it finished.
func (s *Service) settleTasks(ctx context.Context, tx Tx, d events.Decision, status string, now time.Time, correlationID string) error {
	ids, err := s.settleItems(ctx, tx, d, status)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if err := s.completeIfDone(ctx, tx, id, now, correlationID); err != nil {
			return err
		}
	}
	return s.settleJobFiles(ctx, tx, d.AccountID, d.CreativeID, d.Revision, status, correlationID)
}

// settleItems records decision d (status approved or rejected) on every task
// item waiting on that creative revision and returns the ids of their tasks.
func (s *Service) settleItems(ctx context.Context, tx Tx, d events.Decision, status string) ([]string, error) {
	items, err := tx.PendingTaskItems(ctx, d.AccountID, d.CreativeID, d.Revision)
	if err != nil {
		return nil, err
	}
	var tasks []string
	for _, it := range items {
		it.Decided = true
		it.Outcome.Status = status
		if status == StatusRejected {
			for _, r := range d.Reasons {
				it.Outcome.Warnings = append(it.Outcome.Warnings, r.Code+": "+r.Message)
			}
			if len(d.Reasons) > 0 {
				it.Outcome.RejectionReason = d.Reasons[0].Message
			}
		}
		if err := tx.DecideTaskItem(ctx, it); err != nil {
			return nil, err
		}
		tasks = append(tasks, it.TaskID)
	}
	return tasks, nil
}

func (s *Service) completeIfDone(ctx context.Context, tx Tx, taskID string, now time.Time, correlationID string) error {
	t, items, err := tx.TaskForUpdate(ctx, taskID)
	if err != nil {
		return err
	}
	if t.Status == "completed" {
		return nil
	}
	for _, it := range items {
		if !it.Decided {
			return nil
		}
	}
	slices.SortFunc(items, func(a, b TaskItem) int { return a.Position - b.Position })
	outcomes := make([]SyncResult, len(items))
	for i, it := range items {
		outcomes[i] = it.Outcome
	}
	result, err := s.encodeResult(t.MajorVersion, SyncResponse{Status: "completed", Creatives: &outcomes, Context: t.Context})
	if err != nil {
		return fmt.Errorf("encoding the result of task %s: %w", t.ID, err)
	}
	t.Status, t.Result, t.UpdatedAt, t.CompletedAt = "completed", result, now, &now
	if err := tx.CompleteTask(ctx, t); err != nil {
		return err
	}
	if t.Push == nil {
		return nil
	}
	ev, err := taskWebhook(t, now, correlationID)
	if err != nil {
		return err
	}
	return tx.Publish(ctx, ev)
}

// WebhookPayload is core/mcp-webhook-payload.json.
type WebhookPayload struct {
	IdempotencyKey string          `json:"idempotency_key"`
	TaskID         string          `json:"task_id"`
	TaskType       string          `json:"task_type"`
	Protocol       string          `json:"protocol"`
	Status         string          `json:"status"`
	Timestamp      time.Time       `json:"timestamp"`
	Message        string          `json:"message,omitempty"`
	Result         json.RawMessage `json:"result,omitempty"`
	Context        json.RawMessage `json:"context,omitempty"`
}

func taskWebhook(t Task, now time.Time, correlationID string) (*events.NotificationRequestedV1, error) {
	key := newID("whk_")
	body, err := json.Marshal(WebhookPayload{
		IdempotencyKey: key, TaskID: t.ID, TaskType: t.Type, Protocol: "creative", Status: t.Status,
		Timestamp: now, Message: "review finished for every creative of the sync", Result: t.Result, Context: t.Context,
	})
	if err != nil {
		return nil, fmt.Errorf("encoding the webhook of task %s: %w", t.ID, err)
	}
	ev := &events.NotificationRequestedV1{
		Header:         events.Header{EventID: newEventID(), CorrelationID: correlationID, OccurredAt: now},
		IdempotencyKey: key, AccountID: t.AccountID, TaskID: t.ID, Kind: "task_status",
		URL: t.Push.URL, Token: t.Push.Token, Payload: body,
	}
	if a := t.Push.Authentication; a != nil && len(a.Schemes) == 1 {
		ev.Auth = &events.WebhookAuth{Scheme: a.Schemes[0], Credentials: a.Credentials}
	}
	return ev, nil
}

// TaskResponse is core/tasks-get-response.json plus the result when done.
type TaskResponse struct {
	TaskID      string          `json:"task_id"`
	TaskType    string          `json:"task_type"`
	Protocol    string          `json:"protocol"`
	Status      string          `json:"status"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
	CompletedAt *time.Time      `json:"completed_at,omitempty"`
	HasWebhook  bool            `json:"has_webhook"`
	Result      json.RawMessage `json:"result,omitempty"`
	Context     json.RawMessage `json:"context,omitempty"`
}

// GetTask reports a task of p's. Another principal's task is not found.
func (s *Service) GetTask(ctx context.Context, p Principal, taskID string) (TaskResponse, error) {
	if taskID == "" {
		return TaskResponse{}, Reject(CodeInvalidRequest, "task_id", "task_id is required")
	}
	t, err := s.store.Task(ctx, p.ID, taskID)
	if errors.Is(err, ErrNotFound) {
		return TaskResponse{}, Reject(CodeReferenceNotFound, "task_id", "no such task")
	}
	if err != nil {
		return TaskResponse{}, err
	}
	return TaskResponse{TaskID: t.ID, TaskType: t.Type, Protocol: "creative", Status: t.Status, CreatedAt: t.CreatedAt,
		UpdatedAt: t.UpdatedAt, CompletedAt: t.CompletedAt, HasWebhook: t.Push != nil, Result: t.Result}, nil
}
