package devstack

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"example.com/creativesync/platform/natstest"
)

// externalNATS returns the real server tests run against: the stack's
// TEST_NATS_URL under `make test`, else the local one. Outside the stack a
// missing local server skips the test rather than failing it.
func externalNATS(t *testing.T) string {
	t.Helper()
	url := natstest.URL()
	if err := ProbeNATS(url, 2*time.Second); err != nil {
		if os.Getenv("TEST_NATS_URL") != "" {
			t.Fatalf("TEST_NATS_URL: %v", err)
		}
		t.Skipf("no JetStream server at %s (run through `make test`): %v", url, err)
	}
	return url
}

func embeddedNATS(t *testing.T, jetStream bool) *server.Server {
	t.Helper()
	if jetStream {
		srv, err := StartEmbeddedNATS(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
		return srv
	}
	// Like Debian's packaged server: up, JetStream off.
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("plain NATS server did not start")
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	return srv
}

func TestProbeNATSRealServer(t *testing.T) {
	t.Parallel()
	if err := ProbeNATS(externalNATS(t), 2*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestProbeNATSEmbedded(t *testing.T) {
	t.Parallel()
	srv := embeddedNATS(t, true)
	if err := ProbeNATS(srv.ClientURL(), 2*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestProbeNATSWithoutJetStream(t *testing.T) {
	t.Parallel()
	srv := embeddedNATS(t, false)
	err := ProbeNATS(srv.ClientURL(), 2*time.Second)
	if !errors.Is(err, ErrNoJetStream) {
		t.Fatalf("ProbeNATS on a server without JetStream = %v; want ErrNoJetStream", err)
	}
}

func TestProbeNATSNothingListening(t *testing.T) {
	t.Parallel()
	err := ProbeNATS(unusedURL(t, "nats"), time.Second)
	if err == nil || errors.Is(err, ErrNoJetStream) {
		t.Fatalf("ProbeNATS on a closed port = %v; want a connection error", err)
	}
}

func TestEnsureNATSPrefersURL(t *testing.T) {
	t.Parallel()
	srv := embeddedNATS(t, true)
	n, err := EnsureNATS(NATSOptions{URL: srv.ClientURL(), LocalURL: unusedURL(t, "nats"), StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if n.URL != srv.ClientURL() || n.Source != "NATS_URL" || n.Embedded() {
		t.Fatalf("got %+v; want the NATS_URL server reused", n)
	}
}

func TestEnsureNATSFallsBackToLocal(t *testing.T) {
	t.Parallel()
	local := embeddedNATS(t, true)
	n, err := EnsureNATS(NATSOptions{URL: unusedURL(t, "nats"), LocalURL: local.ClientURL(), StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if n.URL != local.ClientURL() || n.Source != "local" {
		t.Fatalf("got %+v; want the local server reused", n)
	}
}

func TestEnsureNATSEmbedsWhenNothingAnswers(t *testing.T) {
	t.Parallel()
	var notes []string
	n, err := EnsureNATS(NATSOptions{
		URL: unusedURL(t, "nats"), LocalURL: unusedURL(t, "nats"), StoreDir: t.TempDir(),
		Logf: func(f string, a ...any) { notes = append(notes, f) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if !n.Embedded() || n.Source != "embedded" {
		t.Fatalf("got %+v; want an embedded server", n)
	}
	if err := ProbeNATS(n.URL, 2*time.Second); err != nil {
		t.Fatalf("embedded server: %v", err)
	}
	if len(notes) == 0 {
		t.Error("no note that NATS_URL did not answer")
	}
}

func TestEnsureNATSForcePrivate(t *testing.T) {
	t.Parallel()
	other := embeddedNATS(t, true)
	n, err := EnsureNATS(NATSOptions{URL: other.ClientURL(), LocalURL: other.ClientURL(), StoreDir: t.TempDir(), ForcePrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if !n.Embedded() || n.URL == other.ClientURL() {
		t.Fatalf("got %+v; want a new embedded server", n)
	}
}

func TestEnsureNATSRejectsURLWithoutJetStream(t *testing.T) {
	t.Parallel()
	plain := embeddedNATS(t, false)
	_, err := EnsureNATS(NATSOptions{URL: plain.ClientURL(), LocalURL: unusedURL(t, "nats"), StoreDir: t.TempDir()})
	if !errors.Is(err, ErrNoJetStream) {
		t.Fatalf("EnsureNATS with a NATS_URL lacking JetStream = %v; want ErrNoJetStream", err)
	}
}

func TestEnsureNATSEmbedsWhenLocalLacksJetStream(t *testing.T) {
	t.Parallel()
	plain := embeddedNATS(t, false)
	var notes []string
	n, err := EnsureNATS(NATSOptions{LocalURL: plain.ClientURL(), StoreDir: t.TempDir(),
		Logf: func(f string, a ...any) { notes = append(notes, f) }})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if !n.Embedded() {
		t.Fatalf("got %+v; want an embedded server", n)
	}
	if len(notes) == 0 {
		t.Error("no note that the local server lacks JetStream")
	}
}

func TestEmbeddedNATSKeepsStreamsInStoreDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv, err := StartEmbeddedNATS(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ProvisionStreams(srv.ClientURL(), "keep_"); err != nil {
		t.Fatal(err)
	}
	srv.Shutdown()
	srv.WaitForShutdown()

	// `make run` reuses .data/nats, so streams survive a restart.
	srv, err = StartEmbeddedNATS(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := nc.JetStream()
	if _, err := js.StreamInfo(StreamTopics("keep_")[0]); err != nil {
		t.Fatalf("stream lost across restart: %v", err)
	}
}
