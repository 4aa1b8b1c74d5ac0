// Command stack runs the creativesync services on one machine with what they
// need: a Postgres, a NATS server with JetStream, one database per service
// and one stream per topic. It reuses servers that are already running and
// starts private ones otherwise (see package devstack).
//
//	stack up                  provision, build and run the three services
//	stack exec -- CMD ARGS    run CMD with TEST_DATABASE_URL and TEST_NATS_URL set
//	stack env                 print those as export lines (reused servers only)
//	stack down                stop a private Postgres left running in .data/pg
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"example.com/creativesync/infra/internal/stack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal the stack is shutting down in order; a second
	// one should kill it at once, as a user pressing Ctrl-C twice expects.
	go func() { <-ctx.Done(); stop() }()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	var ec exitCodeError
	if errors.As(err, &ec) {
		os.Exit(ec.code)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "stack:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  stack up                  start Postgres and NATS (reused or private), provision them,
                            build and run ingest, review and notifier until Ctrl-C
  stack exec -- CMD [ARGS]  start Postgres and NATS, run CMD with TEST_DATABASE_URL and
                            TEST_NATS_URL set, stop them, exit with CMD's status
  stack env                 print export lines for reused servers
  stack down                stop a private Postgres left running under .data`

// exitCodeError carries the status of the command `stack exec` ran, so main
// can exit with it without adding a message of its own.
type exitCodeError struct{ code int }

func (e exitCodeError) Error() string { return fmt.Sprintf("command exited with status %d", e.code) }

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("missing subcommand\n%s", usage)
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	cfg, err := stack.LoadConfig(getenv, wd)
	if err != nil {
		return err
	}
	cfg.Environ = os.Environ()
	con := stack.NewConsole(stdout)
	switch args[0] {
	case "up":
		return up(ctx, cfg, con)
	case "exec":
		argv := args[1:]
		if len(argv) > 0 && argv[0] == "--" {
			argv = argv[1:]
		}
		if len(argv) == 0 {
			return fmt.Errorf("exec: missing command\n%s", usage)
		}
		return execCommand(ctx, cfg, con, argv)
	case "env":
		return printEnv(ctx, cfg, con)
	case "down":
		return down(ctx, cfg, con)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		return fmt.Errorf("unknown subcommand %q\n%s", args[0], usage)
	}
}
