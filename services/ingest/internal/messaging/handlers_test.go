package messaging_test

import (
	"context"
	"errors"
	"testing"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/apperr"
	"example.com/creativesync/platform/broker"
	"example.com/creativesync/services/ingest/internal/creative"
	"example.com/creativesync/services/ingest/internal/messaging"
)

// decider records what the handlers ask of the domain; the store behind it
// is exercised for real in the service tests.
type decider struct {
	batchErr error // fails every ApplyDecisions call
	oneErr   error // fails every ApplyDecision call
	batches  [][]creative.DecisionInput
	singles  []creative.DecisionInput
}

func (d *decider) ApplyDecision(_ context.Context, dec events.Decision, approved bool, corr string) error {
	d.singles = append(d.singles, creative.DecisionInput{Decision: dec, Approved: approved, CorrelationID: corr})
	return d.oneErr
}

func (d *decider) ApplyDecisions(_ context.Context, ds []creative.DecisionInput) error {
	d.batches = append(d.batches, ds)
	return d.batchErr
}

func (d *decider) ProcessJobFile(context.Context, string, int, string) error { return nil }

func (d *decider) JobsEnabled() bool { return false }

func approved(t *testing.T, creativeID string, rev int64) *events.CreativeApprovedV1 {
	t.Helper()
	return &events.CreativeApprovedV1{Header: events.Header{EventID: "ev-" + creativeID, CorrelationID: "corr"},
		Decision: events.Decision{AccountID: "acct", CreativeID: creativeID, Revision: rev}}
}

func TestDecisionGoesThroughTheBatch(t *testing.T) {
	t.Parallel()
	d := &decider{}
	msg, err := broker.NewMessage(approved(t, "c1", 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := messaging.NewHandlers(d).OnCreativeApproved(msg); err != nil {
		t.Fatal(err)
	}
	if len(d.batches) != 1 || len(d.batches[0]) != 1 || !d.batches[0][0].Approved || d.batches[0][0].Decision.CreativeID != "c1" || len(d.singles) != 0 {
		t.Fatalf("batches %+v, singles %+v", d.batches, d.singles)
	}
}

// A batch of one that fails returns its error (the router retries it); it
// is not applied a second time on its own.
func TestFailedDecisionIsRetriedByTheRouter(t *testing.T) {
	t.Parallel()
	d := &decider{batchErr: errors.New("database is down")}
	msg, err := broker.NewMessage(approved(t, "c1", 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := messaging.NewHandlers(d).OnCreativeApproved(msg); err == nil || apperr.IsPermanent(err) {
		t.Fatalf("err = %v, want a transient error", err)
	}
	if len(d.singles) != 0 {
		t.Fatalf("a failed batch of one was applied again on its own")
	}
}

func TestDecisionWithoutRevisionIsPermanent(t *testing.T) {
	t.Parallel()
	d := &decider{}
	msg, err := broker.NewMessage(approved(t, "c1", 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := messaging.NewHandlers(d).OnCreativeApproved(msg); !apperr.IsPermanent(err) {
		t.Fatalf("err = %v, want permanent", err)
	}
	if len(d.batches) != 0 {
		t.Fatal("a malformed decision reached the domain")
	}
}
