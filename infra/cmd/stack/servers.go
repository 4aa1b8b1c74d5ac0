package main

import (
	"context"
	"os"
	"time"

	"example.com/creativesync/infra/internal/devstack"
)

// servers are the Postgres and NATS one stack command uses.
type servers struct {
	PG   *devstack.Postgres
	NATS *devstack.NATS
}

// ensureServers finds or starts both servers. The returned shutdown stops
// whatever was started privately and must be called even after an error.
func ensureServers(ctx context.Context, cfg config, con *console, ports *devstack.Ports, natsStore string) (servers, func(), error) {
	var s servers
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
