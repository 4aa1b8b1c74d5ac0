package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"example.com/creativesync/infra/internal/devstack"
)

const (
	readyTimeout     = 60 * time.Second
	bootstrapTimeout = 60 * time.Second
	// stopGrace is how long a service gets to drain after SIGTERM; the
	// services' own shutdown budget (router CloseTimeout 15 s) fits in it.
	stopGrace = 20 * time.Second
)

// up runs the whole pipeline until ctx ends or a service dies.
func up(ctx context.Context, cfg config, con *console) error {
	ports := &devstack.Ports{}
	store, release, err := natsStore(cfg, con)
	if err != nil {
		return err
	}
	defer release()
	s, shutdown, err := ensureServers(ctx, cfg, con, ports, store)
	defer shutdown()
	if err != nil {
		return err
	}

	names := make([]string, len(devstack.Services))
	for i, svc := range devstack.Services {
		names[i] = svc.Name
	}
	dbURLs, err := devstack.ProvisionDatabases(ctx, s.PG.URL, names...)
	if err != nil {
		return err
	}
	topics, err := devstack.ProvisionStreams(s.NATS.URL, cfg.TopicPrefix)
	if err != nil {
		return err
	}
	con.Logf("provisioned databases %s and %d streams (%s)", strings.Join(mapNames(names, devstack.DatabaseName), ", "),
		len(topics), strings.Join(topics, ", "))

	binDir := filepath.Join(cfg.DataDir, "bin")
	logDir := filepath.Join(cfg.DataDir, "logs")
	con.Logf("building %s into %s", strings.Join(names, ", "), binDir)
	start := time.Now()
	if err := devstack.BuildServices(ctx, cfg.Root, binDir, con.w, names...); err != nil {
		return err
	}
	con.Logf("built in %s", time.Since(start).Round(time.Millisecond))

	key, err := devstack.DemoAPIKey(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("demo API key: %w", err)
	}
	if cfg.ReviewerToken == "" {
		if cfg.ReviewerToken, err = devstack.Secret(cfg.DataDir, "reviewer_token", "rev_"); err != nil {
			return fmt.Errorf("reviewer token: %w", err)
		}
	}

	httpPorts := map[string]int{}
	envs := map[string][]string{}
	for _, svc := range devstack.Services {
		port, err := ports.Prefer(svc.DefaultPort)
		if err != nil {
			return err
		}
		if port != svc.DefaultPort {
			con.Logf("port %d is taken; %s gets %d", svc.DefaultPort, svc.Name, port)
		}
		httpPorts[svc.Name] = port
	}
	for _, svc := range devstack.Services {
		envs[svc.Name] = serviceEnv(cfg, svc.Name, dbURLs[svc.Name], s.NATS.URL, httpPorts)
	}

	if err := bootstrapDemo(ctx, con, filepath.Join(binDir, "ingest"), logDir,
		append(envs["ingest"], "DEMO_API_KEY="+key)); err != nil {
		return err
	}
	// The reviewer page takes only reviewer accounts, so the stack makes a
	// demo admin whose password it keeps in .data and prints.
	reviewerPassword, err := devstack.Secret(cfg.DataDir, "reviewer_password", "pw_")
	if err != nil {
		return fmt.Errorf("reviewer password: %w", err)
	}
	if err := bootstrapDemoReviewer(ctx, con, filepath.Join(binDir, "review"), logDir,
		append(envs["review"], "REVIEWER_PASSWORD="+reviewerPassword)); err != nil {
		return err
	}

	var procs []*devstack.Proc
	defer func() { stopAll(con, procs) }()
	for _, svc := range devstack.Services {
		p, err := devstack.StartProc(svc.Name, filepath.Join(binDir, svc.Name), nil, envs[svc.Name],
			con.w, con.mu, filepath.Join(logDir, svc.Name+".log"))
		if err != nil {
			return err
		}
		procs = append(procs, p)
	}
	con.Logf("services started; logs are shown here prefixed by service and kept in %s/<service>.log", logDir)

	if err := waitAllReady(ctx, procs, httpPorts); err != nil {
		if ctx.Err() != nil {
			con.Logf("stopping")
			return nil // Ctrl-C while starting is not a failure
		}
		return err
	}

	con.Printf("\n"+
		"ingest   http://127.0.0.1:%[1]d   (REST base: /api/v1)\n"+
		"MCP      http://127.0.0.1:%[1]d/mcp\n"+
		"review   http://127.0.0.1:%[2]d   (reviewer page: /reviews)\n"+
		"notifier http://127.0.0.1:%[3]d\n"+
		"ADCP_AUTH_TOKEN=%[4]s\n"+
		"REVIEWER_TOKEN=%[5]s   (development-only API token)\n"+
		"reviewer page sign-in: %[9]s / %[10]s\n"+
		"postgres %[6]s\n"+
		"nats     %[7]s\n"+
		"logs     %[8]s/<service>.log\n"+
		"Ctrl-C stops everything.\n\n",
		httpPorts["ingest"], httpPorts["review"], httpPorts["notifier"], key, cfg.ReviewerToken,
		s.PG.Describe(), s.NATS.Describe(), logDir, demoReviewer, reviewerPassword)

	exited := make(chan *devstack.Proc, len(procs))
	for _, p := range procs {
		go func() { <-p.Done(); exited <- p }()
	}
	select {
	case <-ctx.Done():
		con.Logf("stopping")
		return nil
	case p := <-exited:
		return fmt.Errorf("%s exited unexpectedly (%v); its log: %s", p.Name, p.Err(), p.LogPath)
	}
}

