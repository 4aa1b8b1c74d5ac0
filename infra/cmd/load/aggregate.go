package main

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// Result is what the pipeline did with the load.
type Result struct {
	Syncs     SyncCounts     `json:"syncs"`
	Creatives CreativeCounts `json:"creatives"`
	Rates     Rates          `json:"rates"`
	// Tasks accepted but never notified by the end of the drain, and
	// webhooks received more than once: both must be 0.
	Lost       int      `json:"lost"`
	Duplicated int      `json:"duplicated"`
	Webhooks   Counters `json:"webhooks"`
	// Sent → the task's final webhook received, the figure a buyer sees.
	TaskLatency Latency `json:"task_latency"`
	// Sent → ingest completed the task (the webhook's timestamp), and
	// from there to the webhook's arrival: where the time went.
	SettleLatency Latency `json:"settle_latency"`
	NotifyHop     Latency `json:"notify_hop_latency"`
	// Sent → ingest answered.
	CallLatency Latency      `json:"call_latency"`
	Errors      []ErrorCount `json:"errors,omitempty"`
}

// SyncCounts are sync_creatives calls.
type SyncCounts struct {
	Sent     int            `json:"sent"`
	Accepted int            `json:"accepted"` // answered "submitted" with a task
	Failed   int            `json:"failed"`
	Skipped  int64          `json:"skipped"` // open loop: not sent, too many in flight
	ByProto  map[string]int `json:"by_protocol"`
	Notified int            `json:"notified"` // tasks whose final webhook arrived
}

// CreativeCounts are creatives, counted at each stage.
type CreativeCounts struct {
	Accepted int `json:"accepted"`
	Decided  int `json:"decided"` // review published a decision
	Approved int `json:"approved"`
	Rejected int `json:"rejected"`
	Human    int `json:"sent_to_human"`
	Notified int `json:"notified"` // in tasks whose webhook arrived
}

// Rates are creatives per second, each from the start of the load to the
// last event of its kind, so a backlog drained after the load still counts
// against the time it took.
type Rates struct {
	AcceptedPerSec  float64 `json:"accepted_per_s"`
	DecidedPerSec   float64 `json:"decided_per_s"`
	NotifiedPerSec  float64 `json:"notified_per_s"`
	AcceptedSeconds float64 `json:"accepted_window_s"`
	DecidedSeconds  float64 `json:"decided_window_s"`
	NotifiedSeconds float64 `json:"notified_window_s"`
}

// ErrorCount is one distinct reason syncs failed.
type ErrorCount struct {
	Error string `json:"error"`
	Count int    `json:"count"`
}

// Decided is review's side: when each decision was published.
type Decided struct {
	Times                     []time.Time
	Approved, Rejected, Human int
}

// Aggregate turns the calls, webhook counters and decisions of a run that
// started at start into its result.
func Aggregate(start time.Time, calls []Call, wh Counters, dec Decided, skipped int64) Result {
	r := Result{Webhooks: wh, Syncs: SyncCounts{Skipped: skipped, ByProto: map[string]int{}}}
	var lastAnswer, lastNotified, lastDecided time.Time
	var total, settle, hop, call []time.Duration
	errs := map[string]int{}
	for _, c := range calls {
		r.Syncs.Sent++
		r.Syncs.ByProto[c.Proto]++
		if !c.Answered.IsZero() {
			call = append(call, c.Answered.Sub(c.Sent))
		}
		if !c.Accepted() {
			r.Syncs.Failed++
			if c.Err != "" {
				errs[c.Err]++
			} else {
				errs["no answer"]++
			}
			continue
		}
		r.Syncs.Accepted++
		r.Creatives.Accepted += c.Creatives
		lastAnswer = later(lastAnswer, c.Answered)
		if c.Notified.IsZero() {
			r.Lost++
			continue
		}
		r.Syncs.Notified++
		r.Creatives.Notified += c.Creatives
		lastNotified = later(lastNotified, c.Notified)
		total = append(total, c.Notified.Sub(c.Sent))
		if !c.Settled.IsZero() {
			settle = append(settle, c.Settled.Sub(c.Sent))
			hop = append(hop, c.Notified.Sub(c.Settled))
		}
	}
	for _, t := range dec.Times {
		lastDecided = later(lastDecided, t)
	}
	r.Creatives.Decided, r.Creatives.Approved, r.Creatives.Rejected, r.Creatives.Human =
		len(dec.Times), dec.Approved, dec.Rejected, dec.Human
	r.Duplicated = wh.DuplicateKeys + wh.DuplicateTasks
	r.Rates.AcceptedPerSec, r.Rates.AcceptedSeconds = rate(r.Creatives.Accepted, start, lastAnswer)
	r.Rates.DecidedPerSec, r.Rates.DecidedSeconds = rate(r.Creatives.Decided, start, lastDecided)
	r.Rates.NotifiedPerSec, r.Rates.NotifiedSeconds = rate(r.Creatives.Notified, start, lastNotified)
	r.TaskLatency, r.SettleLatency, r.NotifyHop, r.CallLatency = Summarize(total), Summarize(settle), Summarize(hop), Summarize(call)
	for e, n := range errs {
		r.Errors = append(r.Errors, ErrorCount{Error: e, Count: n})
	}
	sort.Slice(r.Errors, func(i, j int) bool { return r.Errors[i].Count > r.Errors[j].Count })
	if len(r.Errors) > 5 {
		r.Errors = r.Errors[:5]
	}
	return r
}

// Problems lists what makes a run wrong rather than slow. No throughput or
// latency figure is judged: those are read, not asserted.
func (r Result) Problems() []string {
	var p []string
	add := func(n int, format string) {
		if n > 0 {
			p = append(p, fmt.Sprintf(format, n))
		}
	}
	add(r.Lost, "%d tasks accepted but never notified")
	add(r.Duplicated, "%d webhooks duplicated")
	add(r.Webhooks.BadSignatures, "%d webhooks failed signature verification")
	add(r.Webhooks.Unmatched, "%d webhooks matched no task of this run")
	add(r.Webhooks.TaskMismatch, "%d webhooks carried another task_id than ingest answered")
	if r.Syncs.Notified == 0 {
		p = append(p, "no task was notified at all")
	}
	return p
}

func rate(n int, start, last time.Time) (perSec, secs float64) {
	if n == 0 || !last.After(start) {
		return 0, 0
	}
	secs = last.Sub(start).Seconds()
	return round(float64(n)/secs, 1), round(secs, 2)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// Ratios gives each pipeline throughput as a fraction of the raw baselines
// measured in the same run: how much of what the servers can do the
// pipeline turns into work done.
func Ratios(r Rates, pg *PostgresBaseline, js *JetStreamBaseline) map[string]float64 {
	out := map[string]float64{}
	figs := map[string]float64{"accepted": r.AcceptedPerSec, "decided": r.DecidedPerSec, "notified": r.NotifiedPerSec}
	bases := map[string]float64{}
	if pg != nil {
		bases["postgres_rows"] = pg.RowsPerSec
	}
	if js != nil {
		bases["jetstream_publish"] = js.PublishPerSec
		bases["jetstream_consume"] = js.ConsumePerSec
	}
	for f, v := range figs {
		for b, base := range bases {
			if base > 0 {
				out[f+"_vs_"+b] = round(v/base, 4)
			}
		}
	}
	return out
}
