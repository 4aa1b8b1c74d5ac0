// Package postgres stores reviews and tenant policies in the review
// service's own database, and writes the events that announce decisions to
// the transactional outbox in the same transactions.
package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/jmoiron/sqlx"

	"example.com/creativesync/platform/broker"
	"example.com/creativesync/platform/outbox"
	"example.com/creativesync/platform/pgdb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate brings the schema up to date and creates the outbox tables. It is
// safe to run from several replicas at once: goose holds an advisory lock.
func Migrate(ctx context.Context, db *sqlx.DB, logger *slog.Logger) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	if err := pgdb.Migrate(ctx, db.DB, sub); err != nil {
		return err
	}
	if err := outbox.Initialize(db.DB, broker.Logger(logger)); err != nil {
		return fmt.Errorf("initialising outbox: %w", err)
	}
	return nil
}
