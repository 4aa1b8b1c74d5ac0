package pgdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// InTx runs fn in a transaction on db and commits if fn returns nil,
// rolling back otherwise. A serialization failure or deadlock means the
// work may succeed if run again, so the whole transaction is retried (up
// to three attempts); fn must therefore not have effects outside the
// transaction.
func InTx(ctx context.Context, db *sqlx.DB, fn func(*sqlx.Tx) error) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = inTx(ctx, db, fn); !IsRetryable(err) {
			return err
		}
	}
	return err
}

func inTx(ctx context.Context, db *sqlx.DB, fn func(*sqlx.Tx) error) (err error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	defer func() {
		if err == nil {
			return
		}
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			err = errors.Join(err, fmt.Errorf("rolling back: %w", rbErr))
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}
