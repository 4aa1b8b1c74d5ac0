package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"
)

// Options are the command's flags.
type Options struct {
	Duration    time.Duration
	PerCall     int
	Buyers      int
	Rate        float64
	MCPShare    float64
	MaxInFlight int
	Drain       time.Duration
	Baseline    time.Duration
	Out         string
	Keep        bool
}

const usageHeader = `usage: load [flags]

Runs the pipeline as ` + "`make run`" + ` does (reusing or starting Postgres and NATS, the
three services built from this tree), on databases and streams of its own,
drives sync_creatives over REST and MCP with push notifications to a webhook
receiver that verifies every signature, and reports throughput, latency,
lost and duplicated webhooks, CPU and memory per service, against raw
Postgres and JetStream baselines measured in the same run.

flags:
`

func parseOptions(args []string, stderr io.Writer) (Options, error) {
	var o Options
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageHeader)
		fs.PrintDefaults()
	}
	fs.DurationVar(&o.Duration, "duration", 30*time.Second, "how long to send syncs")
	fs.IntVar(&o.PerCall, "per-call", 100, "creatives per sync_creatives call (1-100)")
	fs.IntVar(&o.Buyers, "buyers", 4, "buyers: principals with their own key and account; in closed loop, the syncs in flight")
	fs.Float64Var(&o.Rate, "rate", 0, "open loop: syncs per second over all buyers, sent on schedule whatever the answers; 0 is closed loop (each buyer sends its next sync when the last is answered)")
	fs.Float64Var(&o.MCPShare, "mcp", 0.5, "share of syncs sent over MCP (the rest over REST), 0-1")
	fs.IntVar(&o.MaxInFlight, "max-in-flight", 2000, "open loop: syncs in flight beyond which scheduled ones are skipped (and counted)")
	fs.DurationVar(&o.Drain, "drain", 5*time.Minute, "after the load, the longest wait for outstanding webhooks before counting them lost (it ends sooner when nothing has moved for 60 s)")
	fs.DurationVar(&o.Baseline, "baseline", 3*time.Second, "duration of each raw baseline (Postgres, JetStream publish); 0 skips them")
	fs.StringVar(&o.Out, "out", ".data/load", "directory for the report, chart and service logs (relative to the repository root)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the run's databases and streams for inspection")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return o, o.validate()
}

func (o Options) validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(o.Duration > 0, "-duration must be positive")
	check(o.PerCall >= 1 && o.PerCall <= 100, "-per-call must be 1-100 (ingest's limit per sync)")
	check(o.Buyers >= 1 && o.Buyers <= 1000, "-buyers must be 1-1000")
	check(o.Rate >= 0, "-rate must be 0 (closed loop) or positive")
	check(o.MCPShare >= 0 && o.MCPShare <= 1, "-mcp must be between 0 and 1")
	check(o.MaxInFlight >= 1, "-max-in-flight must be at least 1")
	check(o.Drain >= 0, "-drain must not be negative")
	check(o.Baseline >= 0, "-baseline must not be negative")
	check(o.Out != "", "-out must not be empty")
	return errors.Join(errs...)
}

// MarshalJSON writes durations as Go duration strings ("30s").
func (o Options) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{
		"duration": o.Duration.String(), "per_call": o.PerCall, "buyers": o.Buyers, "rate": o.Rate,
		"mcp_share": o.MCPShare, "max_in_flight": o.MaxInFlight, "drain": o.Drain.String(),
		"baseline": o.Baseline.String(), "out": o.Out, "keep": o.Keep,
	})
}
