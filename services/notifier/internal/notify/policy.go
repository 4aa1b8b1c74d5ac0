package notify

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrUndeliverable marks an attempt error that no retry can fix: a blocked
// or malformed target, an unknown auth scheme, a payload the signer refuses.
var ErrUndeliverable = errors.New("undeliverable")

// Result is what one attempt observed.
type Result struct {
	StatusCode      int    // 0 when no response arrived
	RetryAfter      string // raw Retry-After header
	WWWAuthenticate string // raw WWW-Authenticate header
	Err             error  // transport, target or signing error
}

// Verdict says what an attempt's result means for the delivery.
type Verdict int

const (
	VerdictDelivered Verdict = iota
	VerdictRetry
	VerdictReject
)

func (v Verdict) String() string {
	switch v {
	case VerdictDelivered:
		return "delivered"
	case VerdictRetry:
		return "retry"
	}
	return "reject"
}

// Classification is a verdict with a reason operators can read.
type Classification struct {
	Verdict Verdict
	Reason  string
	// RetryAfter is the receiver's requested wait, zero if none or unparsable.
	RetryAfter time.Duration
}

// Classify maps an attempt's result to a verdict. The rules follow AdCP 3.0
// and Standard Webhooks: 2xx delivered; 408, 429, 5xx and network errors
// are retried; redirects are not followed and count as refusals, as does
// every other 4xx (a 401 carrying a webhook_* signature error and a 410 are
// called out in the reason because they mean the receiver will never accept
// this delivery).
func Classify(r Result, now time.Time) Classification {
	if r.Err != nil {
		if errors.Is(r.Err, ErrUndeliverable) {
			return Classification{Verdict: VerdictReject, Reason: r.Err.Error()}
		}
		return Classification{Verdict: VerdictRetry, Reason: "network: " + r.Err.Error()}
	}
	code := r.StatusCode
	switch {
	case code >= 200 && code < 300:
		return Classification{Verdict: VerdictDelivered, Reason: fmt.Sprintf("HTTP %d", code)}
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500 && code < 600:
		return Classification{Verdict: VerdictRetry, Reason: fmt.Sprintf("HTTP %d", code), RetryAfter: ParseRetryAfter(r.RetryAfter, now)}
	case code >= 300 && code < 400:
		return Classification{Verdict: VerdictReject, Reason: fmt.Sprintf("HTTP %d: redirects are not followed", code)}
	case code == http.StatusUnauthorized:
		if e := signatureError(r.WWWAuthenticate); e != "" {
			return Classification{Verdict: VerdictReject, Reason: fmt.Sprintf("HTTP 401: receiver rejected the signature (%s)", e)}
		}
		return Classification{Verdict: VerdictReject, Reason: "HTTP 401"}
	case code == http.StatusGone:
		return Classification{Verdict: VerdictReject, Reason: "HTTP 410: receiver endpoint is gone"}
	default:
		return Classification{Verdict: VerdictReject, Reason: fmt.Sprintf("HTTP %d", code)}
	}
}

// signatureError extracts the webhook_* code from
// `WWW-Authenticate: Signature error="webhook_..."`, or "".
func signatureError(h string) string {
	if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(h)), "signature") {
		return ""
	}
	i := strings.Index(h, `error="`)
	if i < 0 {
		return ""
	}
	rest := h[i+len(`error="`):]
	j := strings.IndexByte(rest, '"')
	if j < 0 || !strings.HasPrefix(rest[:j], "webhook_") {
		return ""
	}
	return rest[:j]
}

