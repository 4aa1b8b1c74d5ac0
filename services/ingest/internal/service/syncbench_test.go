package service_test

// Side-by-side throughput of the creative library's write path: raw
// Postgres multi-VALUES upserts of rows shaped like ingest's, against
// ingest's sync_creatives over REST and MCP, 100 creatives per call.
//
//	go test -run '^$' -bench 'RawPostgres|Sync' -benchtime 3s ./internal/service/
//
// BenchmarkSync first measures a raw baseline once per process
// (rawBaselineFor: 2 s per concurrency, in the database the syncs then
// write to, on accounts of its own) so ratio_to_raw compares numbers from the same run and machine
// state, then prints a summary table of every benchmark of the run to
// stdout. Nothing is asserted: the targets (ingest >= 25 % of raw, p99 <=
// 100 ms per call at one buyer) are read off the output. p50/p99 are over
// the calls of the last b.N round, so with few calls p99 is the slowest one.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// perCall is how many creatives one sync (or rows one raw statement) carries:
// the most one sync_creatives accepts.
const perCall = 100

// concurrencies are the writer / buyer counts every benchmark runs at.
var concurrencies = []int{1, 4}

// rawBaselineDuration is how long the in-process raw baseline runs per
// concurrency.
const rawBaselineDuration = 2 * time.Second

// benchSeq numbers calls and statements across the process, so creative ids
// never repeat between b.N rounds or sub-benchmarks.
var benchSeq atomic.Int64

var benchTags = []string{"bench", "display"}

// benchCreative is the display banner the sync benchmarks send (the
// harness's banner with two tags); its JSON is also the raw rows' body, as
// ingest stores every field the buyer sent.
func benchCreative(id string) map[string]any {
	c := banner(id)
	c["tags"] = benchTags
	return c
}

// ---- raw Postgres -------------------------------------------------------

// upsertColumns are the columns ingest's store writes (postgres.upsertCreative).
const upsertColumns = `account_id, creative_id, platform_id, name, format_id, format_ref, body, tags, content_hash,
                       revision, status, review_reasons, created_at, updated_at, archived_at`

const upsertConflict = `
ON CONFLICT (account_id, creative_id) DO UPDATE SET
    name = EXCLUDED.name, format_id = EXCLUDED.format_id, format_ref = EXCLUDED.format_ref, body = EXCLUDED.body,
    tags = EXCLUDED.tags, content_hash = EXCLUDED.content_hash, revision = EXCLUDED.revision, status = EXCLUDED.status,
    review_reasons = '[]', updated_at = EXCLUDED.updated_at, archived_at = NULL`

// rawParams is the number of bind parameters per row.
const rawParams = 13

// multiUpsert is one INSERT of n rows with ingest's ON CONFLICT clause.
func multiUpsert(n int) string {
	var q strings.Builder
	q.WriteString("INSERT INTO creatives (" + upsertColumns + ") VALUES ")
	for r := 0; r < n; r++ {
		if r > 0 {
			q.WriteString(", ")
		}
		q.WriteByte('(')
		for c := 1; c <= rawParams; c++ {
			if c > 1 {
				q.WriteString(", ")
			}
			q.WriteString("$" + strconv.Itoa(r*rawParams+c))
			if c == 11 { // after status: review_reasons
				q.WriteString(", '[]'")
			}
		}
		q.WriteString(", NULL)") // archived_at
	}
	q.WriteString(upsertConflict)
	return q.String()
}

var (
	rawQuery     = multiUpsert(perCall)
	rawFormatRef = []byte(`{"agent_url":"` + agentURL + `","id":"display_300x250"}`)
	// rawBodyTemplate is benchCreative's JSON with a placeholder id, so each
	// row's body costs a replace rather than a json.Marshal.
	rawBodyTemplate, _ = json.Marshal(benchCreative("BENCHID"))
)

// rawWriter writes 100-row upserts into one account.
type rawWriter struct {
	db      *sqlx.DB
	account string
	args    []any
}

func newRawWriter(db *sqlx.DB, account string) *rawWriter {
	return &rawWriter{db: db, account: account, args: make([]any, 0, perCall*rawParams)}
}

