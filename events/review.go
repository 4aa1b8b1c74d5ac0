package events

// Reason explains one finding of a review: a rule that fired, with a code a
// machine can act on and a message a person can read.
type Reason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// Decider says who made a review decision.
const (
	DecidedByAuto  = "auto"
	DecidedByHuman = "human"
)

// CreativeReviewRequestedV1 is published by review when a creative's score
// falls between the tenant's thresholds and a person must decide.
type CreativeReviewRequestedV1 struct {
	Header
	AccountID  string   `json:"account_id"`
	CreativeID string   `json:"creative_id"`
	Revision   int64    `json:"revision"`
	Score      float64  `json:"score"`
	Reasons    []Reason `json:"reasons"`
}

func (*CreativeReviewRequestedV1) EventName() string { return "creative_review_requested_v1" }

// Decision is the common body of approved and rejected events.
type Decision struct {
	AccountID  string   `json:"account_id"`
	CreativeID string   `json:"creative_id"`
	Revision   int64    `json:"revision"`
	Score      float64  `json:"score"`
	Reasons    []Reason `json:"reasons"`
	DecidedBy  string   `json:"decided_by"` // auto | human
	Reviewer   string   `json:"reviewer,omitempty"`
}

// CreativeApprovedV1 is published by review when a creative revision may serve.
type CreativeApprovedV1 struct {
	Header
	Decision
}

func (*CreativeApprovedV1) EventName() string { return "creative_approved_v1" }

// CreativeRejectedV1 is published by review when a creative revision may not serve.
type CreativeRejectedV1 struct {
	Header
	Decision
}

func (*CreativeRejectedV1) EventName() string { return "creative_rejected_v1" }
