package postgres

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"example.com/creativesync/events"
	"example.com/creativesync/services/review/internal/review"
)

// reviewRow is a row of reviews. JSON columns travel as strings because
// lib/pq would send []byte as bytea, which jsonb does not accept.
type reviewRow struct {
	AccountID        string         `db:"account_id"`
	CreativeID       string         `db:"creative_id"`
	Revision         int64          `db:"revision"`
	Score            float64        `db:"score"`
	Reasons          string         `db:"reasons"`
	State            string         `db:"state"`
	Recommendation   string         `db:"recommendation"`
	PolicyTriggered  string         `db:"policy_triggered"`
	DecidedBy        sql.NullString `db:"decided_by"`
	Reviewer         sql.NullString `db:"reviewer"`
	DecisionReason   sql.NullString `db:"decision_reason"`
	HumanOverride    bool           `db:"human_override"`
	ApproveThreshold float64        `db:"approve_threshold"`
	RejectThreshold  float64        `db:"reject_threshold"`
	Creative         string         `db:"creative"`
	CorrelationID    sql.NullString `db:"correlation_id"`
	SourceEventID    string         `db:"source_event_id"`
	SupersededBy     sql.NullInt64  `db:"superseded_by"`
	ClaimedBy        sql.NullString `db:"claimed_by"`
	ClaimedUntil     sql.NullTime   `db:"claimed_until"`
	CreatedAt        time.Time      `db:"created_at"`
	DecidedAt        sql.NullTime   `db:"decided_at"`
	UpdatedAt        time.Time      `db:"updated_at"`
}

// findingRow is one element of reviews.reasons.
type findingRow struct {
	Code       string  `json:"code"`
	Message    string  `json:"message"`
	Field      string  `json:"field,omitempty"`
	Factor     float64 `json:"factor"`
	ForceHuman bool    `json:"force_human,omitempty"`
}

// creativeRow is reviews.creative.
type creativeRow struct {
	Name         string          `json:"name"`
	FormatID     formatIDRow     `json:"format_id"`
	FormatName   string          `json:"format_name,omitempty"`
	Assets       json.RawMessage `json:"assets"`
	Tags         []string        `json:"tags,omitempty"`
	Provenance   json.RawMessage `json:"provenance,omitempty"`
	FormatAssets []string        `json:"format_assets,omitempty"`
}

type formatIDRow struct {
	AgentURL   string `json:"agent_url"`
	ID         string `json:"id"`
	Width      int    `json:"width,omitempty"`
	Height     int    `json:"height,omitempty"`
	DurationMS int    `json:"duration_ms,omitempty"`
}

type policyRow struct {
	AccountID        string         `db:"account_id"`
	ApproveThreshold float64        `db:"approve_threshold"`
	RejectThreshold  float64        `db:"reject_threshold"`
	Standards        string         `db:"standards"`
	UpdatedBy        sql.NullString `db:"updated_by"`
}

// standardsRow is review_policies.standards: the standards without the
// thresholds, which have their own checked columns.
type standardsRow struct {
	BlockedTerms    []string            `json:"blocked_terms,omitempty"`
	BlockedDomains  []string            `json:"blocked_domains,omitempty"`
	AllowedDomains  []string            `json:"allowed_domains,omitempty"`
	HumanCategories map[string][]string `json:"human_categories,omitempty"`
	AIDisclosure    string              `json:"ai_disclosure,omitempty"`
	Reasons         []string            `json:"reasons,omitempty"`
}

func toPolicyRow(accountID, actor string, st review.Standards) (policyRow, error) {
	b, err := json.Marshal(standardsRow{
		BlockedTerms: st.BlockedTerms, BlockedDomains: st.BlockedDomains, AllowedDomains: st.AllowedDomains,
		HumanCategories: st.HumanCategories, AIDisclosure: st.AIDisclosure, Reasons: st.Reasons,
	})
	if err != nil {
		return policyRow{}, fmt.Errorf("encoding standards: %w", err)
	}
	return policyRow{AccountID: accountID, ApproveThreshold: st.Approve, RejectThreshold: st.Reject,
		Standards: string(b), UpdatedBy: nullString(actor)}, nil
}

// toStandards reads a row; rows from before standards existed hold '{}'
// and read as the default policy with the row's thresholds.
func (r policyRow) toStandards() (review.Standards, error) {
	var sr standardsRow
	if err := json.Unmarshal([]byte(r.Standards), &sr); err != nil {
		return review.Standards{}, fmt.Errorf("decoding standards of %s: %w", r.AccountID, err)
	}
	return review.Standards{
		Thresholds:   review.Thresholds{Approve: r.ApproveThreshold, Reject: r.RejectThreshold},
		BlockedTerms: sr.BlockedTerms, BlockedDomains: sr.BlockedDomains, AllowedDomains: sr.AllowedDomains,
		HumanCategories: sr.HumanCategories, AIDisclosure: sr.AIDisclosure, Reasons: sr.Reasons,
	}.Normalize(), nil
}

