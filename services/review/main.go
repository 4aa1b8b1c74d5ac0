// Command review scores synced creatives, decides the clear cases under each
// tenant's thresholds, queues the rest for a person, and announces every
// decision on JetStream through a transactional outbox.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"example.com/creativesync/platform/logging"
	"example.com/creativesync/services/review/internal/service"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "review:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	logger, err := logging.New(stdout, cfg.LogLevel, service.Name)
	if err != nil {
		return err
	}
	svc, err := service.New(ctx, cfg.Service, logger)
	if err != nil {
		logger.Error("startup failed", "err", err)
		return err
	}
	if err := svc.Run(ctx); err != nil {
		logger.Error("stopped with an error", "err", err)
		return err
	}
	logger.Info("stopped")
	return nil
}
