package review_test

import (
	"math"
	"testing"

	"example.com/creativesync/platform/apperr"
	"example.com/creativesync/services/review/internal/review"
)

func TestDecide(t *testing.T) {
	t.Parallel()
	def := review.DefaultThresholds()
	tests := []struct {
		name   string
		a      review.Assessment
		t      review.Thresholds
		state  review.State
		policy string
		rec    review.Verdict
	}{
		{"perfect", review.Assessment{Score: 1}, def, review.StateApproved, review.PolicyAutoApprove, review.VerdictApprove},
		{"exactly approve threshold approves", review.Assessment{Score: 0.9}, def, review.StateApproved, review.PolicyAutoApprove, review.VerdictApprove},
		{"just below approve", review.Assessment{Score: 0.899999}, def, review.StatePendingHuman, review.PolicyUncertainScore, review.VerdictApprove},
		{"human band, leaning reject", review.Assessment{Score: 0.3}, def, review.StatePendingHuman, review.PolicyUncertainScore, review.VerdictReject},
		{"exactly reject threshold is not rejected", review.Assessment{Score: 0.1}, def, review.StatePendingHuman, review.PolicyUncertainScore, review.VerdictReject},
		{"below reject", review.Assessment{Score: 0.099}, def, review.StateRejected, review.PolicyAutoReject, review.VerdictReject},
		{"zero", review.Assessment{Score: 0}, def, review.StateRejected, review.PolicyAutoReject, review.VerdictReject},
		{"force human beats approve", review.Assessment{Score: 1, ForceHuman: true}, def, review.StatePendingHuman, review.PolicySensitiveCategory, review.VerdictApprove},
		{"force human does not save a broken creative", review.Assessment{Score: 0, ForceHuman: true}, def, review.StateRejected, review.PolicyAutoReject, review.VerdictReject},
		{"tenant with a low approve threshold", review.Assessment{Score: 0.7}, review.Thresholds{Approve: 0.6, Reject: 0.1}, review.StateApproved, review.PolicyAutoApprove, review.VerdictApprove},
		{"tenant with a high reject threshold", review.Assessment{Score: 0.5}, review.Thresholds{Approve: 0.95, Reject: 0.6}, review.StateRejected, review.PolicyAutoReject, review.VerdictReject},
		{"tenant that never auto-rejects", review.Assessment{Score: 0}, review.Thresholds{Approve: 0.9, Reject: 0}, review.StatePendingHuman, review.PolicyUncertainScore, review.VerdictReject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := review.Decide(tt.a, tt.t)
			if got.State != tt.state || got.Policy != tt.policy || got.Recommendation != tt.rec {
				t.Fatalf("Decide = %+v, want %s/%s/%s", got, tt.state, tt.policy, tt.rec)
			}
		})
	}
}

func TestThresholdsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		t     review.Thresholds
		field string // empty when valid
	}{
		{"defaults", review.DefaultThresholds(), ""},
		{"full range", review.Thresholds{Approve: 1, Reject: 0}, ""},
		{"reject equals approve", review.Thresholds{Approve: 0.5, Reject: 0.5}, "reject_threshold"},
		{"reject above approve", review.Thresholds{Approve: 0.1, Reject: 0.9}, "reject_threshold"},
		{"approve above one", review.Thresholds{Approve: 1.1, Reject: 0.1}, "approve_threshold"},
		{"negative reject", review.Thresholds{Approve: 0.9, Reject: -0.1}, "reject_threshold"},
		{"NaN", review.Thresholds{Approve: math.NaN(), Reject: 0.1}, "approve_threshold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.t.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			e := apperr.As(err)
			if e == nil || e.Code != review.CodeInvalidRequest || e.Field != tt.field {
				t.Fatalf("err = %v, want INVALID_REQUEST on %s", err, tt.field)
			}
		})
	}
}

func TestHumanDecisionValidate(t *testing.T) {
	t.Parallel()
	long := make([]rune, 2001)
	for i := range long {
		long[i] = 'x'
	}
	tests := []struct {
		name  string
		d     review.HumanDecision
		field string
	}{
		{"approve without reason", review.HumanDecision{Verdict: review.VerdictApprove, Reviewer: "ana"}, ""},
		{"reject with reason", review.HumanDecision{Verdict: review.VerdictReject, Reviewer: "ana", Reason: "misleading"}, ""},
		{"unknown verdict", review.HumanDecision{Verdict: "maybe", Reviewer: "ana"}, "decision"},
		{"no reviewer", review.HumanDecision{Verdict: review.VerdictApprove, Reviewer: "  "}, "reviewer"},
		{"reject without reason", review.HumanDecision{Verdict: review.VerdictReject, Reviewer: "ana"}, "reason"},
		{"reason too long", review.HumanDecision{Verdict: review.VerdictApprove, Reviewer: "ana", Reason: string(long)}, "reason"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.d.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if e := apperr.As(err); e == nil || e.Field != tt.field {
				t.Fatalf("err = %v, want error on %s", err, tt.field)
			}
		})
	}
}