func toReviewRow(rv review.Review) (reviewRow, error) {
	findings := make([]findingRow, 0, len(rv.Findings))
	for _, f := range rv.Findings {
		findings = append(findings, findingRow(f))
	}
	reasons, err := json.Marshal(findings)
	if err != nil {
		return reviewRow{}, fmt.Errorf("encoding findings: %w", err)
	}
	snap := rv.Creative
	assets := snap.Assets
	if len(assets) == 0 {
		assets = json.RawMessage(`{}`)
	}
	creative, err := json.Marshal(creativeRow{
		Name:         snap.Name,
		FormatID:     formatIDRow(snap.FormatID),
		FormatName:   snap.FormatName,
		Assets:       assets,
		Tags:         snap.Tags,
		Provenance:   snap.Provenance,
		FormatAssets: snap.FormatAssets,
	})
	if err != nil {
		return reviewRow{}, fmt.Errorf("encoding creative snapshot: %w", err)
	}
	return reviewRow{
		AccountID:        rv.AccountID,
		CreativeID:       rv.CreativeID,
		Revision:         rv.Revision,
		Score:            rv.Score,
		Reasons:          string(reasons),
		State:            string(rv.State),
		Recommendation:   string(rv.Recommendation),
		PolicyTriggered:  rv.PolicyTriggered,
		DecidedBy:        nullString(rv.DecidedBy),
		Reviewer:         nullString(rv.Reviewer),
		DecisionReason:   nullString(rv.DecisionReason),
		HumanOverride:    rv.HumanOverride,
		ApproveThreshold: rv.Thresholds.Approve,
		RejectThreshold:  rv.Thresholds.Reject,
		Creative:         string(creative),
		CorrelationID:    nullString(rv.CorrelationID),
		SourceEventID:    rv.SourceEventID,
		SupersededBy:     sql.NullInt64{Int64: rv.SupersededBy, Valid: rv.SupersededBy != 0},
		ClaimedBy:        nullString(rv.ClaimedBy),
		ClaimedUntil:     sql.NullTime{Time: rv.ClaimedUntil, Valid: !rv.ClaimedUntil.IsZero()},
		CreatedAt:        rv.CreatedAt,
		DecidedAt:        sql.NullTime{Time: rv.DecidedAt, Valid: !rv.DecidedAt.IsZero()},
	}, nil
}

func (r reviewRow) toReview() (review.Review, error) {
	var findings []findingRow
	if err := json.Unmarshal([]byte(r.Reasons), &findings); err != nil {
		return review.Review{}, fmt.Errorf("decoding findings of %s/%s@%d: %w", r.AccountID, r.CreativeID, r.Revision, err)
	}
	var c creativeRow
	if err := json.Unmarshal([]byte(r.Creative), &c); err != nil {
		return review.Review{}, fmt.Errorf("decoding creative of %s/%s@%d: %w", r.AccountID, r.CreativeID, r.Revision, err)
	}
	rv := review.Review{
		Key:             review.Key{AccountID: r.AccountID, CreativeID: r.CreativeID, Revision: r.Revision},
		Score:           r.Score,
		Findings:        make([]review.Finding, 0, len(findings)),
		State:           review.State(r.State),
		Recommendation:  review.Verdict(r.Recommendation),
		PolicyTriggered: r.PolicyTriggered,
		DecidedBy:       r.DecidedBy.String,
		Reviewer:        r.Reviewer.String,
		DecisionReason:  r.DecisionReason.String,
		HumanOverride:   r.HumanOverride,
		Thresholds:      review.Thresholds{Approve: r.ApproveThreshold, Reject: r.RejectThreshold},
		Creative: review.Snapshot{
			Name:         c.Name,
			FormatID:     events.FormatID(c.FormatID),
			FormatName:   c.FormatName,
			Assets:       c.Assets,
			Tags:         c.Tags,
			Provenance:   c.Provenance,
			FormatAssets: c.FormatAssets,
		},
		CorrelationID: r.CorrelationID.String,
		SourceEventID: r.SourceEventID,
		SupersededBy:  r.SupersededBy.Int64,
		CreatedAt:     r.CreatedAt.UTC(),
	}
	if r.DecidedAt.Valid {
		rv.DecidedAt = r.DecidedAt.Time.UTC()
	}
	if r.ClaimedBy.Valid && r.ClaimedUntil.Valid {
		rv.ClaimedBy, rv.ClaimedUntil = r.ClaimedBy.String, r.ClaimedUntil.Time.UTC()
	}
	for _, f := range findings {
		rv.Findings = append(rv.Findings, review.Finding(f))
	}
	return rv, nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
