package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"example.com/creativesync/infra/internal/devstack"
	"example.com/creativesync/infra/internal/stack"
)

// execCommand runs argv against the servers, the way `make test` runs go
// test. The command stays in our process group: a Ctrl-C reaches it directly,
// and tests get to clean up before the servers go away.
func execCommand(ctx context.Context, cfg stack.Config, con *stack.Console, argv []string) error {
	// Test streams are throwaway and carry per-test prefixes; a store of
	// their own per run keeps two `make test` runs from sharing one.
	store := filepath.Join(cfg.DataDir, "tmp", "nats-exec-"+strconv.Itoa(os.Getpid()))
	defer os.RemoveAll(store)
	s, shutdown, err := stack.EnsureServers(ctx, cfg, con, &devstack.Ports{}, store)
	defer shutdown()
	if err != nil {
		return err
	}

	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(cfg.Environ[:len(cfg.Environ):len(cfg.Environ)],
		"TEST_DATABASE_URL="+s.PG.URL,
		"TEST_NATS_URL="+s.NATS.URL,
	)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, con.W, os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("exec %s: %w", argv[0], err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	select {
	case err = <-done:
	case <-ctx.Done():
		// A terminal Ctrl-C already reached the command; a SIGTERM sent to
		// the stack alone did not, so pass one on if it is still running.
		select {
		case err = <-done:
		case <-time.After(2 * time.Second):
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				err = <-done
			}
		}
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code := ee.ExitCode()
		if code < 0 { // killed by a signal
			code = 1
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				code = 128 + int(ws.Signal())
			}
		}
		return exitCodeError{code: code}
	}
	return err
}

// printEnv prints export lines for servers that outlive this process: a
// reused server, or a private Postgres another stack keeps running.
func printEnv(ctx context.Context, cfg stack.Config, con *stack.Console) error {
	// Notes go out as shell comments so `eval "$(stack env)"` stays valid.
	quiet := &stack.Console{Mu: con.Mu, W: commentWriter{con.W}}
	store := filepath.Join(cfg.DataDir, "tmp", "nats-env-"+strconv.Itoa(os.Getpid()))
	defer os.RemoveAll(store)
	s, shutdown, err := stack.EnsureServers(ctx, cfg, quiet, &devstack.Ports{}, store)
	defer shutdown()
	if err != nil {
		return err
	}
	var missing []string
	switch s.PG.Source {
	case "private":
		missing = append(missing, "Postgres")
	case "private-running":
		// Its owner stops it when it exits; so should not we.
		s.PG.Detach()
		fallthrough
	default:
		con.Printf("export TEST_DATABASE_URL=%q\n", s.PG.URL)
	}
	if s.NATS.Embedded() {
		missing = append(missing, "NATS")
	} else {
		con.Printf("export TEST_NATS_URL=%q\n", s.NATS.URL)
	}
	if len(missing) > 0 {
		return fmt.Errorf("no running %v to point at: a private server stops with this command; use `stack exec -- CMD` instead", missing)
	}
	return nil
}

// down stops a private Postgres that outlived its stack.
func down(ctx context.Context, cfg stack.Config, con *stack.Console) error {
	stopped, err := devstack.StopPrivatePostgres(ctx, cfg.DataDir)
	if err != nil {
		return err
	}
	if stopped {
		con.Logf("private Postgres stopped")
	} else {
		con.Logf("no private Postgres running")
	}
	return nil
}

type commentWriter struct{ w io.Writer }

func (c commentWriter) Write(b []byte) (int, error) {
	if _, err := c.w.Write(append([]byte("# "), b...)); err != nil {
		return 0, err
	}
	return len(b), nil
}
