// Command notifier delivers AdCP push notifications to buyers: it consumes
// notification_requested_v1 from JetStream, keeps each delivery in Postgres
// and sends it, signed, until the buyer accepts it or the retry horizon ends.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"example.com/creativesync/platform/logging"
	"example.com/creativesync/services/notifier/internal/service"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "notifier:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log, err := logging.New(stdout, cfg.LogLevel, service.Name)
	if err != nil {
		return err
	}
	svc, err := service.New(ctx, cfg.service(), log)
	if err != nil {
		return err
	}
	return svc.Run(ctx)
}
