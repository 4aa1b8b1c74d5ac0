// Package postgres stores reviews and tenant policies in the review
// service's own database, and writes the events that announce decisions to
// the transactional outbox in the same transactions.
package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/jmoiron/sqlx"

	"example.com/creativesync/platform/outbox"
	"example.com/creativesync/platform/pgdb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate brings the schema up to date and creates the outbox tables. It is
// safe to run from several replicas at once: goose holds an advisory lock.
func Migrate(ctx context.Context, db *sqlx.DB) error {
	if err := pgdb.MigrateEmbedded(ctx, db.DB, migrations); err != nil {
		return err
	}
	// The outbox only logs its schema queries, at debug level.
	if err := outbox.Initialize(db.DB, watermill.NopLogger{}); err != nil {
		return fmt.Errorf("initialising outbox: %w", err)
	}
	return nil
}
