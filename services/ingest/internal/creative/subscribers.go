package creative

import (
	"slices"
	"time"
)

// This file holds AdCP 3.1 account-level webhook subscribers
// (sync_accounts accounts[].notification_configs[]): declarative replace
// per account, keyed by subscriber_id.

// AccountEventTypes are the account-anchored notification types a
// subscriber may ask for (notification-type.json minus the media-buy ones).
var AccountEventTypes = []string{"creative.status_changed", "creative.purged", "product.created", "product.updated",
	"product.priced", "product.removed", "signal.created", "signal.updated", "signal.priced", "signal.removed",
	"wholesale_feed.bulk_change"}

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
		return x.SubscriberID == y.SubscriberID && x.Active == y.Active && sameRegistration(x, y)
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