// ParseRetryAfter reads a Retry-After value given as delta-seconds or an
// HTTP-date. Unparsable or past values give zero.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		// Anything this large is capped by the policy anyway; clamping here
		// avoids overflowing time.Duration.
		return time.Duration(min(secs, int64(365*24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// RetryPolicy decides when to try again and when to give up.
type RetryPolicy struct {
	// BaseDelay is the wait after the first failed attempt; it doubles with
	// each further failure.
	BaseDelay time.Duration
	// MaxDelay caps the doubling.
	MaxDelay time.Duration
	// MaxRetryAfter caps how long a receiver's Retry-After can defer us.
	MaxRetryAfter time.Duration
	// MaxAge is the retry horizon, counted from when the delivery was
	// accepted (or re-queued). AdCP receivers keep dedup state for 24 h, so
	// retrying past that risks a duplicate the buyer cannot detect.
	MaxAge time.Duration
	// MaxAttempts bounds attempts within one window.
	MaxAttempts int
	// Jitter spreads retries by ±Jitter×delay so that a receiver coming back
	// from an outage is not hit by every delivery at the same instant.
	Jitter float64
}

// DefaultRetryPolicy doubles from 1 s to a 1 h cap. 40 attempts reach about
// 25 h with that ladder, so in practice the 24 h horizon ends the retries and
// MaxAttempts only guards against a misconfigured horizon.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		BaseDelay:     time.Second,
		MaxDelay:      time.Hour,
		MaxRetryAfter: time.Hour,
		MaxAge:        24 * time.Hour,
		MaxAttempts:   40,
		Jitter:        0.2,
	}
}

// Validate reports settings that would make the policy misbehave.
func (p RetryPolicy) Validate() error {
	var errs []error
	if p.BaseDelay <= 0 {
		errs = append(errs, errors.New("base delay must be positive"))
	}
	if p.MaxDelay < p.BaseDelay {
		errs = append(errs, errors.New("max delay must be at least the base delay"))
	}
	if p.MaxRetryAfter < 0 {
		errs = append(errs, errors.New("max Retry-After must not be negative"))
	}
	if p.MaxAge <= 0 {
		errs = append(errs, errors.New("max age must be positive"))
	}
	if p.MaxAttempts < 1 {
		errs = append(errs, errors.New("max attempts must be at least 1"))
	}
	if p.Jitter < 0 || p.Jitter >= 1 {
		errs = append(errs, errors.New("jitter must be in [0, 1)"))
	}
	return errors.Join(errs...)
}

// Backoff is the un-jittered wait after the n-th failed attempt of a window (n ≥ 1).
func (p RetryPolicy) Backoff(n int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	return min(d, p.MaxDelay)
}

// Transition is the state a delivery moves to after an attempt.
type Transition struct {
	Status        Status
	NextAttemptAt time.Time // meaningful only for StatusPending
	Reason        string
}

// Decide applies the policy to an attempt of d (whose WindowAttempts already
// counts that attempt). rnd returns a number in [0, 1).
func (p RetryPolicy) Decide(d Delivery, c Classification, now time.Time, rnd func() float64) Transition {
	switch c.Verdict {
	case VerdictDelivered:
		return Transition{Status: StatusDelivered, Reason: c.Reason}
	case VerdictReject:
		return Transition{Status: StatusFailed, Reason: c.Reason}
	}
	n := max(d.WindowAttempts, 1)
	if n >= p.MaxAttempts {
		return Transition{Status: StatusDead, Reason: fmt.Sprintf("%s; gave up after %d attempts", c.Reason, n)}
	}
	delay := p.Backoff(n)
	if p.Jitter > 0 {
		delay = time.Duration(float64(delay) * (1 + p.Jitter*(2*rnd()-1)))
	}
	if ra := min(c.RetryAfter, p.MaxRetryAfter); ra > delay {
		delay = ra
	}
	next := now.Add(delay)
	if deadline := d.WindowStart.Add(p.MaxAge); next.After(deadline) {
		return Transition{Status: StatusDead, Reason: fmt.Sprintf("%s; next attempt would pass the %s retry horizon", c.Reason, p.MaxAge)}
	}
	return Transition{Status: StatusPending, NextAttemptAt: next, Reason: c.Reason}
}
