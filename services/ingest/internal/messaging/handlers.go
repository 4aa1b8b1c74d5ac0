// Package messaging connects ingest to JetStream: it applies review
// decisions to the creative library and settles the tasks waiting on them.
package messaging

import (
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/apperr"
	"example.com/creativesync/platform/broker"
	"example.com/creativesync/services/ingest/internal/creative"
)

// Register adds ingest's handlers to r.
func Register(r *broker.Router, svc *creative.Service) error {
	if err := r.Handle("on_creative_approved", (&events.CreativeApprovedV1{}).EventName(), func(msg *message.Message) error {
		var ev events.CreativeApprovedV1
		if err := broker.Decode(msg, &ev); err != nil {
			return err
		}
		return apply(msg, ev.Header, ev.Decision, true, svc)
	}); err != nil {
		return err
	}
	return r.Handle("on_creative_rejected", (&events.CreativeRejectedV1{}).EventName(), func(msg *message.Message) error {
		var ev events.CreativeRejectedV1
		if err := broker.Decode(msg, &ev); err != nil {
			return err
		}
		return apply(msg, ev.Header, ev.Decision, false, svc)
	})
}

func apply(msg *message.Message, h events.Header, d events.Decision, approved bool, svc *creative.Service) error {
	if d.AccountID == "" || d.CreativeID == "" || d.Revision < 1 {
		return apperr.Permanent(fmt.Errorf("decision event %s lacks account, creative or revision", h.EventID))
	}
	corr := broker.CorrelationID(msg.Context())
	if corr == "" {
		corr = h.CorrelationID
	}
	return svc.ApplyDecision(msg.Context(), d, approved, corr)
}
