package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"
	"github.com/nats-io/nats.go"

	"example.com/creativesync/infra/internal/devstack"
	"example.com/creativesync/infra/internal/stack"
	"example.com/creativesync/platform/broker"
	"example.com/creativesync/platform/pgdb"
)

// Pipeline is the stack the load runs against: the same servers and the
// same three services `make run` starts, but on databases and streams of
// the run's own (named after RunID) and on free ports, so it neither sees
// nor disturbs a `make run` on the same machine.
type Pipeline struct {
	RunID    string
	Servers  stack.Servers
	Services *stack.Services
	Config   stack.Config

	con      *stack.Console
	shutdown func()
	keep     bool
}

// dbName is the run's database of svc ("scratch" for the raw baseline).
func (p *Pipeline) dbName(svc string) string { return "creativesync_" + p.RunID + "_" + svc }

// StartPipeline finds or starts Postgres and NATS and runs the services.
// Close undoes it, also after an error.
func StartPipeline(ctx context.Context, runID, logDir string, keep bool, con *stack.Console) (*Pipeline, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	cfg, err := stack.LoadConfig(os.Getenv, wd)
	if err != nil {
		return nil, err
	}
	cfg.Environ = os.Environ()
	// The run's own streams: the services' consumers must not share work
	// with a `make run` on the same server.
	cfg.TopicPrefix = runID + "_"
	p := &Pipeline{RunID: runID, Config: cfg, con: con, keep: keep, shutdown: func() {}}

	// An embedded NATS only lives as long as this run; its store is
	// throwaway, like `stack exec`'s.
	store := filepath.Join(cfg.DataDir, "tmp", "nats-"+runID)
	ports := &devstack.Ports{}
	s, shutdown, err := stack.EnsureServers(ctx, cfg, con, ports, store)
	p.Servers = s
	p.shutdown = func() {
		shutdown()
		// Only an embedded server wrote there; a leftover is harmless
		// scratch under .data/tmp, which `make clean` removes.
		os.RemoveAll(store)
	}
	if err != nil {
		return p, err
	}
	p.Services, err = stack.StartServices(ctx, cfg, con, s, stack.Options{
		Ports: ports, DatabaseName: p.dbName, AnyPort: true, ProcOut: io.Discard, LogDir: logDir,
		// Not .data/bin: a `make run` may be running those binaries.
		BinDir: filepath.Join(cfg.DataDir, "load", "bin"),
	})
	return p, err
}

// ScratchDatabase creates the raw baseline's database and returns its URL.
func (p *Pipeline) ScratchDatabase(ctx context.Context) (string, error) {
	name := p.dbName("scratch")
	if err := pgdb.EnsureDatabase(ctx, p.Servers.PG.URL, name); err != nil {
		return "", err
	}
	return pgdb.WithDatabase(p.Servers.PG.URL, name)
}

// CreateBuyers makes n principals, each with an API key and an account, with
// ingest's own admin command.
func (p *Pipeline) CreateBuyers(ctx context.Context, n int) ([]*Buyer, error) {
	var buyers []*Buyer
	for i := 1; i <= n; i++ {
		principal, account := fmt.Sprintf("load_buyer%d", i), fmt.Sprintf("acct_load_buyer%d", i)
		out, err := p.admin(ctx, "create-principal", "-id", principal, "-name", "Load buyer "+strconv.Itoa(i))
		if err != nil {
			return nil, err
		}
		fields := strings.Fields(out)
		if len(fields) == 0 {
			return nil, fmt.Errorf("create-principal printed no key")
		}
		key := fields[len(fields)-1]
		if _, err := p.admin(ctx, "create-account", "-principal", principal, "-id", account,
			"-brand", fmt.Sprintf("buyer%d.load.example", i), "-operator", "load-agency.example"); err != nil {
			return nil, err
		}
		buyers = append(buyers, &Buyer{N: i, Key: key, Account: account})
	}
	return buyers, nil
}

// admin runs `ingest admin args…` against the run's ingest database and
// returns what it printed on stdout.
func (p *Pipeline) admin(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.Services.Bin("ingest"), append([]string{"admin"}, args...)...)
	cmd.Env = p.Services.Env["ingest"]
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("ingest admin %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// Close stops the services, drops the run's databases and streams unless
// asked to keep them, and stops any server started for the run.
func (p *Pipeline) Close() {
	if p == nil {
		return // StartPipeline failed before it had anything to undo
	}
	if p.Services != nil {
		p.Services.Stop()
	}
	if !p.keep && p.Servers.PG != nil && p.Servers.NATS != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := p.dropDatabases(ctx); err != nil {
			p.con.Logf("dropping the run's databases: %v", err)
		}
		if err := p.deleteStreams(); err != nil {
			p.con.Logf("deleting the run's streams: %v", err)
		}
	}
	p.shutdown()
}

func (p *Pipeline) dropDatabases(ctx context.Context) error {
	db, err := sql.Open("postgres", p.Servers.PG.URL)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, svc := range []string{"ingest", "review", "notifier", "scratch"} {
		// FORCE: a connection the services left behind must not keep a
		// run's database around.
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(p.dbName(svc))+" WITH (FORCE)"); err != nil {
			return err
		}
	}
	return nil
}

func (p *Pipeline) deleteStreams() error {
	nc, err := broker.Connect(p.Servers.NATS.URL, "creativesync-load-cleanup")
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		return err
	}
	for name := range js.StreamNames() {
		if strings.HasPrefix(name, p.Config.TopicPrefix) {
			if err := js.DeleteStream(name); err != nil && err != nats.ErrStreamNotFound {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	return nil
}
