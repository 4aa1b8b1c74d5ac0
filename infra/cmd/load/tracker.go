package main

import (
	"sync"
	"time"
)

// Call is one sync_creatives request the load sent, and what became of it.
type Call struct {
	ID        string // our correlation id, echoed in the webhook's context
	Buyer     int
	Proto     string // "rest" or "mcp"
	Creatives int
	Sent      time.Time

	Answered time.Time // ingest's answer arrived
	TaskID   string    // set when ingest answered "submitted"
	Err      string    // why the sync was not accepted

	Notified time.Time // the task's final webhook arrived
	Settled  time.Time // the webhook's own timestamp: when ingest completed the task
	Status   string    // the task's final status
	Approved int       // creatives the webhook reports approved
}

// Accepted reports whether ingest took the sync and owes a webhook for it.
func (c *Call) Accepted() bool { return c.TaskID != "" }

// Webhook is what the receiver read from one verified delivery.
type Webhook struct {
	Key           string // idempotency_key: the same for every retry of one notification
	TaskID        string
	CorrelationID string // context.correlation_id, our Call.ID
	Status        string
	Timestamp     time.Time
	Approved      int
}

// finalTaskStatus are the AdCP task states after which nothing more happens;
// only these complete a call.
var finalTaskStatus = map[string]bool{"completed": true, "failed": true, "rejected": true, "canceled": true}

// Verdict says how the tracker counted one webhook.
type Verdict int

const (
	Matched       Verdict = iota // the final webhook of a known task
	Interim                      // a known task, not yet final
	DuplicateKey                 // an idempotency key seen before: a redelivery
	DuplicateTask                // a second final webhook, under a new key, for a finished task
	Unmatched                    // no call of ours has this correlation id or task id
)

// Tracker matches webhooks to the calls that caused them and keeps the
// counts the report needs. The buyer side of AdCP deduplicates by the
// webhook's idempotency_key, and so does this.
type Tracker struct {
	mu       sync.Mutex
	calls    []*Call
	byID     map[string]*Call
	byTask   map[string]*Call
	seenKeys map[string]bool
	// outstanding counts accepted calls still waiting for their webhook;
	// kept rather than counted, since the drain asks ten times a second.
	outstanding int

	DuplicateKeys  int // a key delivered again
	DuplicateTasks int // a task notified as final twice under different keys
	Unmatched      int
	TaskMismatch   int // the webhook's task_id is not the one ingest answered for that call
	Interim        int // non-final webhooks (working, submitted…)
	BadSignatures  int // deliveries that failed verification (counted by the receiver)
}

// NewTracker returns an empty tracker.
func NewTracker() *Tracker {
	return &Tracker{byID: map[string]*Call{}, byTask: map[string]*Call{}, seenKeys: map[string]bool{}}
}

// Sent registers c before its request goes out, so a webhook can never
// arrive for a call the tracker does not know yet.
func (t *Tracker) Sent(c *Call) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.calls = append(t.calls, c)
	t.byID[c.ID] = c
}

// Answered records ingest's answer to call id: a task id when it accepted
// the sync, or the reason it did not.
func (t *Tracker) Answered(id, taskID string, errMsg string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.byID[id]
	if c == nil {
		return // never happens: Sent always precedes Answered
	}
	c.Answered, c.TaskID, c.Err = at, taskID, errMsg
	if taskID != "" {
		t.byTask[taskID] = c
		if c.Notified.IsZero() {
			t.outstanding++
		}
	}
}

// Webhook counts one verified delivery received at at.
func (t *Tracker) Webhook(w Webhook, at time.Time) Verdict {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.seenKeys[w.Key] {
		t.DuplicateKeys++
		return DuplicateKey
	}
	t.seenKeys[w.Key] = true
	c := t.byID[w.CorrelationID]
	if c == nil {
		c = t.byTask[w.TaskID]
	}
	if c == nil {
		t.Unmatched++
		return Unmatched
	}
	// The answer may still be on its way when a fast webhook lands, so an
	// empty TaskID is not a mismatch.
	if c.TaskID != "" && c.TaskID != w.TaskID {
		t.TaskMismatch++
	}
	if !finalTaskStatus[w.Status] {
		t.Interim++
		return Interim
	}
	if !c.Notified.IsZero() {
		t.DuplicateTasks++
		return DuplicateTask
	}
	c.Notified, c.Settled, c.Status, c.Approved = at, w.Timestamp, w.Status, w.Approved
	if c.TaskID != "" {
		t.outstanding-- // else the webhook beat the answer, which then does not count it
	}
	return Matched
}

// BadSignature counts a delivery that failed verification.
func (t *Tracker) BadSignature() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.BadSignatures++
}

// Outstanding is how many accepted calls still wait for their webhook.
func (t *Tracker) Outstanding() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.outstanding
}

// Snapshot copies the calls and counters for the report; the copy is safe
// to read while webhooks keep arriving.
func (t *Tracker) Snapshot() ([]Call, Counters) {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Call, len(t.calls))
	for i, c := range t.calls {
		out[i] = *c
	}
	return out, Counters{DuplicateKeys: t.DuplicateKeys, DuplicateTasks: t.DuplicateTasks, Unmatched: t.Unmatched,
		TaskMismatch: t.TaskMismatch, Interim: t.Interim, BadSignatures: t.BadSignatures}
}

// Counters are the tracker's webhook counts.
type Counters struct {
	DuplicateKeys  int `json:"duplicate_keys"`
	DuplicateTasks int `json:"duplicate_tasks"`
	Unmatched      int `json:"unmatched"`
	TaskMismatch   int `json:"task_id_mismatch"`
	Interim        int `json:"interim"`
	BadSignatures  int `json:"bad_signatures"`
}
