package main

import (
	"slices"
	"testing"
	"time"
)

func TestAggregate(t *testing.T) {
	t.Parallel()
	start := time.Unix(1000, 0)
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	calls := []Call{
		{Proto: "rest", Creatives: 100, Sent: at(0), Answered: at(500), TaskID: "t1", Settled: at(1800), Notified: at(2000)},
		{Proto: "mcp", Creatives: 100, Sent: at(100), Answered: at(1000), TaskID: "t2", Settled: at(3900), Notified: at(4000)},
		{Proto: "rest", Creatives: 100, Sent: at(600), Answered: at(2000), TaskID: "t3"}, // lost
		{Proto: "mcp", Creatives: 100, Sent: at(700), Answered: at(800), Err: "RATE_LIMITED: slow down"},
		{Proto: "rest", Creatives: 100, Sent: at(900)}, // never answered
	}
	dec := Decided{Times: []time.Time{at(1000), at(1500), at(2500)}, Approved: 2, Rejected: 1}
	r := Aggregate(start, calls, Counters{DuplicateKeys: 1, DuplicateTasks: 2}, dec, 3)

	if r.Syncs.Sent != 5 || r.Syncs.Accepted != 3 || r.Syncs.Failed != 2 || r.Syncs.Notified != 2 || r.Syncs.Skipped != 3 ||
		r.Syncs.ByProto["rest"] != 3 || r.Syncs.ByProto["mcp"] != 2 {
		t.Errorf("syncs = %+v", r.Syncs)
	}
	if r.Creatives.Accepted != 300 || r.Creatives.Notified != 200 || r.Creatives.Decided != 3 || r.Creatives.Approved != 2 {
		t.Errorf("creatives = %+v", r.Creatives)
	}
	if r.Lost != 1 || r.Duplicated != 3 {
		t.Errorf("lost %d, duplicated %d; want 1 and 3", r.Lost, r.Duplicated)
	}
	// Accepted: 300 by the last answer at 2 s; notified: 200 by 4 s;
	// decided: 3 by 2.5 s.
	if r.Rates.AcceptedPerSec != 150 || r.Rates.NotifiedPerSec != 50 || r.Rates.DecidedPerSec != 1.2 {
		t.Errorf("rates = %+v", r.Rates)
	}
	if r.TaskLatency.N != 2 || r.TaskLatency.P50 != 2000 || r.TaskLatency.Max != 3900 {
		t.Errorf("task latency = %+v", r.TaskLatency)
	}
	if r.SettleLatency.Max != 3800 || r.NotifyHop.Max != 200 || r.NotifyHop.P50 != 100 {
		t.Errorf("settle %+v, notify hop %+v", r.SettleLatency, r.NotifyHop)
	}
	if r.CallLatency.N != 4 {
		t.Errorf("call latency over %d calls; want the 4 answered", r.CallLatency.N)
	}
	want := []ErrorCount{{"RATE_LIMITED: slow down", 1}, {"no answer", 1}}
	slices.SortFunc(r.Errors, func(a, b ErrorCount) int { return compareStrings(a.Error, b.Error) })
	if !slices.Equal(r.Errors, want) {
		t.Errorf("errors = %+v; want %+v", r.Errors, want)
	}
	problems := r.Problems()
	if len(problems) != 2 {
		t.Errorf("problems = %q; want lost and duplicated", problems)
	}
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestProblemsOfACleanRun(t *testing.T) {
	t.Parallel()
	r := Result{Syncs: SyncCounts{Notified: 10}}
	if p := r.Problems(); len(p) != 0 {
		t.Errorf("clean run has problems %q", p)
	}
	if p := (Result{}).Problems(); len(p) != 1 {
		t.Errorf("a run that notified nothing: problems %q; want one", p)
	}
	if p := (Result{Syncs: SyncCounts{Notified: 1}, Webhooks: Counters{BadSignatures: 2, Unmatched: 1}}).Problems(); len(p) != 2 {
		t.Errorf("problems %q; want bad signatures and unmatched", p)
	}
}

func TestRatios(t *testing.T) {
	t.Parallel()
	rates := Rates{AcceptedPerSec: 2000, DecidedPerSec: 1000, NotifiedPerSec: 500}
	got := Ratios(rates, &PostgresBaseline{RowsPerSec: 100000}, &JetStreamBaseline{PublishPerSec: 50000, ConsumePerSec: 0})
	want := map[string]float64{
		"accepted_vs_postgres_rows": 0.02, "decided_vs_postgres_rows": 0.01, "notified_vs_postgres_rows": 0.005,
		"accepted_vs_jetstream_publish": 0.04, "decided_vs_jetstream_publish": 0.02, "notified_vs_jetstream_publish": 0.01,
	}
	if len(got) != len(want) {
		t.Errorf("ratios = %v; want %v (a zero baseline gives no ratio)", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v; want %v", k, got[k], v)
		}
	}
	if len(Ratios(rates, nil, nil)) != 0 {
		t.Error("ratios without baselines")
	}
}

func TestAttributeCPU(t *testing.T) {
	t.Parallel()
	r := &Report{Result: Result{Creatives: CreativeCounts{Notified: 1000}}, Processes: []ProcUsage{
		{Group: machineGroup, CPUSeconds: 20, Cores: 2}, // 10 s of wall time
		{Group: "ingest", CPUSeconds: 6},
		{Group: "postgres", CPUSeconds: 9},
		{Group: interruptGroup, CPUSeconds: 2},
		{Group: stealGroup, CPUSeconds: 3}, // outside the machine's busy time
	}}
	r.attributeCPU()
	if r.CPUPerCreativeMS["ingest"] != 6 || r.CPUPerCreativeMS["postgres"] != 9 {
		t.Errorf("per creative = %v", r.CPUPerCreativeMS)
	}
	if _, ok := r.CPUPerCreativeMS[machineGroup]; ok {
		t.Error("the machine is not a consumer of its own")
	}
	if r.OtherCores != 0.3 {
		t.Errorf("other cores = %v; want (20-15-2)/10 = 0.3", r.OtherCores)
	}
}