// upsert writes one statement of perCall new rows in its own transaction,
// as a sync would.
func (w *rawWriter) upsert(ctx context.Context) error {
	seq := benchSeq.Add(1)
	now := time.Now().UTC()
	tags := pq.Array(benchTags)
	args := w.args[:0]
	for j := 0; j < perCall; j++ {
		id := fmt.Sprintf("raw_%d_%d", seq, j)
		body := bytes.ReplaceAll(rawBodyTemplate, []byte("BENCHID"), []byte(id))
		sum := sha256.Sum256(body)
		var pid [12]byte
		_, _ = rand.Read(pid[:])
		args = append(args, w.account, id, "crv_"+hex.EncodeToString(pid[:]), "Banner "+id, "display_300x250",
			rawFormatRef, body, tags, "sha256:"+hex.EncodeToString(sum[:]), int64(1), "pending_review", now, now)
	}
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, rawQuery, args...); err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("raw upsert: %w", err)
	}
	return tx.Commit()
}

// ---- driving and measuring ----------------------------------------------

// runResult is one measured run: wall time and every call's latency.
type runResult struct {
	calls     int
	elapsed   time.Duration
	latencies []time.Duration
}

func (r runResult) perSec() float64 {
	return float64(r.calls*perCall) / r.elapsed.Seconds()
}

// quantile returns the q-quantile latency in milliseconds (nearest rank).
func (r runResult) quantile(q float64) float64 {
	if len(r.latencies) == 0 {
		return 0
	}
	s := slices.Clone(r.latencies)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	i = max(0, min(i, len(s)-1))
	return float64(s[i]) / float64(time.Millisecond)
}

// drive runs op on workers goroutines: worker w makes calls w, w+workers,
// w+2*workers, ... below n, until deadline if it is not zero. The first
// error stops every worker and is returned.
func drive(workers, n int, deadline time.Time, op func(worker, call int) error) (runResult, error) {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		failed   atomic.Bool
		all      []time.Duration
		calls    int
	)
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			for i := w; i < n && !failed.Load(); i += workers {
				if !deadline.IsZero() && time.Now().After(deadline) {
					break
				}
				t0 := time.Now()
				if err := op(w, i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					failed.Store(true)
					break
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			all = append(all, lat...)
			calls += len(lat)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return runResult{calls: calls, elapsed: time.Since(start), latencies: all}, firstErr
}

// measure drives b.N calls under the benchmark timer and reports
// unit (creatives/s or rows/s) and p50/p99 per call.
func measure(b *testing.B, workers int, unit string, op func(worker, call int) error) runResult {
	b.Helper()
	b.ResetTimer()
	r, err := drive(workers, b.N, time.Time{}, op)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r.perSec(), unit)
	b.ReportMetric(r.quantile(0.50), "p50_ms")
	b.ReportMetric(r.quantile(0.99), "p99_ms")
	return r
}

// ---- results and the summary table --------------------------------------

type benchRow struct {
	name     string
	perSec   float64
	p50, p99 float64
	calls    int
	ratio    float64 // 0 when not applicable
}

// results keeps each benchmark's last (largest b.N) round for the summary.
var results struct {
	sync.Mutex
	rows  map[string]benchRow
	order []string
}

func record(name string, r runResult, ratio float64) {
	results.Lock()
	defer results.Unlock()
	if results.rows == nil {
		results.rows = map[string]benchRow{}
	}
	if _, ok := results.rows[name]; !ok {
		results.order = append(results.order, name)
	}
	results.rows[name] = benchRow{name: name, perSec: r.perSec(), p50: r.quantile(0.5), p99: r.quantile(0.99), calls: r.calls, ratio: ratio}
}

func summary() string {
	results.Lock()
	defer results.Unlock()
	var s strings.Builder
	fmt.Fprintf(&s, "\n%-34s %12s %9s %9s %7s %10s\n", "benchmark (100 per call)", "per second", "p50 ms", "p99 ms", "calls", "vs raw")
	for _, name := range results.order {
		r := results.rows[name]
		ratio := ""
		if r.ratio > 0 {
			ratio = fmt.Sprintf("%.1f %%", 100*r.ratio)
		}
		fmt.Fprintf(&s, "%-34s %12.0f %9.1f %9.1f %7d %10s\n", r.name, r.perSec, r.p50, r.p99, r.calls, ratio)
	}
	return s.String()
}