// natsStore returns where an embedded NATS keeps its streams: .data/nats,
// so they survive restarts, unless another stack holds it. Two servers on one
// store would corrupt it, and nats-server does not guard against that.
func natsStore(cfg config, con *console) (string, func(), error) {
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return "", nil, err
	}
	store := filepath.Join(cfg.DataDir, "nats")
	release, ok, err := devstack.TryLock(store + ".lock")
	if err != nil {
		return "", nil, err
	}
	if ok {
		return store, release, nil
	}
	tmp := filepath.Join(cfg.DataDir, "tmp", "nats-up-"+strconv.Itoa(os.Getpid()))
	con.Logf("%s is in use by another stack; an embedded NATS would keep its streams in %s until exit", store, tmp)
	return tmp, func() { os.RemoveAll(tmp) }, nil
}

// serviceEnv is the environment of one service: everything the user set,
// with ours on top (exec keeps the last of duplicate keys).
func serviceEnv(cfg config, svc, dbURL, natsURL string, httpPorts map[string]int) []string {
	env := append(cfg.Environ[:len(cfg.Environ):len(cfg.Environ)],
		"DATABASE_URL="+dbURL,
		"NATS_URL="+natsURL,
		"HTTP_ADDR=127.0.0.1:"+strconv.Itoa(httpPorts[svc]),
		"TOPIC_PREFIX="+cfg.TopicPrefix,
		"LOG_LEVEL="+cfg.LogLevel,
	)
	switch svc {
	case "ingest":
		env = append(env, "PUBLIC_BASE_URL=http://127.0.0.1:"+strconv.Itoa(httpPorts["ingest"]))
	case "review":
		env = append(env, "REVIEWER_TOKEN="+cfg.ReviewerToken)
	case "notifier":
		// Dev only: buyers' test receivers listen on localhost, which the
		// notifier refuses by default to avoid SSRF.
		env = append(env, "NOTIFIER_ALLOW_PRIVATE_TARGETS=true")
	}
	return env
}

// bootstrapDemo creates (or finds) the demo account whose API key we print.
// The subcommand applies ingest's migrations itself and is idempotent.
func bootstrapDemo(ctx context.Context, con *console, ingestBin, logDir string, env []string) error {
	logPath := filepath.Join(logDir, "ingest-bootstrap-demo.log")
	p, err := devstack.StartProc("ingest admin", ingestBin, []string{"admin", "bootstrap-demo"}, env, con.w, con.mu, logPath)
	if err != nil {
		return err
	}
	select {
	case <-p.Done():
	case <-time.After(bootstrapTimeout):
		p.Stop(5 * time.Second)
		return fmt.Errorf("`ingest admin bootstrap-demo` did not finish within %s (does this ingest build have that subcommand? it may have started the server instead); log: %s",
			bootstrapTimeout, logPath)
	case <-ctx.Done():
		p.Stop(5 * time.Second)
		return ctx.Err()
	}
	if err := p.Err(); err != nil {
		return fmt.Errorf("`ingest admin bootstrap-demo` failed (%v): the demo account was not created; if this ingest build has no such subcommand yet, that is expected until it lands. Log: %s", err, logPath)
	}
	con.Logf("demo account ready")
	return nil
}

// demoReviewer is the account `review admin bootstrap-demo` makes.
const demoReviewer = "demo@review.example"

// bootstrapDemoReviewer creates the demo reviewer, or resets its password
// to the one we print; the subcommand migrates review's database itself.
func bootstrapDemoReviewer(ctx context.Context, con *console, reviewBin, logDir string, env []string) error {
	logPath := filepath.Join(logDir, "review-bootstrap-demo.log")
	p, err := devstack.StartProc("review admin", reviewBin, []string{"admin", "bootstrap-demo", "-email", demoReviewer}, env, con.w, con.mu, logPath)
	if err != nil {
		return err
	}
	select {
	case <-p.Done():
	case <-time.After(bootstrapTimeout):
		p.Stop(5 * time.Second)
		return fmt.Errorf("`review admin bootstrap-demo` did not finish within %s; log: %s", bootstrapTimeout, logPath)
	case <-ctx.Done():
		p.Stop(5 * time.Second)
		return ctx.Err()
	}
	if err := p.Err(); err != nil {
		return fmt.Errorf("`review admin bootstrap-demo` failed (%v): the demo reviewer was not created. Log: %s", err, logPath)
	}
	return nil
}

func waitAllReady(ctx context.Context, procs []*devstack.Proc, httpPorts map[string]int) error {
	var wg sync.WaitGroup
	errs := make([]error, len(procs))
	for i, p := range procs {
		wg.Go(func() {
			url := fmt.Sprintf("http://127.0.0.1:%d/readyz", httpPorts[p.Name])
			if err := devstack.WaitReady(ctx, url, readyTimeout, p.Done()); err != nil {
				errs[i] = fmt.Errorf("%s is not ready: %w; its log: %s", p.Name, err, p.LogPath)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// stopAll stops the services together, so the total wait is one grace
// period rather than one per service.
func stopAll(con *console, procs []*devstack.Proc) {
	if len(procs) == 0 {
		return
	}
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Go(func() { p.Stop(stopGrace) })
	}
	wg.Wait()
	con.Logf("services stopped")
}

func mapNames(in []string, f func(string) string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}
