package review

import (
	"fmt"
	"math"
)

// Defaults for the thresholds when neither config nor a tenant sets them.
const (
	DefaultApproveThreshold = 0.9
	DefaultRejectThreshold  = 0.1
)

// Thresholds turn a score into a decision. Both apply to the probability of
// compliance: at or above Approve the machine approves, below Reject it
// rejects, and in between a person decides.
type Thresholds struct {
	Approve float64 `json:"approve_threshold"`
	Reject  float64 `json:"reject_threshold"`
}

// DefaultThresholds returns the built-in thresholds.
func DefaultThresholds() Thresholds {
	return Thresholds{Approve: DefaultApproveThreshold, Reject: DefaultRejectThreshold}
}

// Validate rejects thresholds outside [0, 1] and a reject threshold that is
// not below the approve one; the latter would make the human band empty or
// inverted, the mistake that let SA reject what it should have approved.
func (t Thresholds) Validate() error {
	for _, v := range []struct {
		name  string
		value float64
	}{{"approve_threshold", t.Approve}, {"reject_threshold", t.Reject}} {
		if math.IsNaN(v.value) || v.value < 0 || v.value > 1 {
			return invalidf(v.name, "%s must be between 0 and 1, got %v", v.name, v.value)
		}
	}
	if t.Reject >= t.Approve {
		return invalidf("reject_threshold", "reject_threshold (%v) must be below approve_threshold (%v)", t.Reject, t.Approve)
	}
	return nil
}

// Decision is what thresholds make of an assessment.
type Decision struct {
	State          State
	Policy         string
	Recommendation Verdict
}

// Decide applies thresholds to an assessment.
//
// A sensitive category (ForceHuman) blocks auto-approval but not
// auto-rejection: a creative scoring below the reject threshold has a
// certain defect (a missing asset, a script URL) that no reviewer can
// approve away, so queueing it would only waste a person's time.
func Decide(a Assessment, t Thresholds) Decision {
	rec := VerdictReject
	if a.Score >= 0.5 {
		// More likely compliant than not; what a person sees as the
		// machine's advice and what human_override is measured against.
		rec = VerdictApprove
	}
	switch {
	case a.Score < t.Reject:
		return Decision{State: StateRejected, Policy: PolicyAutoReject, Recommendation: VerdictReject}
	case a.ClassifierFailed:
		// Nothing certain was found, but the check the account relies on
		// did not run: a person decides, the machine never approves.
		return Decision{State: StatePendingHuman, Policy: PolicyClassifierUnavailable, Recommendation: rec}
	case a.ForceHuman:
		return Decision{State: StatePendingHuman, Policy: PolicySensitiveCategory, Recommendation: rec}
	case a.Score >= t.Approve:
		return Decision{State: StateApproved, Policy: PolicyAutoApprove, Recommendation: VerdictApprove}
	default:
		return Decision{State: StatePendingHuman, Policy: PolicyUncertainScore, Recommendation: rec}
	}
}

func (d Decision) String() string { return fmt.Sprintf("%s (%s)", d.State, d.Policy) }