// ---- BenchmarkRawPostgresUpsert -----------------------------------------

// BenchmarkRawPostgresUpsert is the ceiling: 100-row multi-VALUES upserts
// into ingest's creatives table (real schema and indexes, migrated by
// starting ingest), one statement per transaction, at 1 and 4 concurrent
// writers each on its own account. One op is one 100-row statement.
func BenchmarkRawPostgresUpsert(b *testing.B) {
	s := startIngestB(b)
	accounts := []string{"acct_1"}
	for w := 1; w < slices.Max(concurrencies); w++ {
		acct := fmt.Sprintf("raw_acct_%d", w)
		s.provision(fmt.Sprintf("raw_%d", w), acct)
		accounts = append(accounts, acct)
	}
	s.db.SetMaxIdleConns(slices.Max(concurrencies))
	for _, n := range concurrencies {
		b.Run(fmt.Sprintf("writers=%d", n), func(b *testing.B) {
			writers := make([]*rawWriter, n)
			for w := range writers {
				writers[w] = newRawWriter(s.db, accounts[w])
			}
			r := measure(b, n, "rows/s", func(w, _ int) error { return writers[w].upsert(context.Background()) })
			record(b.Name(), r, 0)
		})
	}
}

// rawBaseline is the raw rows/s per concurrency, measured once per process.
var rawBaseline struct {
	once  sync.Once
	rates map[int]float64
	err   error
}

// rawBaselineFor measures (once) rawBaselineDuration of raw upserts at each
// concurrency in s's database, on accounts of their own, and returns the
// rows/s at n writers.
func rawBaselineFor(b *testing.B, s *stack, n int) float64 {
	b.Helper()
	rawBaseline.once.Do(func() {
		rawBaseline.rates, rawBaseline.err = measureRawBaseline(s)
	})
	if rawBaseline.err != nil {
		b.Fatalf("raw baseline: %v", rawBaseline.err)
	}
	return rawBaseline.rates[n]
}

func measureRawBaseline(s *stack) (map[int]float64, error) {
	ctx := context.Background()
	var writers []*rawWriter
	for w := 0; w < slices.Max(concurrencies); w++ {
		acct := fmt.Sprintf("raw_acct_%d", w)
		s.provision(fmt.Sprintf("raw_%d", w), acct)
		writers = append(writers, newRawWriter(s.db, acct))
	}
	rates := map[int]float64{}
	for _, n := range concurrencies {
		op := func(w, _ int) error { return writers[w].upsert(ctx) }
		if _, err := drive(n, 5*n, time.Time{}, op); err != nil { // warm-up
			return nil, err
		}
		r, err := drive(n, math.MaxInt, time.Now().Add(rawBaselineDuration), op)
		if err != nil {
			return nil, err
		}
		rates[n] = r.perSec()
		record(fmt.Sprintf("raw baseline/writers=%d", n), r, 0)
	}
	return rates, nil
}

// ---- BenchmarkSync ------------------------------------------------------

// syncClient is a buyer's HTTP client: keep-alive connections for every
// concurrent buyer (http.DefaultClient keeps only two idle per host).
var syncClient = &http.Client{
	Timeout:   2 * time.Minute,
	Transport: &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true},
}

// transport is how a sync reaches ingest: its path, how the AdCP request is
// wrapped, and what a successful answer looks like.
type transport struct {
	path  string
	wrap  func(call int, req []byte) []byte
	check func(status int, body []byte) error
}

