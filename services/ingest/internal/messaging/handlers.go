// Package messaging connects ingest to JetStream: it applies review
// decisions to the creative library and settles the tasks waiting on them.
package messaging

import (
	"context"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/apperr"
	"example.com/creativesync/platform/broker"
	"example.com/creativesync/services/ingest/internal/creative"
)

// Decider is what the handlers need from the domain.
type Decider interface {
	ApplyDecision(ctx context.Context, d events.Decision, approved bool, correlationID string) error
	ApplyDecisions(ctx context.Context, ds []creative.DecisionInput) error
	// ProcessJobFile does one file of a Drive creative_sync job.
	ProcessJobFile(ctx context.Context, jobID string, position int, correlationID string) error
	// JobsEnabled says whether this replica can process job files.
	JobsEnabled() bool
}

// Group commit of decisions: approvals and rejections wait in one batch
// (up to BatchSize) and are applied in one transaction, two batches in
// flight so that one fills while the other commits. ApplyDecisions takes
// its locks in a consistent order (creatives sorted, then tasks sorted),
// so concurrent batches, here or in other replicas, wait for each other
// rather than deadlock.
const (
	BatchSize       = 128
	batchesInFlight = 2
	concurrency     = BatchSize * batchesInFlight
	maxAckPending   = 2 * concurrency
	// applyTimeout bounds one batch, or one decision when a batch is
	// retried one by one.
	applyTimeout = 30 * time.Second
)

// Handlers holds ingest's message handlers.
type Handlers struct {
	decider Decider
	batch   *broker.Batcher[creative.DecisionInput]
}

// NewHandlers returns the handlers over decider.
func NewHandlers(decider Decider) *Handlers {
	if decider == nil {
		panic("messaging.NewHandlers: nil decider")
	}
	h := &Handlers{decider: decider}
	h.batch = broker.NewBatcher(BatchSize, batchesInFlight, h.applyBatch)
	return h
}

// applyBatch applies decisions in one transaction. If it fails, each is
// applied on its own, so a decision that cannot be applied fails alone
// rather than failing every batch it lands in.
func (h *Handlers) applyBatch(ds []creative.DecisionInput) []error {
	errs := make([]error, len(ds))
	ctx, cancel := context.WithTimeout(context.Background(), applyTimeout)
	defer cancel()
	if err := h.decider.ApplyDecisions(ctx, ds); err == nil || len(ds) == 1 {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	for i, d := range ds {
		ctx, cancel := context.WithTimeout(context.Background(), applyTimeout)
		errs[i] = h.decider.ApplyDecision(ctx, d.Decision, d.Approved, d.CorrelationID)
		cancel()
	}
	return errs
}

// Register adds the handlers to r.
func (h *Handlers) Register(r *broker.Router) error {
	opts := broker.HandlerOptions{Concurrency: concurrency, MaxAckPending: maxAckPending}
	if err := r.HandleWith("on_creative_approved", (&events.CreativeApprovedV1{}).EventName(), opts, h.OnCreativeApproved); err != nil {
		return err
	}
	if err := r.HandleWith("on_creative_rejected", (&events.CreativeRejectedV1{}).EventName(), opts, h.OnCreativeRejected); err != nil {
		return err
	}
	if !h.decider.JobsEnabled() {
		// Without a Drive source the work would only be retried; replicas
		// that have one take it.
		return nil
	}
	return r.Handle("on_creative_sync_file_requested", (&events.CreativeSyncFileRequestedV1{}).EventName(), h.OnCreativeSyncFileRequested)
}

// OnCreativeSyncFileRequested processes one file of a creative_sync job.
func (h *Handlers) OnCreativeSyncFileRequested(msg *message.Message) error {
	var ev events.CreativeSyncFileRequestedV1
	if err := broker.Decode(msg, &ev); err != nil {
		return err
	}
	if ev.JobID == "" || ev.Position < 0 {
		return apperr.Permanent(fmt.Errorf("job file event %s lacks job or position", ev.EventID))
	}
	corr := broker.CorrelationID(msg.Context())
	if corr == "" {
		corr = ev.CorrelationID
	}
	return h.decider.ProcessJobFile(msg.Context(), ev.JobID, ev.Position, corr)
}

// OnCreativeApproved applies an approval.
func (h *Handlers) OnCreativeApproved(msg *message.Message) error {
	var ev events.CreativeApprovedV1
	if err := broker.Decode(msg, &ev); err != nil {
		return err
	}
	return h.apply(msg, ev.Header, ev.Decision, true)
}

// OnCreativeRejected applies a rejection.
func (h *Handlers) OnCreativeRejected(msg *message.Message) error {
	var ev events.CreativeRejectedV1
	if err := broker.Decode(msg, &ev); err != nil {
		return err
	}
	return h.apply(msg, ev.Header, ev.Decision, false)
}

func (h *Handlers) apply(msg *message.Message, hd events.Header, d events.Decision, approved bool) error {
	if d.AccountID == "" || d.CreativeID == "" || d.Revision < 1 {
		return apperr.Permanent(fmt.Errorf("decision event %s lacks account, creative or revision", hd.EventID))
	}
	corr := broker.CorrelationID(msg.Context())
	if corr == "" {
		corr = hd.CorrelationID
	}
	return h.batch.Do(creative.DecisionInput{Decision: d, Approved: approved, CorrelationID: corr})
}
