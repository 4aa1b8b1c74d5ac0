package stack

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"example.com/creativesync/infra/internal/devstack"
)

// Servers are the Postgres and NATS one stack command uses.
type Servers struct {
	PG   *devstack.Postgres
	NATS *devstack.NATS
}

// EnsureServers finds or starts both servers. The returned shutdown stops
// whatever was started privately and must be called even after an error.
func EnsureServers(ctx context.Context, cfg Config, con *Console, ports *devstack.Ports, natsStore string) (Servers, func(), error) {
	var s Servers
	shutdown := func() {
		if s.NATS != nil && s.NATS.Embedded() {
			s.NATS.Close()
			con.Logf("embedded NATS stopped")
		}
		if s.PG != nil && s.PG.Private() {
			ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
			defer cancel()
			switch stopped, err := s.PG.Stop(ctx); {
			case err != nil:
				con.Logf("stopping private Postgres: %v", err)
			case stopped:
				con.Logf("private Postgres stopped")
			default:
				con.Logf("private Postgres left running: another stack still uses it")
			}
		}
	}
	start := time.Now()
	pg, err := devstack.EnsurePostgres(ctx, devstack.PostgresOptions{
		URL:          cfg.DatabaseURL,
		LocalURL:     cfg.LocalDatabaseURL,
		DataDir:      cfg.DataDir,
		ForcePrivate: cfg.ForcePrivatePostgres,
		Ports:        ports,
		Out:          os.Stderr,
		Logf:         con.Logf,
	})
	if err != nil {
		return s, shutdown, err
	}
	s.PG = pg
	con.Logf("postgres: %s [%s]", pg.Describe(), time.Since(start).Round(time.Millisecond))

	start = time.Now()
	nc, err := devstack.EnsureNATS(devstack.NATSOptions{
		URL:          cfg.NATSURL,
		LocalURL:     cfg.LocalNATSURL,
		StoreDir:     natsStore,
		ForcePrivate: cfg.ForcePrivateNATS,
		Logf:         con.Logf,
	})
	if err != nil {
		return s, shutdown, err
	}
	s.NATS = nc
	con.Logf("nats:     %s [%s]", nc.Describe(), time.Since(start).Round(time.Millisecond))
	return s, shutdown, nil
}

// NATSStore returns where an embedded NATS keeps its streams: .data/nats,
// so they survive restarts, unless another stack holds it. Two servers on one
// store would corrupt it, and nats-server does not guard against that.
func NATSStore(cfg Config, con *Console) (string, func(), error) {
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return "", nil, err
	}
	store := filepath.Join(cfg.DataDir, "nats")
	release, ok, err := devstack.TryLock(store + ".lock")
	if err != nil {
		return "", nil, err
	}
	if ok {
		return store, release, nil
	}
	tmp := filepath.Join(cfg.DataDir, "tmp", "nats-up-"+strconv.Itoa(os.Getpid()))
	con.Logf("%s is in use by another stack; an embedded NATS would keep its streams in %s until exit", store, tmp)
	return tmp, func() { os.RemoveAll(tmp) }, nil
}
