// Command load is the pipeline's load benchmark (`make load`): it runs the
// stack as `make run` does, drives sync_creatives over REST and MCP with
// push notifications, verifies and matches every webhook, and reports
// throughput, task latency, lost and duplicated webhooks, CPU and memory per
// service, and raw Postgres and JetStream baselines from the same run, as
// JSON and a PNG chart under .data/load/<run>/.
//
// It exits 1 when the run went wrong (a task lost, a webhook duplicated or
// badly signed, nothing notified at all); throughput and latency are
// reported, never judged.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	opts, err := parseOptions(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal the run stops and cleans up; a second one
	// should kill it at once, as a user pressing Ctrl-C twice expects.
	go func() { <-ctx.Done(); stop() }()
	problems, err := run(ctx, opts, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	if len(problems) > 0 {
		fmt.Fprintf(os.Stderr, "load: %d problem(s); see above\n", len(problems))
		os.Exit(1)
	}
}
