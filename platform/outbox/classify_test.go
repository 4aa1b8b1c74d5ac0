package outbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
)

// The errors as the relay sees them: wrapped by watermill-nats and the
// forwarder. Only refusals of the event's own size or subject are
// permanent; anything about the broker or a stream is retried.
func TestPermanentClassification(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("sending message failed: %w", err) }
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"max payload", wrap(nats.ErrMaxPayload), true},
		{"invalid subject", wrap(nats.ErrBadSubject), true},
		{"stream max_msg_size", wrap(&nats.APIError{Code: 400, ErrorCode: 10054, Description: "message size exceeds maximum allowed"}), true},
		{"header too large", wrap(&nats.APIError{Code: 400, ErrorCode: 10097, Description: "header size exceeds maximum allowed"}), true},
		{"timeout", wrap(nats.ErrTimeout), false},
		{"context deadline", wrap(context.DeadlineExceeded), false},
		{"no stream", wrap(nats.ErrNoStreamResponse), false},
		{"no responders", wrap(nats.ErrNoResponders), false},
		{"connection closed", wrap(nats.ErrConnectionClosed), false},
		{"reconnect buffer", wrap(nats.ErrReconnectBufExceeded), false},
		{"draining", wrap(nats.ErrConnectionDraining), false},
		{"headers unsupported", wrap(nats.ErrHeadersNotSupported), false},
		{"jetstream disabled", wrap(nats.ErrJetStreamNotEnabled), false},
		{"insufficient resources", wrap(&nats.APIError{Code: 503, ErrorCode: 10023, Description: "insufficient resources"}), false},
		{"unknown", errors.New("something odd"), false},
	}
	for _, c := range cases {
		if got := permanent(c.err); got != c.want {
			t.Errorf("%s: permanent(%v) = %v, want %v", c.name, c.err, got, c.want)
		}
	}
}

func TestReasonIsBounded(t *testing.T) {
	r := reasonFor(errors.New(strings.Repeat("e", 10*maxReasonLen)), 1)
	if len(r) > maxReasonLen {
		t.Errorf("reason of %d bytes", len(r))
	}
	if r := reasonFor(fmt.Errorf("x: %w", nats.ErrMaxPayload), 2<<20); !strings.Contains(r, "maximum payload") || !strings.Contains(r, "2097152") {
		t.Errorf("reason %q names neither the limit nor the size", r)
	}
}
