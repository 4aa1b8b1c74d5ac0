package creative

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"example.com/creativesync/events"
)

// This file holds AdCP 3.1 account-level webhook subscribers
// (sync_accounts accounts[].notification_configs[]): declarative replace
// per account, keyed by subscriber_id.

// AccountEventTypes are the account-anchored notification types a
// subscriber may ask for (notification-type.json minus the media-buy ones).
var AccountEventTypes = []string{"creative.status_changed", "creative.purged", "product.created", "product.updated",
	"product.priced", "product.removed", "signal.created", "signal.updated", "signal.priced", "signal.removed",
	"wholesale_feed.bulk_change"}

// Challenge is one proof-of-control request for a subscriber registration.
type Challenge struct {
	AccountID    string
	SubscriberID string
	URL          string
	EventTypes   []string
	// AuthScheme is the legacy delivery authentication ("" for RFC 9421).
	AuthScheme string
}

// Prover proves that a subscriber controls its endpoint (the signed
// webhook.challenge); the error says why not.
type Prover interface {
	Prove(ctx context.Context, c Challenge) error
}

// proofKey names one subscriber of one account.
func proofKey(accountID, subscriberID string) string { return accountID + "\x00" + subscriberID }

// MaxSubscribersPerAccount is sync-accounts-request.json's bound.
const MaxSubscribersPerAccount = 16

// Subscriber is one notification_configs[] entry as stored.
type Subscriber struct {
	SubscriberID string
	URL          string
	EventTypes   []string
	// Active is what the buyer asked for; a subscriber is only fired at
	// (and echoed as active) once ProvenAt is set too.
	Active bool
	Auth   *PushAuth
	// ProvenAt is when the endpoint proved control of this exact
	// registration; nil until then.
	ProvenAt *time.Time
}

// sameRegistration reports whether b registers the same tuple as a (url,
// event types, authentication mode and credential), so a proof of a still
// holds for b.
func sameRegistration(a, b Subscriber) bool {
	return a.URL == b.URL && slices.Equal(a.EventTypes, b.EventTypes) && authEqual(a.Auth, b.Auth)
}

func authEqual(a, b *PushAuth) bool {
	if a == nil || b == nil {
		return a == b
	}
	return slices.Equal(a.Schemes, b.Schemes) && a.Credentials == b.Credentials
}

func subscribersEqual(a, b []Subscriber) bool {
	return slices.EqualFunc(a, b, func(x, y Subscriber) bool {
		return x.SubscriberID == y.SubscriberID && x.Active == y.Active && sameRegistration(x, y) &&
			(x.ProvenAt == nil) == (y.ProvenAt == nil)
	})
}

// replaceSubscribers is the declarative replace of an account's set: the
// sent set wins; a subscriber whose registration did not change keeps its
// proof.
func replaceSubscribers(current, sent []Subscriber) []Subscriber {
	out := make([]Subscriber, len(sent))
	for i, s := range sent {
		out[i] = s
		out[i].ProvenAt = nil
		for _, c := range current {
			if c.SubscriberID == s.SubscriberID && sameRegistration(c, s) {
				out[i].ProvenAt = c.ProvenAt
			}
		}
	}
	return out
}

// SubscriberView is a notification_configs[] entry as echoed: credentials
// are write-only, and active means active and proven.
type SubscriberView struct {
	SubscriberID   string          `json:"subscriber_id"`
	URL            string          `json:"url"`
	EventTypes     []string        `json:"event_types"`
	Active         bool            `json:"active"`
	Authentication *AuthSchemeView `json:"authentication,omitempty"`
}

// AuthSchemeView shows which legacy scheme a subscriber uses, never its
// credentials.
type AuthSchemeView struct {
	Schemes []string `json:"schemes"`
}

func subscriberViews(subs []Subscriber) []SubscriberView {
	if subs == nil {
		return nil
	}
	out := make([]SubscriberView, len(subs))
	for i, s := range subs {
		out[i] = SubscriberView{SubscriberID: s.SubscriberID, URL: s.URL, EventTypes: s.EventTypes, Active: s.Active && s.ProvenAt != nil}
		if s.Auth != nil {
			out[i].Authentication = &AuthSchemeView{Schemes: s.Auth.Schemes}
		}
	}
	return out
}

// EventCreativeStatusChanged is the notification type of lifecycle
// webhooks (notification-type.json).
const EventCreativeStatusChanged = "creative.status_changed"

