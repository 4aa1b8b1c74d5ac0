// Package pgdb opens Postgres through sqlx + lib/pq and applies a service's
// embedded migrations with goose. Keeping the driver behind Open lets us move
// to pgx later without touching the stores.
package pgdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/pressly/goose/v3"
)

// Open connects to dsn and waits until the server answers or ctx ends.
func Open(ctx context.Context, dsn string) (*sqlx.DB, error) {
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening postgres: %w", err)
	}
	// Two cores: a small pool keeps Postgres from thrashing while still
	// letting the outbox relay, consumers and HTTP handlers overlap.
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connecting to postgres at %s: %w", Redact(dsn), err)
	}
	return db, nil
}

// Migrate applies every migration in fsys (files at its root) that the
// database has not seen yet. goose takes a session advisory lock, so
// replicas starting together do not race.
func Migrate(ctx context.Context, db *sql.DB, fsys fs.FS) error {
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithSessionLocker(mustLocker()))
	if err != nil {
		return fmt.Errorf("preparing migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("applying migrations: %w", err)
	}
	return nil
}

// MigrationsDir is where a service's postgres package keeps its goose
// files, embedded with //go:embed migrations/*.sql.
const MigrationsDir = "migrations"

// MigrateEmbedded applies the migrations under MigrationsDir in fsys, the
// service's embed.FS, so no service repeats the fs.Sub step.
func MigrateEmbedded(ctx context.Context, db *sql.DB, fsys fs.FS) error {
	sub, err := fs.Sub(fsys, MigrationsDir)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	return Migrate(ctx, db, sub)
}

// EnsureDatabase creates database name on the server adminDSN points at,
// unless it exists. Used by the dev stack and tests; services expect their
// database to exist.
func EnsureDatabase(ctx context.Context, adminDSN, name string) error {
	db, err := sql.Open("postgres", adminDSN)
	if err != nil {
		return err
	}
	defer db.Close()
	var exists bool
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("checking database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = db.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name))
	if IsUniqueViolation(err) || isDuplicateDatabase(err) {
		return nil // created concurrently
	}
	if err != nil {
		return fmt.Errorf("creating database %s: %w", name, err)
	}
	return nil
}

// WithDatabase returns dsn with its database name replaced.
func WithDatabase(dsn, name string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("database url must look like postgres://user@host:port/db, got %q", Redact(dsn))
	}
	u.Path = "/" + name
	return u.String(), nil
}

// Redact hides a password in dsn so it can be logged.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "<unparsable url>"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Postgres error codes we map; see lib/pq's error table.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeDuplicateDatabase   = "42P04"
	codeSerialization       = "40001"
	codeDeadlock            = "40P01"
)

func pqCode(err error) string {
	var pe *pq.Error
	if errors.As(err, &pe) {
		return string(pe.Code)
	}
	return ""
}

// IsUniqueViolation reports whether err is a unique-constraint violation.
func IsUniqueViolation(err error) bool { return pqCode(err) == codeUniqueViolation }

// IsForeignKeyViolation reports whether err is a foreign-key violation.
func IsForeignKeyViolation(err error) bool { return pqCode(err) == codeForeignKeyViolation }

// IsRetryable reports whether the transaction may succeed if run again.
func IsRetryable(err error) bool {
	c := pqCode(err)
	return c == codeSerialization || c == codeDeadlock
}

func isDuplicateDatabase(err error) bool {
	return pqCode(err) == codeDuplicateDatabase || (err != nil && strings.Contains(err.Error(), "already exists"))
}
