// Package messaging connects ingest to JetStream: it applies review
// decisions to the creative library and settles the tasks waiting on them.
package messaging

import (
	"context"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/apperr"
	"example.com/creativesync/platform/broker"
)

// Decider is what the handlers need from the domain.
type Decider interface {
	ApplyDecision(ctx context.Context, d events.Decision, approved bool, correlationID string) error
	// ProcessJobFile does one file of a Drive creative_sync job.
	ProcessJobFile(ctx context.Context, jobID string, position int, correlationID string) error
	// JobsEnabled says whether this replica can process job files.
	JobsEnabled() bool
}

// Handlers holds ingest's message handlers.
type Handlers struct {
	decider Decider
}

// NewHandlers returns the handlers over decider.
func NewHandlers(decider Decider) *Handlers {
	if decider == nil {
		panic("messaging.NewHandlers: nil decider")
	}
	return &Handlers{decider: decider}
}

// Register adds the handlers to r.
func (h *Handlers) Register(r *broker.Router) error {
	if err := r.Handle("on_creative_approved", (&events.CreativeApprovedV1{}).EventName(), h.OnCreativeApproved); err != nil {
		return err
	}
	if err := r.Handle("on_creative_rejected", (&events.CreativeRejectedV1{}).EventName(), h.OnCreativeRejected); err != nil {
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
	return h.decider.ApplyDecision(msg.Context(), d, approved, corr)
}
