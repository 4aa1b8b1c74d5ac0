// Package events holds the versioned contracts the services exchange over
// NATS JetStream. It imports only the standard library so that every service
// (and any future consumer in another language) can depend on it cheaply.
//
// Rules:
//   - Each event is a struct embedding Header, and its EventName is both the
//     JetStream stream name and the subject (topic). Names carry a version
//     suffix and contain no dots, because stream names may not.
//   - The producing service owns its file here (ingest.go, review.go).
//   - Additive changes (new optional fields) keep the version: consumers decode
//     with encoding/json, which ignores unknown fields. A breaking change is a
//     new struct and topic (…_v2); the producer publishes both until every
//     consumer has moved.
//   - The golden files under testdata/ freeze the wire format; a test fails if
//     a field is renamed or its encoding changes.
package events

import "time"

// Event is implemented by every contract in this package.
type Event interface {
	// EventName is the versioned topic the event is published on.
	EventName() string
	// Meta gives access to the common header.
	Meta() *Header
}

// Header is carried by every event. EventID is also the broker message id,
// so a republished event is deduplicated by JetStream and recognised by
// idempotent consumers.
type Header struct {
	EventID       string    `json:"event_id"`
	CorrelationID string    `json:"correlation_id,omitempty"`
	OccurredAt    time.Time `json:"occurred_at"`
}

// Meta returns the header; embedding Header gives every event this method.
func (h *Header) Meta() *Header { return h }

// All lists one zero value of every event, so infrastructure code can
// provision a stream per topic before anything publishes.
func All() []Event {
	return []Event{
		&CreativeSyncedV1{},
		&CreativeArchivedV1{},
		&CreativeReviewRequestedV1{},
		&CreativeApprovedV1{},
		&CreativeRejectedV1{},
		&NotificationRequestedV1{},
	}
}

// Topics returns the names of every topic, in the order of All.
func Topics() []string {
	all := All()
	names := make([]string, len(all))
	for i, e := range all {
		names[i] = e.EventName()
	}
	return names
}
