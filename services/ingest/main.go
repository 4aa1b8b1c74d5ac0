// Command ingest is the buyer-facing API of the creative sync pipeline:
// AdCP sync_creatives over MCP and REST. `ingest admin …` provisions
// principals, API keys, accounts, media buys and packages.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"example.com/creativesync/platform/logging"
	"example.com/creativesync/services/ingest/internal/service"
)

const version = "0.1.0"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ingest:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	log, err := logging.New(stdout, cfg.LogLevel, "ingest")
	if err != nil {
		return err
	}
	if len(args) > 0 && args[0] == "admin" {
		return admin(ctx, cfg, args[1:], getenv, stdout, log)
	}
	if len(args) > 0 {
		return fmt.Errorf("unknown command %q (run without arguments to serve, or `ingest admin help`)", args[0])
	}
	svc, err := service.New(ctx, cfg.service(version), log)
	if err != nil {
		return err
	}
	return svc.Run(ctx)
}
