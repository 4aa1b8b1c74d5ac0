package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// Report is the JSON the run writes: settings, results, baselines, ratios,
// where the CPU went, and the per-second series the chart is drawn from.
type Report struct {
	RunID     string    `json:"run_id"`
	Started   time.Time `json:"started"`
	GoVersion string    `json:"go_version"`
	CPUs      int       `json:"cpus"`
	// The load averages before the run, and what the box did besides the
	// pipeline (machine CPU minus every process group and the kernel's
	// interrupt time): other people's work on a shared machine makes the
	// figures noisy, and so does hypervisor steal.
	LoadAvgBefore string            `json:"loadavg_before"`
	OtherCores    float64           `json:"other_cores"`
	Settings      Options           `json:"settings"`
	Stack         map[string]string `json:"stack"`
	Result        Result            `json:"result"`
	Baselines     struct {
		Postgres  *PostgresBaseline  `json:"postgres,omitempty"`
		JetStream *JetStreamBaseline `json:"jetstream,omitempty"`
	} `json:"baselines"`
	Ratios    map[string]float64 `json:"ratios"`
	Processes []ProcUsage        `json:"processes"`
	// CPU milliseconds each group spent per creative notified.
	CPUPerCreativeMS map[string]float64 `json:"cpu_ms_per_creative"`
	Problems         []string           `json:"problems"`
	Series           []Point            `json:"series"`
	CPUSeries        []CPUPoint         `json:"cpu_series"`
}

// attributeCPU fills CPUPerCreativeMS and OtherCores from Processes.
func (r *Report) attributeCPU() {
	r.CPUPerCreativeMS = map[string]float64{}
	var machine, accounted, wall float64
	for _, p := range r.Processes {
		switch p.Group {
		case machineGroup:
			machine = p.CPUSeconds
			if p.Cores > 0 {
				wall = p.CPUSeconds / p.Cores
			}
			continue
		case stealGroup:
			continue // not part of the machine's busy time
		case interruptGroup:
			accounted += p.CPUSeconds
			continue
		}
		accounted += p.CPUSeconds
		if n := r.Result.Creatives.Notified; n > 0 {
			r.CPUPerCreativeMS[p.Group] = round(p.CPUSeconds*1000/float64(n), 3)
		}
	}
	if wall > 0 {
		r.OtherCores = round(max(0, machine-accounted)/wall, 2)
	}
}

// WriteJSON writes the report to path.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// PrintSummary writes the figures a person reads first.
func (r *Report) PrintSummary(w io.Writer) {
	res := r.Result
	s := r.Settings
	mode := "closed loop"
	if s.Rate > 0 {
		mode = fmt.Sprintf("open loop at %.1f syncs/s", s.Rate)
	}
	fmt.Fprintf(w, "\n== load %s: %d creatives per call, %d buyers, %s, %s, %.0f%% MCP\n",
		r.RunID, s.PerCall, s.Buyers, s.Duration, mode, s.MCPShare*100)
	fmt.Fprintf(w, "syncs       sent %d, accepted %d, failed %d, skipped %d, notified %d (rest %d, mcp %d)\n",
		res.Syncs.Sent, res.Syncs.Accepted, res.Syncs.Failed, res.Syncs.Skipped, res.Syncs.Notified,
		res.Syncs.ByProto["rest"], res.Syncs.ByProto["mcp"])
	fmt.Fprintf(w, "creatives/s accepted %.1f (%d in %.1fs), decided %.1f (%d in %.1fs), notified %.1f (%d in %.1fs)\n",
		res.Rates.AcceptedPerSec, res.Creatives.Accepted, res.Rates.AcceptedSeconds,
		res.Rates.DecidedPerSec, res.Creatives.Decided, res.Rates.DecidedSeconds,
		res.Rates.NotifiedPerSec, res.Creatives.Notified, res.Rates.NotifiedSeconds)
	lat := func(name string, l Latency) {
		fmt.Fprintf(w, "%-11s p50 %.0f ms, p95 %.0f, p99 %.0f, max %.0f (n=%d)\n", name, l.P50, l.P95, l.P99, l.Max, l.N)
	}
	lat("task", res.TaskLatency)
	lat("  settle", res.SettleLatency)
	lat("  notify", res.NotifyHop)
	lat("sync call", res.CallLatency)
	fmt.Fprintf(w, "lost %d, duplicated %d, bad signatures %d, unmatched %d, sent to humans %d\n",
		res.Lost, res.Duplicated, res.Webhooks.BadSignatures, res.Webhooks.Unmatched, res.Creatives.Human)
	if pg := r.Baselines.Postgres; pg != nil {
		fmt.Fprintf(w, "baseline    postgres %.0f rows/s (100-row upserts, %d writers)\n", pg.RowsPerSec, pg.Writers)
	}
	if js := r.Baselines.JetStream; js != nil {
		fmt.Fprintf(w, "baseline    jetstream %.0f msg/s published, %.0f msg/s consumed (%d B)\n",
			js.PublishPerSec, js.ConsumePerSec, js.MessageBytes)
	}
	if len(r.Ratios) > 0 {
		keys := make([]string, 0, len(r.Ratios))
		for k := range r.Ratios {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %.3f", k, r.Ratios[k]))
		}
		fmt.Fprintf(w, "ratios      %s\n", strings.Join(parts, ", "))
	}
	fmt.Fprintf(w, "cpu         (seconds over the load and drain; peak RSS)\n")
	for _, p := range r.Processes {
		rss := ""
		if p.PeakRSSMB > 0 {
			rss = fmt.Sprintf(", peak RSS %.0f MB", p.PeakRSSMB)
		}
		per := ""
		if v, ok := r.CPUPerCreativeMS[p.Group]; ok {
			per = fmt.Sprintf(", %.2f ms/creative", v)
		}
		fmt.Fprintf(w, "  %-16s %7.1f s  %.2f cores%s%s%s\n", p.Group, p.CPUSeconds, p.Cores, per, rss, noteSuffix(p.Note))
	}
	fmt.Fprintf(w, "other work on the box: %.2f cores (load average before: %s)\n", r.OtherCores, r.LoadAvgBefore)
	for _, e := range res.Errors {
		fmt.Fprintf(w, "sync error  %d× %s\n", e.Count, e.Error)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "PROBLEM     %s\n", p)
	}
}

func noteSuffix(n string) string {
	if n == "" {
		return ""
	}
	return " (" + n + ")"
}
