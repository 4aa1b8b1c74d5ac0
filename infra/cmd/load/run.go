package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"example.com/creativesync/infra/internal/devstack"
	"example.com/creativesync/infra/internal/stack"
	"example.com/creativesync/platform/broker"
)

// run does one load run and returns the problems it found; err is for runs
// that could not be carried out at all.
func run(ctx context.Context, o Options, stdout io.Writer) ([]string, error) {
	con := stack.NewConsole(stdout)
	runID, err := newRunID()
	if err != nil {
		return nil, err
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	root, err := devstack.FindRoot(wd)
	if err != nil {
		return nil, err
	}
	outDir := o.Out
	if !filepath.IsAbs(outDir) {
		outDir = filepath.Join(root, outDir)
	}
	runDir := filepath.Join(outDir, runID)
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return nil, err
	}
	rep := &Report{RunID: runID, Started: time.Now().UTC(), GoVersion: runtime.Version(), CPUs: runtime.NumCPU(),
		LoadAvgBefore: loadAvg(), Settings: o}

	p, err := StartPipeline(ctx, runID, filepath.Join(runDir, "logs"), o.Keep, con)
	defer p.Close()
	if err != nil {
		return nil, err
	}
	svcs := p.Services
	rep.Stack = map[string]string{"postgres": p.Servers.PG.Describe(), "nats": p.Servers.NATS.Describe(),
		"ingest": svcs.URL("ingest"), "review": svcs.URL("review"), "notifier": svcs.URL("notifier"),
		"topic_prefix": p.Config.TopicPrefix, "logs": svcs.LogDir}
	buyers, err := p.CreateBuyers(ctx, o.Buyers)
	if err != nil {
		return nil, err
	}
	con.Logf("%d buyers ready (principals load_buyer1…, accounts acct_load_buyer1…)", len(buyers))

	if o.Baseline > 0 {
		if err := runBaselines(ctx, p, o, rep, con); err != nil {
			return nil, err
		}
	}

	// A service that dies mid-run makes every figure meaningless: stop.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		if pr, ok := <-svcs.Exited(); ok {
			cancel(fmt.Errorf("%s exited during the run (%v); its log: %s", pr.Name, pr.Err(), pr.LogPath))
		}
	}()

	tracker := NewTracker()
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute}}
	verifier := &Verifier{JWKSURL: svcs.URL("notifier") + "/.well-known/jwks.json", Client: httpClient}
	recv, err := StartReceiver(tracker, verifier)
	if err != nil {
		return nil, err
	}
	defer recv.Close() // closing a listener at exit has nothing to report
	for _, b := range buyers {
		b.WebhookURL, b.ingestURL, b.http = recv.URL(b.N), svcs.URL("ingest"), httpClient
		if o.MCPShare > 0 {
			if err := b.connectMCP(ctx); err != nil {
				return nil, err
			}
			defer b.mcp.Close() // the stateless server keeps nothing to close
		}
	}
	nc, err := broker.Connect(p.Servers.NATS.URL, "creativesync-load")
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	decisions, err := SubscribeDecisions(nc, p.Config.TopicPrefix)
	if err != nil {
		return nil, err
	}
	defer decisions.Close()

	sampler := NewSampler(map[string]int{
		"ingest": svcs.Proc("ingest").Pid(), "review": svcs.Proc("review").Pid(),
		"notifier": svcs.Proc("notifier").Pid(), "load generator": os.Getpid(),
	}, map[string]string{"postgres": "postgres", "nats-server": "nats-server"})
	sctx, stopSampling := context.WithCancel(context.Background())
	var sampling sync.WaitGroup
	sampling.Go(func() { sampler.Run(sctx, time.Second) })

	d := &Driver{RunID: runID, AgentURL: svcs.URL("ingest"), PerCall: o.PerCall, Duration: o.Duration, Rate: o.Rate,
		MCPShare: o.MCPShare, MaxInFlight: o.MaxInFlight, Buyers: buyers, Tracker: tracker}
	con.Logf("load: %s of syncs, %d creatives each, %d buyers", o.Duration, o.PerCall, o.Buyers)
	start := time.Now()
	d.Run(ctx)
	con.Logf("load sent in %s; draining (up to %s) for %d outstanding tasks", time.Since(start).Round(time.Millisecond),
		o.Drain, tracker.Outstanding())
	drain(ctx, tracker, decisions, o.Drain, con)
	stopSampling()
	sampling.Wait()
	if err := context.Cause(ctx); err != nil && ctx.Err() != nil {
		return nil, err
	}

	calls, counters := tracker.Snapshot()
	times, approved, rejected, human := decisions.Counts()
	rep.Result = Aggregate(start, calls, counters, Decided{Times: times, Approved: approved, Rejected: rejected, Human: human}, d.Skipped())
	rep.Ratios = Ratios(rep.Result.Rates, rep.Baselines.Postgres, rep.Baselines.JetStream)
	rep.Processes, rep.CPUSeries = sampler.Usage()
	annotate(rep.Processes, p)
	rep.attributeCPU()
	rep.Problems = rep.Result.Problems()
	if e := recv.LastError(); e != "" {
		rep.Problems = append(rep.Problems, "last signature failure: "+e)
	}
	rep.Series = BuildSeries(start, time.Now(), calls, times)

	rep.PrintSummary(stdout)
	jsonPath, pngPath := filepath.Join(runDir, "report.json"), filepath.Join(runDir, "chart.png")
	if err := rep.WriteJSON(jsonPath); err != nil {
		return nil, err
	}
	if err := WriteChart(pngPath, rep); err != nil {
		return nil, fmt.Errorf("chart: %w", err)
	}
	latest := filepath.Join(outDir, "latest")
	// A convenience link only: a failure leaves the run's own files intact.
	_ = os.Remove(latest)
	_ = os.Symlink(runID, latest)
	fmt.Fprintf(stdout, "report      %s\nchart       %s\n", jsonPath, pngPath)
	return rep.Problems, nil
}
