package review

import (
	"fmt"
	"math"
)

// Assessment is the scorer's verdict on a creative before thresholds apply.
type Assessment struct {
	Score      float64
	Findings   []Finding
	ForceHuman bool
	// ClassifierFailed is set when the external classifier did not answer
	// in time or answered nonsense; the creative then goes to a person.
	ClassifierFailed bool
}

// Scorer combines the findings of its rules into one score.
type Scorer struct {
	rules []Rule
}

// NewScorer returns a scorer over rules; it panics on a nil rule because
// that is a wiring mistake, never a run-time condition.
func NewScorer(rules ...Rule) *Scorer {
	for i, r := range rules {
		if r == nil {
			panic(fmt.Sprintf("review: rule %d is nil", i))
		}
	}
	return &Scorer{rules: rules}
}

// Score judges c. Each rule estimates the probability that the creative
// does not break what that rule checks: the lowest factor among its
// findings, because several findings of one kind are the same evidence
// seen twice (three http URLs are not three times as risky). Rules check
// unrelated things, so their probabilities multiply. The result is
// rounded to six decimals so that thresholds like 0.9 compare as people
// expect rather than against 0.8999999999.
func (s *Scorer) Score(c *Creative) Assessment {
	a := Assessment{Score: 1, Findings: []Finding{}}
	for _, r := range s.rules {
		ruleFactor := 1.0
		for _, f := range r.Check(c) {
			f.Factor = clamp01(f.Factor)
			ruleFactor = min(ruleFactor, f.Factor)
			a.ForceHuman = a.ForceHuman || f.ForceHuman
			a.Findings = append(a.Findings, f)
		}
		a.Score *= ruleFactor
	}
	a.Score = roundScore(a.Score)
	return a
}

func roundScore(f float64) float64 { return math.Round(f*1e6) / 1e6 }

func clamp01(f float64) float64 {
	if math.IsNaN(f) || f < 0 {
		return 0
	}
	return min(f, 1)
}
