package devstack

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testingThroughStack() bool { return os.Getenv("TEST_DATABASE_URL") != "" }

func TestPingPostgresNothingListening(t *testing.T) {
	t.Parallel()
	start := time.Now()
	err := PingPostgres(context.Background(), unusedURL(t, "postgres")+"/postgres?sslmode=disable", 2*time.Second)
	if err == nil {
		t.Fatal("PingPostgres on a closed port: want an error")
	}
	if time.Since(start) > 2500*time.Millisecond {
		t.Errorf("PingPostgres took %s; the timeout is 2s", time.Since(start))
	}
}

func TestEnsurePostgresReusesURL(t *testing.T) {
	t.Parallel()
	admin := externalPostgres(t)
	pg, err := EnsurePostgres(context.Background(), PostgresOptions{URL: admin, LocalURL: unusedURL(t, "postgres"), DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if pg.URL != admin || pg.Source != "DATABASE_URL" {
		t.Fatalf("got %+v; want DATABASE_URL reused", pg)
	}
	if stopped, err := pg.Stop(context.Background()); stopped || err != nil {
		t.Fatalf("Stop on a reused server = %v, %v; want a no-op", stopped, err)
	}
}

func TestEnsurePostgresFallsBackToLocal(t *testing.T) {
	t.Parallel()
	admin := externalPostgres(t)
	var notes []string
	pg, err := EnsurePostgres(context.Background(), PostgresOptions{
		URL: unusedURL(t, "postgres") + "/postgres?sslmode=disable", LocalURL: admin, DataDir: t.TempDir(),
		Logf: func(f string, a ...any) { notes = append(notes, f) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if pg.URL != admin || pg.Source != "local" {
		t.Fatalf("got %+v; want the local server", pg)
	}
	if len(notes) == 0 {
		t.Error("no note that DATABASE_URL did not answer")
	}
}

func TestFindPostgresBin(t *testing.T) {
	// Not parallel: it points pgBinGlob at a fake tree.
	fake := t.TempDir()
	for _, v := range []string{"13", "15"} {
		for _, b := range []string{"initdb", "pg_ctl"} {
			mustWrite(t, filepath.Join(fake, v, "bin", b), "#!/bin/sh\n")
		}
	}
	mustWrite(t, filepath.Join(fake, "16", "bin", "initdb"), "#!/bin/sh\n") // no pg_ctl: unusable
	old := pgBinGlob
	pgBinGlob = filepath.Join(fake, "*", "bin")
	defer func() { pgBinGlob = old }()

	newCluster := t.TempDir()
	if got, err := findPostgresBin(newCluster); err != nil || got != filepath.Join(fake, "15", "bin") {
		t.Errorf("new cluster: got %q, %v; want the newest complete version, 15", got, err)
	}
	old13 := t.TempDir()
	mustWrite(t, filepath.Join(old13, "PG_VERSION"), "13\n")
	if got, err := findPostgresBin(old13); err != nil || got != filepath.Join(fake, "13", "bin") {
		t.Errorf("13 cluster: got %q, %v; want 13's binaries", got, err)
	}
	old12 := t.TempDir()
	mustWrite(t, filepath.Join(old12, "PG_VERSION"), "12\n")
	if _, err := findPostgresBin(old12); err == nil || !strings.Contains(err.Error(), "make clean") {
		t.Errorf("12 cluster with no 12 binaries: err = %v; want advice to make clean", err)
	}

	pgBinGlob = filepath.Join(t.TempDir(), "*", "bin")
	if _, err := findPostgresBin(newCluster); !errors.Is(err, errNoPostgresBinaries) {
		t.Errorf("no binaries: err = %v; want errNoPostgresBinaries", err)
	}
}

// TestPrivatePostgres creates, starts, restarts and stops a private cluster
// from Debian's binaries: the path `make test` takes on a machine without a
// Postgres. It costs about 3 s, so it runs only under the stack (`make
// test`) or with STACK_TEST_PRIVATE_POSTGRES=1, and not with -short.
func TestPrivatePostgres(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short")
	}
	if !testingThroughStack() && os.Getenv("STACK_TEST_PRIVATE_POSTGRES") == "" {
		t.Skip("runs under `make test` or with STACK_TEST_PRIVATE_POSTGRES=1")
	}
	if _, err := findPostgresBin(t.TempDir()); err != nil {
		t.Skipf("%v", err)
	}
	// As root the cluster belongs to the postgres user, which must be able
	// to walk down to it; t.TempDir's parent is private to us.
	dataDir := t.TempDir()
	if err := os.Chmod(filepath.Dir(dataDir), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	opts := PostgresOptions{DataDir: dataDir, ForcePrivate: true, Ports: &Ports{}}

	start := time.Now()
	pg, err := EnsurePostgres(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("initdb + start: %s", time.Since(start))
	// Whatever happens below, no postmaster outlives the test.
	t.Cleanup(func() { _, _ = StopPrivatePostgres(context.Background(), dataDir) })
	if pg.Source != "private" || pg.DataDir != filepath.Join(dataDir, "pg") {
		t.Fatalf("got %+v; want a private cluster in %s/pg", pg, dataDir)
	}
	if _, err := ProvisionDatabases(ctx, pg.URL, "ingest"); err != nil {
		t.Fatal(err)
	}

	// A second stack while the first runs adopts the cluster. Whichever
	// leaves first must leave it running for the other.
	again, err := EnsurePostgres(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if again.Source != "private-running" || again.URL != pg.URL {
		t.Fatalf("second stack got %+v; want the running cluster adopted", again)
	}
	if stopped, err := pg.Stop(ctx); stopped || err != nil {
		t.Fatalf("first stack's Stop while the second runs = %v, %v; want it left running", stopped, err)
	}
	if err := PingPostgres(ctx, pg.URL, 2*time.Second); err != nil {
		t.Fatalf("the cluster went away under the second stack: %v", err)
	}
	if stopped, err := again.Stop(ctx); !stopped || err != nil {
		t.Fatalf("last stack's Stop = %v, %v; want the cluster stopped", stopped, err)
	}
	if err := PingPostgres(ctx, pg.URL, time.Second); err == nil {
		t.Fatal("cluster still answers after the last Stop")
	}

	// Later runs reuse the cluster, and what was in it.
	start = time.Now()
	pg, err = EnsurePostgres(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("restart: %s", time.Since(start))
	// `stack down` stops it whoever uses it, so detach rather than race it.
	pg.Detach()
	dsn := strings.Replace(pg.URL, "/postgres?", "/"+DatabaseName("ingest")+"?", 1)
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("database made before the restart: %v", err)
	}
	db.Close()

	if stopped, err := StopPrivatePostgres(ctx, dataDir); err != nil || !stopped {
		t.Fatalf("StopPrivatePostgres = %v, %v; want it to stop the cluster", stopped, err)
	}
	if stopped, err := StopPrivatePostgres(ctx, dataDir); err != nil || stopped {
		t.Fatalf("second StopPrivatePostgres = %v, %v; want nothing to stop", stopped, err)
	}
}
