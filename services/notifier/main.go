// Command notifier delivers AdCP push notifications to buyers: it consumes
// notification_requested_v1 from JetStream, keeps each delivery in Postgres
// and sends it, signed, until the buyer accepts it or the retry horizon ends.
package main

import (
	"context"
	"fmt"
	"io"

	"example.com/creativesync/platform/lifecycle"
	"example.com/creativesync/platform/logging"
	"example.com/creativesync/services/notifier/internal/service"
)

func main() { lifecycle.Main(service.Name, run) }

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected arguments %q: notifier is configured through its environment (see README)", args)
	}
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
