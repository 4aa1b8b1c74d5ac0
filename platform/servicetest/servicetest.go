// Package servicetest is the component-test harness every service shares:
// Start runs the real service (built by the test, on its own database and
// topic prefix from pgtest and natstest) until the test ends and waits until
// it is ready; Eventually polls for what asynchronous work should lead to;
// Logger keeps the service's logs and shows them only when the test fails.
package servicetest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"
)

// Timeout bounds every wait: starting, becoming ready, stopping. It is
// generous because two cores are shared by every test binary; tests assert
// on what happens, never on how fast.
const Timeout = 30 * time.Second

// poll is how often Eventually retries.
const poll = 20 * time.Millisecond

// Eventually calls cond until it returns nil, failing tb if within passes
// first; the failure shows cond's last error, which should say what state
// was seen ("2 of 3 delivered").
func Eventually(tb testing.TB, within time.Duration, cond func() error) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("not within %s: %v", within, err)
		}
		time.Sleep(poll)
	}
}

// EventuallyTrue is Eventually for a condition that has no state worth
// reporting; what names it in the failure.
func EventuallyTrue(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	Eventually(tb, within, func() error {
		if cond() {
			return nil
		}
		return fmt.Errorf("waiting for %s", what)
	})
}

// Service is what Start runs: a wired service (internal/service.Service).
type Service interface {
	Run(ctx context.Context) error
	Addr() string
}

// Running is a started service.
type Running[S Service] struct {
	// Svc is the service itself, for what only it knows (its key id, its
	// store).
	Svc S
	// URL is the service's base URL, http://host:port.
	URL  string
	stop func()
}

// Stop shuts the service down and waits for Run to return, failing the
// test if it returns an error or takes longer than Timeout. It also runs at
// the end of the test; calling it earlier tests a restart or a shutdown.
func (r *Running[S]) Stop() { r.stop() }

// Start builds a service with build, runs it until Stop or the end of tb,
// and returns once its /readyz answers 200. build receives the context Run
// will get, so what New starts with it ends with the service.
func Start[S Service](tb testing.TB, build func(ctx context.Context) (S, error)) *Running[S] {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := build(ctx)
	if err != nil {
		cancel()
		tb.Fatalf("starting service: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					tb.Errorf("service stopped with: %v", err)
				}
			case <-time.After(Timeout):
				tb.Errorf("service did not stop within %s", Timeout)
			}
		})
	}
	tb.Cleanup(stop)
	r := &Running[S]{Svc: svc, URL: "http://" + svc.Addr(), stop: stop}
	WaitReady(tb, r.URL)
	return r
}

// WaitReady polls base+"/readyz" until it answers 200.
func WaitReady(tb testing.TB, base string) {
	tb.Helper()
	Eventually(tb, Timeout, func() error {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s/readyz: %d %s", base, resp.StatusCode, bytes.TrimSpace(body))
		}
		return nil
	})
}

// Logger returns a debug-level text logger whose lines are kept and written
// to the test log only if tb fails: a passing run stays quiet, a failing one
// shows everything the service said. Writes after tb ends (a router winding
// down) are kept too, never sent to a finished test.
func Logger(tb testing.TB) *slog.Logger {
	buf := &syncBuffer{}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("service logs:\n%s", buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
