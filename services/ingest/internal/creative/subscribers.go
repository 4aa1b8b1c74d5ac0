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

// PendingFire is one subscriber's creative.status_changed fire, possibly
// waiting out the coalescing window: From is the state before the first
// transition it covers, the rest describe the last one.
type PendingFire struct {
	AccountID       string
	CreativeID      string
	SubscriberID    string
	URL             string
	Auth            *PushAuth
	FromStatus      string
	ToStatus        string
	Revision        int64
	InitiatedBy     string
	RejectionReason string
	NotificationID  string
	ObservedAt      time.Time
	CorrelationID   string
	DueAt           time.Time
}

// firesOf are the fires one lifecycle event owes the account's active,
// proven subscribers of creative.status_changed.
func firesOf(ev *events.CreativeStatusChangedV1, subs []Subscriber, due time.Time) []PendingFire {
	var out []PendingFire
	for _, sub := range subs {
		if !sub.Active || sub.ProvenAt == nil || !slices.Contains(sub.EventTypes, EventCreativeStatusChanged) {
			continue
		}
		out = append(out, PendingFire{AccountID: ev.AccountID, CreativeID: ev.CreativeID, SubscriberID: sub.SubscriberID,
			URL: sub.URL, Auth: sub.Auth, FromStatus: ev.FromStatus, ToStatus: ev.ToStatus, Revision: ev.Revision,
			InitiatedBy: ev.InitiatedBy, RejectionReason: ev.RejectionReason, NotificationID: ev.NotificationID,
			ObservedAt: ev.OccurredAt, CorrelationID: ev.CorrelationID, DueAt: due})
	}
	return out
}

// webhookOf renders a fire as the notifier's event; ok is false for a fire
// with no webhook form (a move out of rejected or archived, or coalesced
// transitions that ended where they started).
func webhookOf(f PendingFire, now time.Time) (ev *events.NotificationRequestedV1, ok bool, err error) {
	if !slices.Contains(webhookFrom, f.FromStatus) || f.FromStatus == f.ToStatus {
		return nil, false, nil
	}
	initiator := "seller"
	if f.InitiatedBy == events.InitiatedByReviewAuto {
		initiator = "system"
	}
	key := newID("whk_")
	body, err := json.Marshal(StatusChangedWebhook{
		IdempotencyKey: key, NotificationID: f.NotificationID, NotificationType: EventCreativeStatusChanged,
		FiredAt: now, SubscriberID: f.SubscriberID, AccountID: f.AccountID, CreativeID: f.CreativeID,
		Transition: WebhookTransition{From: f.FromStatus, To: f.ToStatus, ObservedAt: f.ObservedAt},
		ReasonCode: reasonCode(f.FromStatus, f.ToStatus), ReasonDetail: truncate(f.RejectionReason, 500), Initiator: initiator,
	})
	if err != nil {
		return nil, false, fmt.Errorf("encoding the lifecycle webhook of %s: %w", f.CreativeID, err)
	}
	ev = &events.NotificationRequestedV1{
		Header:         events.Header{EventID: newEventID(), CorrelationID: f.CorrelationID, OccurredAt: now},
		IdempotencyKey: key, AccountID: f.AccountID, Kind: EventCreativeStatusChanged, URL: f.URL, Payload: body,
	}
	if a := f.Auth; a != nil && len(a.Schemes) == 1 {
		ev.Auth = &events.WebhookAuth{Scheme: a.Schemes[0], Credentials: a.Credentials}
	}
	return ev, true, nil
}

// lifecycleWebhooks turns one lifecycle event into a webhook per
// subscriber that asked for creative.status_changed and is active and
// proven. Every fire gets its own idempotency_key (the notifier keeps it
// across retries); the notification_id is the transition's, shared by all.
func lifecycleWebhooks(ev *events.CreativeStatusChangedV1, subs []Subscriber, now time.Time) ([]events.Event, error) {
	var out []events.Event
	for _, f := range firesOf(ev, subs, now) {
		n, ok, err := webhookOf(f, now)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, n)
		}
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
// topic and, in the same transaction, its subscribers' webhooks — at once,
// or queued to coalesce with later transitions of the creative within the
// window.
func (s *Service) publishTransition(ctx context.Context, tx Tx, ev *events.CreativeStatusChangedV1) error {
	subs, err := tx.Subscribers(ctx, ev.AccountID)
	if err != nil {
		return err
	}
	if s.coalesce > 0 {
		if fires := firesOf(ev, subs, ev.OccurredAt.Add(s.coalesce)); len(fires) > 0 {
			if err := tx.QueueFires(ctx, fires); err != nil {
				return err
			}
		}
		return tx.Publish(ctx, ev)
	}
	hooks, err := lifecycleWebhooks(ev, subs, ev.OccurredAt)
	if err != nil {
		return err
	}
	return tx.Publish(ctx, append([]events.Event{ev}, hooks...)...)
}

// maxFiresPerFlush bounds one flush transaction.
const maxFiresPerFlush = 100

// FlushFires sends the coalesced fires whose window has passed, in one
// transaction with their removal; it returns how many it took.
func (s *Service) FlushFires(ctx context.Context) (int, error) {
	n := 0
	err := s.store.InTx(ctx, func(tx Tx) error {
		now := s.now()
		due, err := tx.DueFires(ctx, now, maxFiresPerFlush)
		if err != nil || len(due) == 0 {
			return err
		}
		n = len(due)
		var evs []events.Event
		for _, f := range due {
			ev, ok, err := webhookOf(f, now)
			if err != nil {
				return err
			}
			if ok {
				evs = append(evs, ev)
			}
		}
		if err := tx.Publish(ctx, evs...); err != nil {
			return err
		}
		return tx.DeleteFires(ctx, due)
	})
	return n, err
}
