package devstack

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// LocalNATSURL is where Debian's nats-server listens by default.
const LocalNATSURL = "nats://127.0.0.1:4222"

// ErrNoJetStream is returned by ProbeNATS for a server that answers but has
// JetStream off. Debian's packaged config leaves it off, and clients then
// fail with "no responders", which never mentions JetStream.
var ErrNoJetStream = errors.New("NATS server answers but JetStream is not enabled (start it with -js, or add a jetstream {} block to its config)")

// ProbeNATS connects to url and asks for the JetStream account info. It
// returns nil only for a server that is up with JetStream enabled,
// ErrNoJetStream for one that answers without it, and another error when
// nothing answers.
func ProbeNATS(url string, timeout time.Duration) error {
	nc, err := nats.Connect(url, nats.Timeout(timeout), nats.MaxReconnects(0), nats.Name("creativesync-stack-probe"))
	if err != nil {
		return fmt.Errorf("connecting to NATS at %s: %w", url, err)
	}
	defer nc.Close()
	js, err := nc.JetStream(nats.MaxWait(timeout))
	if err != nil {
		return fmt.Errorf("JetStream context for %s: %w", url, err)
	}
	if _, err := js.AccountInfo(); err != nil {
		if errors.Is(err, nats.ErrJetStreamNotEnabled) || errors.Is(err, nats.ErrJetStreamNotEnabledForAccount) ||
			errors.Is(err, nats.ErrNoResponders) {
			return fmt.Errorf("%s: %w", url, ErrNoJetStream)
		}
		return fmt.Errorf("JetStream account info from %s: %w", url, err)
	}
	return nil
}

// NATS is the JetStream server a stack uses.
type NATS struct {
	URL string
	// How it was found: "NATS_URL", "local" or "embedded".
	Source string
	srv    *server.Server
}

// Embedded reports whether the server runs inside this process.
func (n *NATS) Embedded() bool { return n.srv != nil }

// Describe says in one line which server this is, for the stack's summary.
func (n *NATS) Describe() string {
	switch n.Source {
	case "embedded":
		return fmt.Sprintf("%s (embedded in this process, private)", n.URL)
	case "local":
		return fmt.Sprintf("%s (reused the local server)", n.URL)
	default:
		return fmt.Sprintf("%s (reused, from %s)", n.URL, n.Source)
	}
}

// Close shuts an embedded server down; a reused one is left alone.
func (n *NATS) Close() {
	if n.srv == nil {
		return
	}
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
}

// NATSOptions says where to look for a server and where an embedded one
// keeps its streams.
type NATSOptions struct {
	URL          string // NATS_URL; may be empty
	LocalURL     string // the standard local server, LocalNATSURL
	StoreDir     string // JetStream store of an embedded server
	ForcePrivate bool   // skip reuse; tests the fallback by hand
	Logf         func(format string, args ...any)
}

// EnsureNATS returns a JetStream server: the one o.URL names if it answers,
// else the local one, else a new embedded server. An explicit NATS_URL that
// answers without JetStream is an error rather than a silent fallback, since
// the user asked for that server; the implicit local one only gets a note.
func EnsureNATS(o NATSOptions) (*NATS, error) {
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if !o.ForcePrivate {
		if o.URL != "" {
			err := ProbeNATS(o.URL, 2*time.Second)
			if err == nil {
				return &NATS{URL: o.URL, Source: "NATS_URL"}, nil
			}
			if errors.Is(err, ErrNoJetStream) {
				return nil, fmt.Errorf("NATS_URL: %w", err)
			}
			logf("NATS_URL=%s does not answer (%v); trying %s", o.URL, err, o.LocalURL)
		}
		if o.LocalURL != "" && o.LocalURL != o.URL {
			err := ProbeNATS(o.LocalURL, 2*time.Second)
			if err == nil {
				return &NATS{URL: o.LocalURL, Source: "local"}, nil
			}
			if errors.Is(err, ErrNoJetStream) {
				logf("%v; starting an embedded server instead", err)
			}
		}
	}
	srv, err := StartEmbeddedNATS(o.StoreDir)
	if err != nil {
		return nil, err
	}
	return &NATS{URL: srv.ClientURL(), Source: "embedded", srv: srv}, nil
}

// StartEmbeddedNATS runs a JetStream server in this process on a random
// loopback port. The server picks the port itself, so no other process can
// take it between choosing and binding.
func StartEmbeddedNATS(storeDir string) (*server.Server, error) {
	if err := os.MkdirAll(storeDir, 0o755); err != nil {
		return nil, fmt.Errorf("embedded NATS store: %w", err)
	}
	srv, err := server.NewServer(&server.Options{
		ServerName: "creativesync-dev",
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		JetStream:  true,
		StoreDir:   storeDir,
		// The stack handles signals itself; the server must not exit the
		// process on SIGINT before the services are stopped.
		NoSigs: true,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	// Without a logger the server is silent, including about why it failed
	// to start (a JetStream store it cannot use, say); keep only errors.
	el := &errorLog{}
	srv.SetLogger(el, false, false)
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded NATS (store %s) did not start: %s", storeDir, el.String())
	}
	return srv, nil
}

// errorLog keeps the errors an embedded server reports and drops the rest.
// Its Fatalf must not exit: the stack decides what a failure means.
type errorLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *errorLog) add(format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, fmt.Sprintf(format, v...))
}

func (l *errorLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.msgs) == 0 {
		return "no error reported"
	}
	return strings.Join(l.msgs, "; ")
}

func (l *errorLog) Noticef(string, ...any)         {}
func (l *errorLog) Warnf(string, ...any)           {}
func (l *errorLog) Debugf(string, ...any)          {}
func (l *errorLog) Tracef(string, ...any)          {}
func (l *errorLog) Errorf(format string, v ...any) { l.add(format, v...) }
func (l *errorLog) Fatalf(format string, v ...any) { l.add(format, v...) }
