// Command review scores synced creatives, decides the clear cases under each
// tenant's thresholds, queues the rest for a person, and announces every
// decision on JetStream through a transactional outbox. `review admin …`
// manages reviewer accounts.
package main

import (
	"context"
	"fmt"
	"io"

	"example.com/creativesync/platform/lifecycle"
	"example.com/creativesync/platform/logging"
	"example.com/creativesync/services/review/internal/service"
)

func main() { lifecycle.Main(service.Name, run) }

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	if len(args) > 0 && args[0] == "admin" {
		return admin(ctx, cfg, args[1:], getenv, stdout)
	}
	if len(args) > 0 {
		return fmt.Errorf("unknown command %q: run without arguments to serve, or `review admin help` for reviewer accounts", args[0])
	}
	logger, err := logging.New(stdout, cfg.LogLevel, service.Name)
	if err != nil {
		return err
	}
	svc, err := service.New(ctx, cfg.Service, logger)
	if err != nil {
		return err
	}
	return svc.Run(ctx)
}
