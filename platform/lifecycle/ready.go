package lifecycle

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"

	"example.com/creativesync/platform/httpserver"
)

// Pinger is a database handle (*sqlx.DB, *sql.DB).
type Pinger interface {
	PingContext(ctx context.Context) error
}

// Checks returns the readiness checks every service has, for /readyz.
// Postgres is required: without it a replica can take no work. NATS is
// degraded, not failing: every service keeps doing its HTTP job without it
// (ingest accepts syncs into its outbox, review's page decides, the
// notifier delivers from its own table) and catches up when it returns, so
// a load balancer must not turn buyers away for it; /readyz still says so
// in its body. The consumer check reports the same way.
func Checks(db Pinger, nc *nats.Conn, routers ...Router) []httpserver.Check {
	return []httpserver.Check{
		{Name: "postgres", Fn: db.PingContext},
		{Name: "nats", Degraded: true, Fn: func(context.Context) error {
			if st := nc.Status(); st != nats.CONNECTED {
				return fmt.Errorf("connection is %s; events wait in the outbox", st)
			}
			return nil
		}},
		{Name: "consumer", Degraded: true, Fn: func(context.Context) error {
			for _, r := range routers {
				if !running(r) {
					return errors.New("not consuming")
				}
			}
			return nil
		}},
	}
}
