package main

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/lib/pq" // the driver the services use
)

// baselineRows is how many rows one raw statement carries: as many as one
// sync_creatives call may (100).
const baselineRows = 100

// scratchTable is shaped like ingest's creatives table (same columns, keys
// and indexes, no foreign key) so a raw upsert writes what a sync writes
// to its library, without the task, outbox and idempotency rows around it.
const scratchTable = `
CREATE TABLE IF NOT EXISTS creatives (
    account_id      text NOT NULL,
    creative_id     text NOT NULL,
    platform_id     text NOT NULL UNIQUE,
    name            text NOT NULL,
    format_id       text NOT NULL,
    format_ref      jsonb NOT NULL,
    body            jsonb NOT NULL,
    tags            text[] NOT NULL DEFAULT '{}',
    content_hash    text NOT NULL,
    revision        bigint NOT NULL,
    status          text NOT NULL,
    review_reasons  jsonb NOT NULL DEFAULT '[]',
    reviewed_revision bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    archived_at     timestamptz,
    PRIMARY KEY (account_id, creative_id)
);
CREATE INDEX IF NOT EXISTS creatives_account_updated ON creatives (account_id, updated_at, creative_id);
CREATE INDEX IF NOT EXISTS creatives_account_status ON creatives (account_id, status);`

// upsertSQL is one 100-row multi-VALUES upsert.
var upsertSQL = func() string {
	var b strings.Builder
	b.WriteString(`INSERT INTO creatives (account_id, creative_id, platform_id, name, format_id, format_ref, body, content_hash, revision, status) VALUES `)
	const cols = 10
	for r := range baselineRows {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteByte(',')
			}
			b.WriteString("$" + strconv.Itoa(r*cols+c+1))
		}
		b.WriteByte(')')
	}
	b.WriteString(` ON CONFLICT (account_id, creative_id) DO UPDATE SET name = EXCLUDED.name, body = EXCLUDED.body,
 content_hash = EXCLUDED.content_hash, revision = creatives.revision + 1, status = EXCLUDED.status, updated_at = now()`)
	return b.String()
}()

// PostgresBaseline is the raw write rate of the Postgres the pipeline uses.
type PostgresBaseline struct {
	Writers    int     `json:"writers"`
	Statements int64   `json:"statements"`
	Rows       int64   `json:"rows"`
	Seconds    float64 `json:"seconds"`
	RowsPerSec float64 `json:"rows_per_s"`
}

// RunPostgresBaseline upserts new 100-row batches from writers connections
// into a fresh scratch table for d, in the database dbURL names.
func RunPostgresBaseline(ctx context.Context, dbURL string, writers int, d time.Duration) (PostgresBaseline, error) {
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		return PostgresBaseline{}, err
	}
	defer db.Close()
	db.SetMaxOpenConns(writers)
	if _, err := db.ExecContext(ctx, scratchTable); err != nil {
		return PostgresBaseline{}, fmt.Errorf("scratch table: %w", err)
	}
	body := `{"name":"Load banner","format_id":{"id":"display_300x250"},"assets":{"image":{"asset_type":"image","url":"https://cdn.example.com/load/x.png","width":300,"height":250},"click_url":{"asset_type":"url","url":"https://brand.example.com/"}},"provenance":{"digital_source_type":"digital_creation"}}`
	formatRef := `{"agent_url":"http://127.0.0.1","id":"display_300x250"}`
	var stmts atomic.Int64
	var firstErr error
	var once sync.Once
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			args := make([]any, 0, baselineRows*10)
			for n := 0; time.Now().Before(deadline) && ctx.Err() == nil; n++ {
				args = args[:0]
				for r := range baselineRows {
					id := fmt.Sprintf("w%d-%d-%d", w, n, r)
					args = append(args, "acct_baseline_"+strconv.Itoa(w), id, "p-"+id, "Load banner "+id,
						"display_300x250", formatRef, body, "sha256:"+id, 1, "pending_review")
				}
				if _, err := db.ExecContext(ctx, upsertSQL, args...); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				stmts.Add(1)
			}
		})
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	if firstErr != nil {
		return PostgresBaseline{}, fmt.Errorf("raw upsert: %w", firstErr)
	}
	n := stmts.Load()
	return PostgresBaseline{Writers: writers, Statements: n, Rows: n * baselineRows, Seconds: round(secs, 2),
		RowsPerSec: round(float64(n*baselineRows)/secs, 0)}, nil
}