// StatusChangedWebhook is creative/creative-status-changed-webhook.json
// (AdCP 3.1).
type StatusChangedWebhook struct {
	IdempotencyKey   string            `json:"idempotency_key"`
	NotificationID   string            `json:"notification_id"`
	NotificationType string            `json:"notification_type"`
	FiredAt          time.Time         `json:"fired_at"`
	SubscriberID     string            `json:"subscriber_id"`
	AccountID        string            `json:"account_id"`
	CreativeID       string            `json:"creative_id"`
	Transition       WebhookTransition `json:"transition"`
	ReasonCode       string            `json:"reason_code"`
	ReasonDetail     string            `json:"reason_detail,omitempty"`
	Initiator        string            `json:"initiator"`
}

// WebhookTransition is the webhook's transition object.
type WebhookTransition struct {
	From       string    `json:"from"`
	To         string    `json:"to"`
	ObservedAt time.Time `json:"observed_at"`
}

// webhookFrom are the from-states the webhook schema can carry; a
// transition out of any other state (a controller moving a rejected or
// archived creative) has no webhook form and is not fired.
var webhookFrom = []string{StatusProcessing, StatusPendingReview, StatusApproved, "suspended"}

// reasonCode picks creative-event-reason-code.json's value for a
// transition.
func reasonCode(from, to string) string {
	switch {
	case to == StatusApproved:
		return "review_passed"
	case to == StatusRejected && from == StatusProcessing:
		return "processing_failure"
	case to == StatusRejected && from == StatusApproved:
		return "policy_revocation"
	case to == StatusRejected:
		return "review_failure"
	case to == StatusPendingReview:
		return "seller_rereview"
	case to == StatusArchived:
		return "seller_archive"
	default:
		return "policy_revocation"
	}
}

// lifecycleWebhooks turns one lifecycle event into a webhook per
// subscriber that asked for creative.status_changed and is active and
// proven. Every fire gets its own idempotency_key (the notifier keeps it
// across retries); the notification_id is the transition's, shared by all.
func lifecycleWebhooks(ev *events.CreativeStatusChangedV1, subs []Subscriber, now time.Time) ([]events.Event, error) {
	if !slices.Contains(webhookFrom, ev.FromStatus) {
		return nil, nil
	}
	initiator := "seller"
	if ev.InitiatedBy == events.InitiatedByReviewAuto {
		initiator = "system"
	}
	var out []events.Event
	for _, sub := range subs {
		if !sub.Active || sub.ProvenAt == nil || !slices.Contains(sub.EventTypes, EventCreativeStatusChanged) {
			continue
		}
		key := newID("whk_")
		body, err := json.Marshal(StatusChangedWebhook{
			IdempotencyKey: key, NotificationID: ev.NotificationID, NotificationType: EventCreativeStatusChanged,
			FiredAt: now, SubscriberID: sub.SubscriberID, AccountID: ev.AccountID, CreativeID: ev.CreativeID,
			Transition: WebhookTransition{From: ev.FromStatus, To: ev.ToStatus, ObservedAt: ev.OccurredAt},
			ReasonCode: reasonCode(ev.FromStatus, ev.ToStatus), ReasonDetail: truncate(ev.RejectionReason, 500), Initiator: initiator,
		})
		if err != nil {
			return nil, fmt.Errorf("encoding the lifecycle webhook of %s: %w", ev.CreativeID, err)
		}
		n := &events.NotificationRequestedV1{
			Header:         events.Header{EventID: newEventID(), CorrelationID: ev.CorrelationID, OccurredAt: now},
			IdempotencyKey: key, AccountID: ev.AccountID, Kind: EventCreativeStatusChanged, URL: sub.URL, Payload: body,
		}
		if a := sub.Auth; a != nil && len(a.Schemes) == 1 {
			n.Auth = &events.WebhookAuth{Scheme: a.Schemes[0], Credentials: a.Credentials}
		}
		out = append(out, n)
	}
	return out, nil
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// publishTransition publishes a seller-side transition on the lifecycle
// topic and, in the same transaction, the account subscribers' webhooks.
func publishTransition(ctx context.Context, tx Tx, ev *events.CreativeStatusChangedV1) error {
	subs, err := tx.Subscribers(ctx, ev.AccountID)
	if err != nil {
		return err
	}
	hooks, err := lifecycleWebhooks(ev, subs, ev.OccurredAt)
	if err != nil {
		return err
	}
	return tx.Publish(ctx, append([]events.Event{ev}, hooks...)...)
}
