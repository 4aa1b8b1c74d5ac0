// Package notify is the notifier's domain: a Delivery is one webhook that must
// reach a buyer, and this package decides what happens after each attempt
// (retry, give up, or done) and runs the workers that make the attempts.
// Postgres, HTTP and signing live in their own packages and plug in through
// the interfaces declared here.
package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/apperr"
)

// Status is where a delivery is in its life.
type Status string

const (
	// StatusPending waits for its next attempt (the first one or a retry).
	StatusPending Status = "pending"
	// StatusDelivered got a 2xx.
	StatusDelivered Status = "delivered"
	// StatusFailed was refused by the receiver or can never be sent (4xx,
	// signature rejected, blocked target). Retrying would not help.
	StatusFailed Status = "failed"
	// StatusDead ran out of retries on transient errors. It is the dead
	// letter: kept, visible to operators, and re-queueable.
	StatusDead Status = "dead"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case StatusPending, StatusDelivered, StatusFailed, StatusDead:
		return true
	}
	return false
}

// Terminal reports whether no further attempt will be made without an operator.
func (s Status) Terminal() bool { return s != StatusPending }

// Auth schemes a buyer may choose through push_notification_config.authentication.
// No scheme means the AdCP 3.0 default, RFC 9421 signing.
const (
	SchemeRFC9421 = ""
	SchemeBearer  = "Bearer"
	SchemeHMAC    = "HMAC-SHA256"
)

// Delivery is one webhook to send. Payload is sent byte for byte as it
// arrived; it is never re-serialised, because signatures cover the exact bytes.
type Delivery struct {
	ID              int64
	IdempotencyKey  string
	EventID         string
	CorrelationID   string
	AccountID       string
	TaskID          string
	Kind            string
	URL             string
	Token           string
	AuthScheme      string
	AuthCredentials string
	Payload         []byte

	Status Status
	// Attempts counts every claim of this delivery, ever. A worker's claim
	// carries the value it set, so a worker whose lease ran out cannot
	// overwrite the outcome of the worker that took over.
	Attempts int
	// WindowStart and WindowAttempts bound retries; an operator re-queue
	// starts a new window, otherwise a re-queued delivery would be dead again
	// after a single failure.
	WindowStart    time.Time
	WindowAttempts int
	NextAttemptAt  time.Time
	LastStatusCode int
	LastError      string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	FinishedAt     *time.Time
}

// Attempt is the record of one HTTP attempt.
type Attempt struct {
	DeliveryID int64
	Number     int
	StartedAt  time.Time
	Duration   time.Duration
	StatusCode int // 0 when no response arrived
	Error      string
	Outcome    Status // status the delivery moved to because of this attempt
}

// MaxPayloadBytes is the largest payload accepted. AdCP receivers cap bodies
// at 1 MB and answer 413 above it, which would be a terminal failure anyway.
const MaxPayloadBytes = 1 << 20

// idempotencyKeyPattern is AdCP's mcp-webhook-payload idempotency_key rule.
// It also keeps the key safe to put in an HTTP header.
var idempotencyKeyPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{16,255}$`)

// SecretChecker validates HMAC credentials; the signing package owns the rule.
type SecretChecker func(secret string) error

// PayloadChecker validates a payload before it is accepted; the signing
// package owns the rule (valid JSON, no duplicate keys).
type PayloadChecker func(body []byte) error

// FromEvent turns a NotificationRequestedV1 into a pending delivery. Every
// error is permanent: the same event can never become valid.
func FromEvent(ev *events.NotificationRequestedV1, now time.Time, checkSecret SecretChecker, checkPayload PayloadChecker) (Delivery, error) {
	var errs []error
	if !idempotencyKeyPattern.MatchString(ev.IdempotencyKey) {
		errs = append(errs, fmt.Errorf("idempotency_key %q must match %s", ev.IdempotencyKey, idempotencyKeyPattern))
	}
	if ev.AccountID == "" {
		errs = append(errs, errors.New("account_id is required"))
	}
	if u, err := url.Parse(ev.URL); err != nil || !u.IsAbs() || u.Host == "" {
		errs = append(errs, fmt.Errorf("url %q is not an absolute URL", ev.URL))
	}
	switch {
	case len(ev.Payload) == 0:
		errs = append(errs, errors.New("payload is required"))
	case len(ev.Payload) > MaxPayloadBytes:
		errs = append(errs, fmt.Errorf("payload is %d bytes; the limit is %d", len(ev.Payload), MaxPayloadBytes))
	default:
		if err := checkPayload(ev.Payload); err != nil {
			errs = append(errs, fmt.Errorf("payload: %w", err))
		}
	}
	var scheme, creds string
	if ev.Auth != nil {
		scheme, creds = ev.Auth.Scheme, ev.Auth.Credentials
		switch scheme {
		case SchemeHMAC:
			if err := checkSecret(creds); err != nil {
				errs = append(errs, fmt.Errorf("auth credentials: %w", err))
			}
		case SchemeBearer:
			if creds == "" || strings.ContainsAny(creds, "\r\n") {
				errs = append(errs, errors.New("auth scheme Bearer: credentials must be non-empty and on one line"))
			}
		default:
			errs = append(errs, fmt.Errorf("auth scheme %q: want Bearer or HMAC-SHA256", scheme))
		}
	}
	if len(errs) > 0 {
		return Delivery{}, apperr.Permanent(&apperr.Error{
			Code: "INVALID_REQUEST", Message: "invalid notification_requested_v1 event",
			Recovery: apperr.Terminal, Err: errors.Join(errs...),
		})
	}
	kind := ev.Kind
	if kind == "" {
		kind = "task_status"
	}
	return Delivery{
		IdempotencyKey:  ev.IdempotencyKey,
		EventID:         ev.EventID,
		CorrelationID:   ev.CorrelationID,
		AccountID:       ev.AccountID,
		TaskID:          ev.TaskID,
		Kind:            kind,
		URL:             ev.URL,
		Token:           ev.Token,
		AuthScheme:      scheme,
		AuthCredentials: creds,
		Payload:         []byte(ev.Payload),
		Status:          StatusPending,
		WindowStart:     now,
		NextAttemptAt:   now,
		CreatedAt:       now,
		UpdatedAt:       now,
	}, nil
}

// PayloadJSON returns the payload for display; it is valid JSON by construction.
func (d Delivery) PayloadJSON() json.RawMessage { return json.RawMessage(d.Payload) }

// Signer adds authentication to an outgoing webhook request. body is exactly
// the request's body; signers refuse bodies they must not sign.
type Signer interface {
	Sign(r *http.Request, body []byte) error
}

// Filter narrows an operator's list of deliveries.
type Filter struct {
	Status    Status // empty means any
	AccountID string // empty means any
	Limit     int
}