var transports = []struct {
	name string
	transport
}{
	{"rest", transport{
		path: "/api/v1/creatives/sync",
		wrap: func(_ int, req []byte) []byte { return req },
		check: func(st int, body []byte) error {
			if st != http.StatusOK || !bytes.Contains(body, []byte(`"status":"completed"`)) {
				return fmt.Errorf("REST sync: %d %.300s", st, body)
			}
			return nil
		},
	}},
	{"mcp", transport{
		path: "/mcp",
		wrap: func(call int, req []byte) []byte {
			return fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"sync_creatives","arguments":%s}}`, call+1, req)
		},
		check: func(st int, body []byte) error {
			if st != http.StatusOK || bytes.Contains(body, []byte(`"isError":true`)) || !bytes.Contains(body, []byte(`"status":"completed"`)) {
				return fmt.Errorf("MCP sync: %d %.300s", st, body)
			}
			return nil
		},
	}},
}

// post sends one sync; safe for concurrent buyers (the harness's s.do fails
// the benchmark from the calling goroutine).
func (t transport) post(url, key string, body []byte) error {
	req, err := http.NewRequest(http.MethodPost, url+t.path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := syncClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return t.check(resp.StatusCode, out)
}

type buyer struct{ key, account string }

// syncBodies encodes n sync requests of perCall new creatives, call i for
// buyers[i%len(buyers)], before the timer runs. Idempotency keys come from
// syncReq and are fresh for every call.
func syncBodies(t transport, buyers []buyer, n int) [][]byte {
	bodies := make([][]byte, n)
	for i := range bodies {
		seq := benchSeq.Add(1)
		cs := make([]map[string]any, perCall)
		for j := range cs {
			cs[j] = benchCreative(fmt.Sprintf("bench_%d_%d", seq, j))
		}
		req := syncReq(cs...)
		req["account"] = map[string]any{"account_id": buyers[i%len(buyers)].account}
		b, _ := json.Marshal(req)
		bodies[i] = t.wrap(i, b)
	}
	return bodies
}

// BenchmarkSync measures sync_creatives end to end through ingest's HTTP
// server (auth, parsing, validation, idempotency, upserts, outbox, response)
// with 100 new creatives per call, over REST and MCP, at 1 and 4 concurrent
// buyers, each buyer its own API key and account. One op is one call.
// ratio_to_raw is creatives/s over the raw baseline's rows/s at the same
// concurrency, measured earlier in the same process.
func BenchmarkSync(b *testing.B) {
	s := startIngestB(b)
	s.db.SetMaxIdleConns(slices.Max(concurrencies))
	baseline := map[int]float64{}
	for _, n := range concurrencies {
		baseline[n] = rawBaselineFor(b, s, n)
	}
	buyers := []buyer{{s.key, "acct_1"}}
	for w := 1; w < slices.Max(concurrencies); w++ {
		acct := fmt.Sprintf("acct_%d", w+1)
		buyers = append(buyers, buyer{s.provision(fmt.Sprintf("buyer_%d", w+1), acct), acct})
	}
	// Each buyer's first call of each kind, checked in full (and warming
	// the server), through the harness.
	for _, t := range transports {
		for _, by := range buyers {
			body := syncBodies(t.transport, []buyer{by}, 1)[0]
			st, out := s.do("POST", t.path, by.key, body, "Accept", "application/json, text/event-stream")
			if err := t.check(st, out); err != nil {
				b.Fatal(err)
			}
			if got := bytes.Count(out, []byte(`"action":"created"`)); got != perCall {
				b.Fatalf("%s warm-up sync created %d creatives, want %d: %.500s", t.name, got, perCall, out)
			}
		}
	}
	for _, t := range transports {
		b.Run(t.name, func(b *testing.B) {
			for _, n := range concurrencies {
				b.Run(fmt.Sprintf("buyers=%d", n), func(b *testing.B) {
					bodies := syncBodies(t.transport, buyers[:n], b.N)
					r := measure(b, n, "creatives/s", func(w, i int) error {
						return t.post(s.url, buyers[w].key, bodies[i])
					})
					ratio := r.perSec() / baseline[n]
					b.ReportMetric(ratio, "ratio_to_raw")
					record(b.Name(), r, ratio)
				})
			}
		})
	}
	syncClient.CloseIdleConnections()
	// Stdout, not b.Log: a parent benchmark's log is shown only with -v.
	fmt.Print(summary())
}
