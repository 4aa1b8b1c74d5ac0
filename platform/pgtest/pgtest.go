// Package pgtest gives each test a database of its own on a real Postgres,
// so tests run in parallel without seeing each other's rows; Migrated also
// applies a service's migrations to it.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"example.com/creativesync/platform/pgdb"
)

// AdminURL is the server tests create their databases on: TEST_DATABASE_URL,
// else DATABASE_URL, else the standard local Postgres.
func AdminURL() string {
	for _, k := range []string{"TEST_DATABASE_URL", "DATABASE_URL"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// NewDatabase creates an empty database for tb and drops it when tb ends.
// It returns the database's URL.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin := AdminURL()
	if err := pgdb.EnsureDatabase(ctx, admin, name); err != nil {
		tb.Fatalf("creating test database (is Postgres up? run tests through `make test`): %v", err)
	}
	dsn, err := pgdb.WithDatabase(admin, name)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		db, err := sql.Open("postgres", admin)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec("DROP DATABASE IF EXISTS " + pq.QuoteIdentifier(name) + " WITH (FORCE)")
	})
	return dsn
}

// Connect opens dsn for tb and closes it when tb ends.
func Connect(tb testing.TB, dsn string) *sqlx.DB {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := pgdb.Open(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// Migrated returns a new database for tb (NewDatabase), open and brought up
// to date by migrate, which is the service's own postgres.Migrate: store
// and API tests then see exactly the schema the service runs on.
func Migrated(tb testing.TB, migrate func(context.Context, *sqlx.DB) error) *sqlx.DB {
	tb.Helper()
	db := Connect(tb, NewDatabase(tb))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := migrate(ctx, db); err != nil {
		tb.Fatalf("migrating the test database: %v", err)
	}
	return db
}
