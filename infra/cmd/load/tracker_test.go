package main

import (
	"testing"
	"time"
)

func TestTrackerMatchesByCorrelationAndDeduplicates(t *testing.T) {
	t.Parallel()
	tr := NewTracker()
	t0 := time.Unix(0, 0)
	tr.Sent(&Call{ID: "c1", Creatives: 100, Sent: t0})
	tr.Sent(&Call{ID: "c2", Creatives: 100, Sent: t0})
	tr.Sent(&Call{ID: "c3", Creatives: 100, Sent: t0})
	tr.Answered("c1", "task_1", "", t0.Add(time.Second))
	tr.Answered("c2", "task_2", "", t0.Add(time.Second))
	tr.Answered("c3", "", "VALIDATION_ERROR: nope", t0.Add(time.Second))
	if n := tr.Outstanding(); n != 2 {
		t.Fatalf("outstanding = %d; want 2 (c3 was refused, so no webhook is owed)", n)
	}

	steps := []struct {
		w    Webhook
		want Verdict
	}{
		{Webhook{Key: "k1", TaskID: "task_1", CorrelationID: "c1", Status: "working"}, Interim},
		{Webhook{Key: "k2", TaskID: "task_1", CorrelationID: "c1", Status: "completed", Approved: 100}, Matched},
		{Webhook{Key: "k2", TaskID: "task_1", CorrelationID: "c1", Status: "completed"}, DuplicateKey},  // a retry
		{Webhook{Key: "k3", TaskID: "task_1", CorrelationID: "c1", Status: "completed"}, DuplicateTask}, // a second notification
		// No correlation id echoed: the task id still finds the call.
		{Webhook{Key: "k4", TaskID: "task_2", Status: "completed"}, Matched},
		{Webhook{Key: "k5", TaskID: "task_9", CorrelationID: "other-run", Status: "completed"}, Unmatched},
	}
	for i, s := range steps {
		if got := tr.Webhook(s.w, t0.Add(time.Duration(2+i)*time.Second)); got != s.want {
			t.Errorf("step %d (%+v) = %v; want %v", i, s.w, got, s.want)
		}
	}
	calls, c := tr.Snapshot()
	if c.DuplicateKeys != 1 || c.DuplicateTasks != 1 || c.Unmatched != 1 || c.Interim != 1 || c.TaskMismatch != 0 {
		t.Errorf("counters = %+v", c)
	}
	if calls[0].Notified != t0.Add(3*time.Second) || calls[0].Approved != 100 || calls[0].Status != "completed" {
		t.Errorf("c1 = %+v; want notified at 3 s with its first final webhook", calls[0])
	}
	if tr.Outstanding() != 0 {
		t.Errorf("outstanding = %d; want 0", tr.Outstanding())
	}
}

func TestTrackerWebhookBeforeAnswer(t *testing.T) {
	t.Parallel()
	// The webhook can beat ingest's answer to the buyer's goroutine: it
	// must match on the correlation id, and the later answer must not turn
	// it into a mismatch.
	tr := NewTracker()
	tr.Sent(&Call{ID: "c1", Creatives: 1, Sent: time.Unix(0, 0)})
	if v := tr.Webhook(Webhook{Key: "k", TaskID: "task_1", CorrelationID: "c1", Status: "completed"}, time.Unix(1, 0)); v != Matched {
		t.Fatalf("verdict %v; want Matched", v)
	}
	tr.Answered("c1", "task_1", "", time.Unix(2, 0))
	if _, c := tr.Snapshot(); c.TaskMismatch != 0 {
		t.Errorf("mismatch counted: %+v", c)
	}
	if tr.Outstanding() != 0 {
		t.Error("a notified call is outstanding")
	}
}

func TestTrackerCountsTaskMismatch(t *testing.T) {
	t.Parallel()
	tr := NewTracker()
	tr.Sent(&Call{ID: "c1"})
	tr.Answered("c1", "task_1", "", time.Unix(1, 0))
	tr.Webhook(Webhook{Key: "k", TaskID: "task_2", CorrelationID: "c1", Status: "completed"}, time.Unix(2, 0))
	if _, c := tr.Snapshot(); c.TaskMismatch != 1 {
		t.Errorf("mismatch = %d; want 1", c.TaskMismatch)
	}
}

func TestParseWebhook(t *testing.T) {
	t.Parallel()
	body := `{"idempotency_key":"whk_1","task_id":"task_1","task_type":"sync_creatives","status":"completed",
		"timestamp":"2026-12-01T10:00:00.5Z","context":{"correlation_id":"c1"},
		"result":{"creatives":[{"creative_id":"a","status":"approved"},{"creative_id":"b","status":"rejected"}]}}`
	w, err := parseWebhook([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := Webhook{Key: "whk_1", TaskID: "task_1", CorrelationID: "c1", Status: "completed",
		Timestamp: time.Date(2026, 12, 1, 10, 0, 0, 5e8, time.UTC), Approved: 1}
	if w != want {
		t.Errorf("parseWebhook = %+v; want %+v", w, want)
	}
	if _, err := parseWebhook([]byte(`{"task_id":"t"}`)); err == nil {
		t.Error("a webhook without idempotency_key was accepted")
	}
}
