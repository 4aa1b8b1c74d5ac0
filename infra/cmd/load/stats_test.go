package main

import (
	"testing"
	"time"
)

func durations(ms ...int) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, m := range ms {
		out[i] = time.Duration(m) * time.Millisecond
	}
	return out
}

func TestPercentileNearestRank(t *testing.T) {
	t.Parallel()
	// 1..100 ms: the p-th percentile by nearest rank is p ms.
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {95, 95 * time.Millisecond}, {99, 99 * time.Millisecond},
		{100, 100 * time.Millisecond}, {0, time.Millisecond}, {0.5, time.Millisecond}} {
		if got := Percentile(ds, tc.p); got != tc.want {
			t.Errorf("p%v = %v; want %v", tc.p, got, tc.want)
		}
	}
	// Few samples: p99 of four values is the largest, never an
	// interpolated value no task had.
	if got := Percentile(durations(10, 20, 30, 40), 99); got != 40*time.Millisecond {
		t.Errorf("p99 of 4 = %v; want 40ms", got)
	}
	if got := Percentile(durations(10, 20, 30, 40), 50); got != 20*time.Millisecond {
		t.Errorf("p50 of 4 = %v; want 20ms", got)
	}
	if got := Percentile(nil, 50); got != 0 {
		t.Errorf("p50 of none = %v; want 0", got)
	}
}

func TestSummarizeSortsAndAverages(t *testing.T) {
	t.Parallel()
	l := Summarize(durations(300, 100, 200))
	if l.N != 3 || l.P50 != 200 || l.P99 != 300 || l.Max != 300 || l.Mean != 200 {
		t.Errorf("Summarize = %+v", l)
	}
	if (Summarize(nil) != Latency{}) {
		t.Error("Summarize(nil) is not zero")
	}
}

func TestBuildSeriesBucketsBySecond(t *testing.T) {
	t.Parallel()
	start := time.Unix(1000, 0)
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	calls := []Call{
		{Creatives: 10, Sent: at(0), Answered: at(100), TaskID: "t1", Notified: at(1500)},
		{Creatives: 5, Sent: at(200), Answered: at(900), TaskID: "t2", Notified: at(1700)},
		{Creatives: 7, Sent: at(1200), Answered: at(1300), Err: "boom"},  // not accepted
		{Creatives: 3, Sent: at(1400), Answered: at(2100), TaskID: "t4"}, // never notified
	}
	decided := []time.Time{at(300), at(1100), at(1200), at(9999)} // the last is past end: clamped
	pts := BuildSeries(start, at(2500), calls, decided)
	if len(pts) != 3 {
		t.Fatalf("%d points; want 3 (2.5 s rounds up)", len(pts))
	}
	if pts[0].Accepted != 15 || pts[1].Accepted != 0 || pts[2].Accepted != 3 {
		t.Errorf("accepted = %d %d %d; want 15 0 3", pts[0].Accepted, pts[1].Accepted, pts[2].Accepted)
	}
	if pts[0].Decided != 1 || pts[1].Decided != 2 || pts[2].Decided != 1 {
		t.Errorf("decided = %d %d %d; want 1 2 1", pts[0].Decided, pts[1].Decided, pts[2].Decided)
	}
	if pts[1].Notified != 15 || pts[1].P50 != 1500 || pts[1].Max != 1500 {
		t.Errorf("second 1 = %+v; want 15 notified, p50 and max 1500 ms", pts[1])
	}
	if pts[0].Max != 0 || pts[2].Max != 0 {
		t.Error("latency reported for a second in which no task finished")
	}
}
