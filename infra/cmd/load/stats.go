package main

import (
	"math"
	"slices"
	"time"
)

// Latency summarises durations in milliseconds.
type Latency struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50_ms"`
	P95  float64 `json:"p95_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
}

// Summarize sorts ds in place and returns its percentiles.
func Summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return Latency{N: len(ds), P50: ms(Percentile(ds, 50)), P95: ms(Percentile(ds, 95)), P99: ms(Percentile(ds, 99)),
		Max: ms(ds[len(ds)-1]), Mean: ms(sum / time.Duration(len(ds)))}
}

// Percentile is the nearest-rank percentile of sorted: the smallest value
// with at least p % of the values at or below it. Nearest rank never
// invents a value between two samples, so a p99 is a latency some task had.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Millisecond)*10) / 10 }

// Point is one second of the run, counted from the start of the load.
type Point struct {
	T        int     `json:"t_s"`
	Accepted int     `json:"accepted"` // creatives ingest answered for in this second
	Decided  int     `json:"decided"`  // creatives review decided
	Notified int     `json:"notified"` // creatives whose task's webhook arrived
	P50      float64 `json:"latency_p50_ms"`
	P99      float64 `json:"latency_p99_ms"`
	Max      float64 `json:"latency_max_ms"`
}

// BuildSeries buckets the run into seconds from start up to end: what was
// accepted, decided and notified in each, and the latency of the tasks
// whose webhook arrived in it.
func BuildSeries(start, end time.Time, calls []Call, decided []time.Time) []Point {
	n := max(1, int(math.Ceil(end.Sub(start).Seconds())))
	pts := make([]Point, n)
	lat := make([][]time.Duration, n)
	bucket := func(t time.Time) int {
		i := int(t.Sub(start) / time.Second)
		return max(0, min(i, n-1))
	}
	for i := range pts {
		pts[i].T = i
	}
	for _, c := range calls {
		if c.Accepted() {
			pts[bucket(c.Answered)].Accepted += c.Creatives
		}
		if !c.Notified.IsZero() {
			b := bucket(c.Notified)
			pts[b].Notified += c.Creatives
			lat[b] = append(lat[b], c.Notified.Sub(c.Sent))
		}
	}
	for _, t := range decided {
		pts[bucket(t)].Decided++
	}
	for i, ds := range lat {
		if len(ds) > 0 {
			l := Summarize(ds)
			pts[i].P50, pts[i].P99, pts[i].Max = l.P50, l.P99, l.Max
		}
	}
	return pts
}
