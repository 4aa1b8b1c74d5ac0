package devstack

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/nats-io/nats.go"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/broker"
	"example.com/creativesync/platform/natstest"
	"example.com/creativesync/platform/pgtest"
)

func TestStreamTopics(t *testing.T) {
	t.Parallel()
	got := StreamTopics("p_")
	if len(got) != len(events.Topics())+1 {
		t.Fatalf("StreamTopics = %v; want every event topic plus poison", got)
	}
	if !slices.Contains(got, "p_"+broker.PoisonTopic) || !slices.Contains(got, "p_"+events.Topics()[0]) {
		t.Fatalf("StreamTopics(p_) = %v; want prefixed event and poison topics", got)
	}
}

func TestProvisionStreamsOnRealServer(t *testing.T) {
	t.Parallel()
	url := externalNATS(t)
	prefix := natstest.Prefix(t)
	topics, err := ProvisionStreams(url, prefix)
	if err != nil {
		t.Fatal(err)
	}
	// Provisioning is run on every `stack up`, so it must be repeatable.
	if _, err := ProvisionStreams(url, prefix); err != nil {
		t.Fatalf("second run: %v", err)
	}
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := nc.JetStream()
	for _, topic := range topics {
		info, err := js.StreamInfo(topic)
		if err != nil {
			t.Fatalf("stream %s: %v", topic, err)
		}
		if info.Config.Duplicates != broker.DuplicateWindow || info.Config.Storage != nats.FileStorage {
			t.Errorf("stream %s config = %+v; want the broker package's settings", topic, info.Config)
		}
	}
}

// externalPostgres returns the real admin URL tests run against, skipping
// outside the stack when no Postgres answers.
func externalPostgres(t *testing.T) string {
	t.Helper()
	url := pgtest.AdminURL()
	if err := PingPostgres(context.Background(), url, 3*time.Second); err != nil {
		if testingThroughStack() {
			t.Fatalf("TEST_DATABASE_URL: %v", err)
		}
		t.Skipf("no Postgres at %s (run through `make test`): %v", url, err)
	}
	return url
}

func TestProvisionDatabases(t *testing.T) {
	t.Parallel()
	admin := externalPostgres(t)
	var b [4]byte
	_, _ = rand.Read(b[:])
	svc := "t" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		db, err := sql.Open("postgres", admin)
		if err == nil {
			_, _ = db.Exec("DROP DATABASE IF EXISTS " + pq.QuoteIdentifier(DatabaseName(svc)) + " WITH (FORCE)")
			db.Close()
		}
	})
	ctx := context.Background()
	urls, err := ProvisionDatabases(ctx, admin, svc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ProvisionDatabases(ctx, admin, svc); err != nil {
		t.Fatalf("second run: %v", err)
	}
	db, err := sql.Open("postgres", urls[svc])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var name string
	if err := db.QueryRowContext(ctx, "SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	if name != DatabaseName(svc) {
		t.Fatalf("connected to %q; want %q", name, DatabaseName(svc))
	}
}
