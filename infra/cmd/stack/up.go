package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"example.com/creativesync/infra/internal/devstack"
	"example.com/creativesync/infra/internal/stack"
	"example.com/creativesync/platform/drivetest"
)

const bootstrapTimeout = 60 * time.Second

// up runs the whole pipeline until ctx ends or a service dies.
func up(ctx context.Context, cfg stack.Config, con *stack.Console) error {
	ports := &devstack.Ports{}
	store, release, err := stack.NATSStore(cfg, con)
	if err != nil {
		return err
	}
	defer release()
	s, shutdown, err := stack.EnsureServers(ctx, cfg, con, ports, store)
	defer shutdown()
	if err != nil {
		return err
	}

	key, err := devstack.DemoAPIKey(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("demo API key: %w", err)
	}
	if cfg.ReviewerToken == "" {
		if cfg.ReviewerToken, err = devstack.Secret(cfg.DataDir, "reviewer_token", "rev_"); err != nil {
			return fmt.Errorf("reviewer token: %w", err)
		}
	}

	// The reviewer page takes only reviewer accounts, so the stack makes a
	// demo admin whose password it keeps in .data and prints.
	reviewerPassword, err := devstack.Secret(cfg.DataDir, "reviewer_password", "pw_")
	if err != nil {
		return fmt.Errorf("reviewer password: %w", err)
	}
	driveDir, stopDrive := devDrive(&cfg, con)
	defer stopDrive()

	svcs, err := stack.StartServices(ctx, cfg, con, s, stack.Options{
		Ports: ports,
		BeforeStart: func(ctx context.Context, svcs *stack.Services) error {
			if err := bootstrapDemo(ctx, con, svcs.Bin("ingest"), svcs.LogDir,
				append(svcs.Env["ingest"], "DEMO_API_KEY="+key)); err != nil {
				return err
			}
			return bootstrapDemoReviewer(ctx, con, svcs.Bin("review"), svcs.LogDir,
				append(svcs.Env["review"], "REVIEWER_PASSWORD="+reviewerPassword))
		},
	})
	if err != nil {
		if ctx.Err() != nil {
			con.Logf("stopping")
			return nil // Ctrl-C while starting is not a failure
		}
		return err
	}
	defer svcs.Stop()

	con.Printf("\n"+
		"ingest   http://127.0.0.1:%[1]d   (REST base: /api/v1)\n"+
		"MCP      http://127.0.0.1:%[1]d/mcp\n"+
		"review   http://127.0.0.1:%[2]d   (reviewer page: /reviews)\n"+
		"notifier http://127.0.0.1:%[3]d\n"+
		"ADCP_AUTH_TOKEN=%[4]s\n"+
		"REVIEWER_TOKEN=%[5]s   (development-only API token)\n"+
		"reviewer page sign-in: %[10]s / %[11]s\n"+
		"postgres %[6]s\n"+
		"nats     %[7]s\n"+
		"logs     %[8]s/<service>.log\n"+
		"%[9]s"+
		"Ctrl-C stops everything.\n\n",
		svcs.Ports["ingest"], svcs.Ports["review"], svcs.Ports["notifier"], key, cfg.ReviewerToken,
		s.PG.Describe(), s.NATS.Describe(), svcs.LogDir, driveDir, demoReviewer, reviewerPassword)

	select {
	case <-ctx.Done():
		con.Logf("stopping")
		return nil
	case p := <-svcs.Exited():
		return fmt.Errorf("%s exited unexpectedly (%v); its log: %s", p.Name, p.Err(), p.LogPath)
	}
}

// bootstrapDemo creates (or finds) the demo account whose API key we print.
// The subcommand applies ingest's migrations itself and is idempotent.
func bootstrapDemo(ctx context.Context, con *stack.Console, ingestBin, logDir string, env []string) error {
	if err := runAdmin(ctx, con, "ingest", ingestBin, logDir, env, "bootstrap-demo"); err != nil {
		return fmt.Errorf("%w: the demo account was not created", err)
	}
	con.Logf("demo account ready")
	return nil
}

// demoReviewer is the account `review admin bootstrap-demo` makes.
const demoReviewer = "demo@review.example"

// bootstrapDemoReviewer creates the demo reviewer, or resets its password
// to the one we print; the subcommand migrates review's database itself.
func bootstrapDemoReviewer(ctx context.Context, con *stack.Console, reviewBin, logDir string, env []string) error {
	if err := runAdmin(ctx, con, "review", reviewBin, logDir, env, "bootstrap-demo", "-email", demoReviewer); err != nil {
		return fmt.Errorf("%w: the demo reviewer was not created", err)
	}
	return nil
}

// runAdmin runs `<service> admin <args…>` to completion, with its output
// in the console and in logDir/<service>-<args[0]>.log.
func runAdmin(ctx context.Context, con *stack.Console, service, bin, logDir string, env []string, args ...string) error {
	what := "`" + service + " admin " + args[0] + "`"
	logPath := filepath.Join(logDir, service+"-"+args[0]+".log")
	p, err := devstack.StartProc(service+" admin", bin, append([]string{"admin"}, args...), env, con.W, con.Mu, logPath)
	if err != nil {
		return err
	}
	select {
	case <-p.Done():
	case <-time.After(bootstrapTimeout):
		p.Stop(5 * time.Second)
		return fmt.Errorf("%s did not finish within %s; log: %s", what, bootstrapTimeout, logPath)
	case <-ctx.Done():
		p.Stop(5 * time.Second)
		return ctx.Err()
	}
	if err := p.Err(); err != nil {
		return fmt.Errorf("%s failed (%v); log: %s", what, err, logPath)
	}
	return nil
}

// devDriveKey is the API key between ingest and the development Drive.
const devDriveKey = "dev-drive-key"

// devDrive starts a local Google Drive stand-in serving .data/drive (files
// are Drive files, subdirectories folders; ids are printed as dev_<name>)
// unless the user configured a real Drive, and points ingest at it. It
// returns the line make run prints about it and a stop function.
func devDrive(cfg *stack.Config, con *stack.Console) (string, func()) {
	for _, kv := range cfg.Environ {
		for _, k := range []string{"DRIVE_API_KEY=", "DRIVE_CREDENTIALS_FILE=", "DRIVE_ENDPOINT="} {
			if strings.HasPrefix(kv, k) && len(kv) > len(k) {
				return "drive    configured by DRIVE_* in your environment\n", func() {}
			}
		}
	}
	dir := filepath.Join(cfg.DataDir, "drive")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		con.Logf("no development Drive: %v", err)
		return "", func() {}
	}
	d := drivetest.NewDir(dir)
	d.APIKey = devDriveKey
	// Development only: webhook_url may be a local receiver, as the
	// notifier's switch already allows for deliveries.
	cfg.Environ = append(cfg.Environ, "DRIVE_ENDPOINT="+d.Endpoint(), "DRIVE_API_KEY="+devDriveKey,
		"NOTIFIER_ALLOW_PRIVATE_TARGETS=true")
	return fmt.Sprintf("drive    %s (a local stand-in: files in %s are Drive files, id dev_<name>)\n", d.URL, dir), d.Close
}
