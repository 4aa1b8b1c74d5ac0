// Command ingest is the buyer-facing API of the creative sync pipeline:
// AdCP sync_creatives over MCP and REST. `ingest admin …` provisions
// principals, API keys, accounts, media buys and packages.
package main

import (
	"context"
	"fmt"
	"io"

	"example.com/creativesync/platform/lifecycle"
	"example.com/creativesync/platform/logging"
	"example.com/creativesync/services/ingest/internal/service"
)

const (
	name    = "ingest"
	version = "0.1.0"
)

func main() { lifecycle.Main(name, run) }

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log, err := logging.New(stdout, cfg.LogLevel, name)
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
