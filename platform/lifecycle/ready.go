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

// Checks returns the readiness checks every service has, for /readyz:
// Postgres answers, the NATS connection is up, and every router consumes.
// A replica that fails any of them can take no work, so a load balancer
// should stop sending it requests.
func Checks(db Pinger, nc *nats.Conn, routers ...Router) []httpserver.Check {
	return []httpserver.Check{
		{Name: "postgres", Fn: db.PingContext},
		{Name: "nats", Fn: func(context.Context) error {
			if st := nc.Status(); st != nats.CONNECTED {
				return fmt.Errorf("connection is %s", st)
			}
			return nil
		}},
		{Name: "consumer", Fn: func(context.Context) error {
			for _, r := range routers {
				if !running(r) {
					return errors.New("not consuming yet")
				}
			}
			return nil
		}},
	}
}
