// Package review is the review service's domain: what a creative revision
// looks like to the reviewer, the rules that score it, how a score becomes a
// decision under a tenant's thresholds, and the use cases that record
// decisions and announce them. It knows nothing of Postgres, NATS or HTTP;
// the interfaces it needs from them (Store, Observer) are declared here.
//
// The score is the estimated probability that the creative complies with
// the seller's standards, in [0, 1]. Thresholds apply to it directly:
// score >= approve is approved, score < reject is rejected, and the band in
// between goes to a person.
package review

import (
	"encoding/json"
	"fmt"
	"time"

	"example.com/creativesync/events"
)

// Key identifies one reviewed revision of a creative. Reviews are stored per
// revision so a late, older revision can never overwrite a newer decision.
type Key struct {
	AccountID  string
	CreativeID string
	Revision   int64
}

func (k Key) String() string {
	return fmt.Sprintf("%s/%s@%d", k.AccountID, k.CreativeID, k.Revision)
}

// State is where a review stands.
type State string

const (
	StatePendingHuman State = "pending_human"
	StateApproved     State = "approved"
	StateRejected     State = "rejected"
)

// Valid reports whether s is one of the known states.
func (s State) Valid() bool {
	return s == StatePendingHuman || s == StateApproved || s == StateRejected
}

// Verdict is a yes/no on a creative, from the scorer or from a person.
type Verdict string

const (
	VerdictApprove Verdict = "approve"
	VerdictReject  Verdict = "reject"
)

// State returns the final state a verdict leads to.
func (v Verdict) State() State {
	if v == VerdictApprove {
		return StateApproved
	}
	return StateRejected
}

// Policies that route a revision; recorded as policy_triggered so an audit
// can tell a sensitive-category hold from an uncertain score.
const (
	PolicyAutoApprove       = "auto_approve"
	PolicyAutoReject        = "auto_reject"
	PolicyUncertainScore    = "uncertain_score"
	PolicySensitiveCategory = "sensitive_category"
	// PolicyClassifierUnavailable holds a creative for a person because the
	// external classifier did not answer: no answer is not an approval.
	PolicyClassifierUnavailable = "classifier_unavailable"
)

// Creative is what the rules look at: one revision of a synced creative,
// with the assets parsed enough to be judged.
type Creative struct {
	Key
	Name     string
	FormatID events.FormatID
	// Format is ingest's snapshot of the format definition; nil when ingest
	// did not know the format.
	Format     *events.FormatSnapshot
	Assets     map[string]Asset
	Tags       []string
	Provenance *Provenance
}

// Asset is one entry of the creative's manifest.
type Asset struct {
	Type string
	// URLs holds every top-level "url" or "*_url" field, keyed by field name,
	// so the URL rule also sees captions, transcripts and the like.
	URLs map[string]string
	// Text is the human-readable content of the asset (text, markdown, html
	// content, alt text, descriptions), joined, for keyword rules.
	Text string
	// Provenance is the asset's own provenance; when set it replaces the
	// creative's wholesale, as AdCP prescribes.
	Provenance *Provenance
	// Declared are the asset's own claims about its bytes (0: not said),
	// checked against the real file when assets are inspected.
	Declared Declared
}

// Declared is what an asset says about itself.
type Declared struct {
	Width, Height, DurationMS int
}

// Provenance is the part of AdCP provenance the rules judge.
type Provenance struct {
	DigitalSourceType string
	// Disclosed is true when the declaring party said anything about AI
	// disclosure obligations (AdCP's provenance.disclosure object).
	Disclosed bool
}

// Snapshot is the creative as the reviewer page shows it. It is stored with
// the review so a person judges exactly what the scorer judged.
type Snapshot struct {
	Name       string          `json:"name"`
	FormatID   events.FormatID `json:"format_id"`
	FormatName string          `json:"format_name,omitempty"`
	Assets     json.RawMessage `json:"assets"`
	Tags       []string        `json:"tags,omitempty"`
	Provenance json.RawMessage `json:"provenance,omitempty"`
	// FormatAssets are the format's asset ids in the format's order, so the
	// page previews a creative the way the format assembles it.
	FormatAssets []string `json:"format_assets,omitempty"`
}

// Review is the recorded outcome for one revision.
type Review struct {
	Key
	Score    float64
	Findings []Finding
	State    State
	// Recommendation is what the scorer would decide if forced to choose;
	// a human decision against it is a human override.
	Recommendation  Verdict
	PolicyTriggered string
	DecidedBy       string // events.DecidedByAuto or DecidedByHuman; empty while pending
	Reviewer        string
	DecisionReason  string
	HumanOverride   bool
	// Thresholds are the ones in force when the revision was scored.
	Thresholds    Thresholds
	Creative      Snapshot
	CorrelationID string
	SourceEventID string
	// SupersededBy is the newer revision that replaced this one, or 0.
	SupersededBy int64
	// ClaimedBy is the reviewer working on the revision until ClaimedUntil;
	// meanwhile nobody else may decide it.
	ClaimedBy    string
	ClaimedUntil time.Time
	// QueuedSince is when the creative entered the queue: the first pending
	// revision's time, so a re-sync keeps its place. Set by Queue only.
	QueuedSince time.Time
	CreatedAt   time.Time
	DecidedAt   time.Time // zero while pending
}

// Reasons returns the findings in event form.
func (r Review) Reasons() []events.Reason {
	out := make([]events.Reason, 0, len(r.Findings)+1)
	if r.DecidedBy == events.DecidedByHuman {
		msg := r.DecisionReason
		if msg == "" {
			msg = "decided by a reviewer"
		}
		out = append(out, events.Reason{Code: CodeReviewerDecision, Message: msg})
	}
	for _, f := range r.Findings {
		out = append(out, f.Reason())
	}
	return out
}

// ClaimedByOther reports whether someone other than reviewer holds a live
// claim at now.
func (r Review) ClaimedByOther(reviewer string, now time.Time) bool {
	return r.ClaimedBy != "" && r.ClaimedBy != reviewer && now.Before(r.ClaimedUntil)
}

// Decided reports whether the review has a final state.
func (r Review) Decided() bool { return r.State != StatePendingHuman }

// CodeReviewerDecision is the reason code a person's decision carries first
// in the emitted event, ahead of the automated findings.
const CodeReviewerDecision = "REVIEWER_DECISION"
