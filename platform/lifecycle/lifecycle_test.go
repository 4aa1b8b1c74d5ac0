package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// journal records what the fakes did, in order.
type journal struct {
	mu     sync.Mutex
	events []string
}

func (j *journal) add(e string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.events = append(j.events, e)
}

func (j *journal) list() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.events)
}

func (j *journal) index(t *testing.T, e string) int {
	t.Helper()
	i := slices.Index(j.list(), e)
	if i < 0 {
		t.Fatalf("%q never happened: %v", e, j.list())
	}
	return i
}

// fakeRouter holds one message in flight until Close, and records whether
// its context was ever cancelled while it ran.
type fakeRouter struct {
	j         *journal
	running   chan struct{}
	closing   chan struct{}
	closeOnce sync.Once
	ctxCut    bool
	failOnRun error
	inFlight  time.Duration
}

func newRouter(j *journal) *fakeRouter {
	return &fakeRouter{j: j, running: make(chan struct{}), closing: make(chan struct{}), inFlight: 50 * time.Millisecond}
}

func (r *fakeRouter) Run(ctx context.Context) error {
	if r.failOnRun != nil {
		return r.failOnRun
	}
	close(r.running)
	select {
	case <-ctx.Done():
		r.ctxCut = true
	case <-r.closing:
	}
	return nil
}

func (r *fakeRouter) Running() chan struct{} { return r.running }

func (r *fakeRouter) Close() error {
	r.closeOnce.Do(func() {
		r.j.add("router closing")
		time.Sleep(r.inFlight) // the message in hand finishes
		r.j.add("router finished in-flight")
		close(r.closing)
	})
	return nil
}

type fakeServer struct {
	j      *journal
	served chan struct{}
}

func (s *fakeServer) Addr() string { return "127.0.0.1:1" }

func (s *fakeServer) Serve(ctx context.Context) error {
	s.j.add("http serving")
	close(s.served)
	<-ctx.Done()
	time.Sleep(20 * time.Millisecond) // drains a request
	s.j.add("http drained")
	return nil
}

type fakeRelay struct{ j *journal }

func (r fakeRelay) Run(ctx context.Context) error {
	<-ctx.Done()
	r.j.add("relay stopped")
	return nil
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestRunShutsDownInOrder(t *testing.T) {
	t.Parallel()
	j := &journal{}
	r1, r2 := newRouter(j), newRouter(j)
	srv := &fakeServer{j: j, served: make(chan struct{})}
	var backlog int64 = 3
	var mu sync.Mutex
	parts := Parts{
		Name:    "svc",
		Logger:  quietLogger(),
		HTTP:    srv,
		Routers: []Router{r1, r2},
		Workers: []Worker{{Name: "dispatcher", Run: func(ctx context.Context) error {
			<-ctx.Done()
			time.Sleep(30 * time.Millisecond) // the attempt in hand
			j.add("worker finished")
			return nil
		}}},
		Relay: fakeRelay{j: j},
		Backlog: func(context.Context) (int64, error) {
			mu.Lock()
			defer mu.Unlock()
			if backlog > 0 {
				backlog--
				j.add("relay draining")
			}
			return backlog, nil
		},
		Close: func() error { j.add("connections closed"); return nil },
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, parts) }()
	select {
	case <-srv.served:
	case <-time.After(5 * time.Second):
		t.Fatal("HTTP never started")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil after a requested stop", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	if r1.ctxCut || r2.ctxCut {
		t.Fatal("a router's context was cancelled: its in-flight messages would have been abandoned")
	}
	relayStop := j.index(t, "relay stopped")
	for _, before := range []string{"http drained", "router finished in-flight", "worker finished", "relay draining"} {
		if j.index(t, before) > relayStop {
			t.Errorf("%q after the relay stopped: %v", before, j.list())
		}
	}
	if last := j.list()[len(j.list())-1]; last != "connections closed" {
		t.Errorf("last step %q, want connections closed: %v", last, j.list())
	}
	if backlog != 0 {
		t.Errorf("backlog %d left; shutdown did not wait for the relay", backlog)
	}
}

func TestHTTPWaitsForRouters(t *testing.T) {
	t.Parallel()
	j := &journal{}
	slow := &gatedRouter{fakeRouter: newRouter(j), gate: make(chan struct{})}
	srv := &fakeServer{j: j, served: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Parts{Logger: quietLogger(), HTTP: srv, Routers: []Router{slow}}) }()
	select {
	case <-srv.served:
		t.Fatal("HTTP served before the router consumed: /readyz would lie")
	case <-time.After(100 * time.Millisecond):
	}
	close(slow.gate)
	<-srv.served
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// gatedRouter starts consuming only once gate is closed.
type gatedRouter struct {
	*fakeRouter
	gate chan struct{}
}

func (r *gatedRouter) Run(ctx context.Context) error {
	<-r.gate
	return r.fakeRouter.Run(ctx)
}

func TestAFailingPartStopsTheRest(t *testing.T) {
	t.Parallel()
	j := &journal{}
	r := newRouter(j)
	srv := &fakeServer{j: j, served: make(chan struct{})}
	closed := false
	err := Run(context.Background(), Parts{
		Logger:  quietLogger(),
		HTTP:    srv,
		Routers: []Router{r},
		Workers: []Worker{{Name: "pruner", Run: func(context.Context) error {
			<-srv.served
			return nil
		}}},
		Close: func() error { closed = true; return nil },
	})
	if err == nil || !strings.Contains(err.Error(), "pruner stopped unexpectedly") {
		t.Fatalf("Run = %v", err)
	}
	if !closed || r.ctxCut {
		t.Fatalf("closed %v, router context cut %v", closed, r.ctxCut)
	}
	j.index(t, "router finished in-flight")
}

func TestRouterFailingAtStartIsReported(t *testing.T) {
	t.Parallel()
	r := newRouter(&journal{})
	r.failOnRun = errors.New("subscribing: no responders")
	srv := &fakeServer{j: &journal{}, served: make(chan struct{})}
	err := Run(context.Background(), Parts{Logger: quietLogger(), HTTP: srv, Routers: []Router{r}})
	if err == nil || !strings.Contains(err.Error(), "message router: subscribing: no responders") {
		t.Fatalf("Run = %v", err)
	}
	select {
	case <-srv.served:
		t.Fatal("HTTP served although the router never ran")
	default:
	}
}

// failingRelay fails when it is stopped, as the Watermill forwarder can.
type failingRelay struct{ beforeStop error }

func (r failingRelay) Run(ctx context.Context) error {
	if r.beforeStop != nil {
		return r.beforeStop
	}
	<-ctx.Done()
	return errors.New("cannot subscribe topic outbox: sql: transaction has already been committed or rolled back")
}

func TestRelayFailingWhileStoppedIsNotAnError(t *testing.T) {
	t.Parallel()
	run := func(relay Relay) error {
		ctx, cancel := context.WithCancel(context.Background())
		srv := &fakeServer{j: &journal{}, served: make(chan struct{})}
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, Parts{Logger: quietLogger(), HTTP: srv, Routers: []Router{newRouter(&journal{})}, Relay: relay})
		}()
		select {
		case <-srv.served:
		case err := <-done:
			cancel()
			return err
		}
		cancel()
		return <-done
	}
	if err := run(failingRelay{}); err != nil {
		t.Errorf("Run = %v; a relay failing as shutdown stops it loses nothing", err)
	}
	if err := run(failingRelay{beforeStop: errors.New("broker gone")}); err == nil || !strings.Contains(err.Error(), "broker gone") {
		t.Errorf("Run = %v; a relay failing on its own must be reported", err)
	}
}

func TestStopBeforeStartIsNotAnError(t *testing.T) {
	t.Parallel()
	r := &gatedRouter{fakeRouter: newRouter(&journal{}), gate: make(chan struct{})}
	r.failOnRun = errors.New("router is closed")
	close(r.gate)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	srv := &fakeServer{j: &journal{}, served: make(chan struct{})}
	if err := Run(ctx, Parts{Logger: quietLogger(), HTTP: srv, Routers: []Router{r}}); err != nil {
		t.Fatalf("Run = %v; a Ctrl-C during start-up is a normal stop", err)
	}
}

func TestMainPrintsTheErrorAndExitsNonZero(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	code := main1("review", func(ctx context.Context, args []string, getenv func(string) string, w io.Writer) error {
		if len(args) != 1 || args[0] != "x" || getenv("K") != "v" || w != &stdout {
			t.Errorf("run got args %q", args)
		}
		return errors.New("invalid configuration:\n  DATABASE_URL is required")
	}, []string{"x"}, func(k string) string { return map[string]string{"K": "v"}[k] }, &stdout, &stderr)
	if code != 1 || stderr.String() != "review: invalid configuration:\n  DATABASE_URL is required\n" {
		t.Fatalf("code %d, stderr %q", code, stderr.String())
	}
	code = main1("review", func(context.Context, []string, func(string) string, io.Writer) error { return nil },
		nil, func(string) string { return "" }, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("code %d after a clean run", code)
	}
}

func TestEveryRunsAtOnceThenOnTheTick(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	n := 0
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Every(10*time.Millisecond, func(context.Context) {
			mu.Lock()
			n++
			mu.Unlock()
		})(ctx)
	}()
	time.Sleep(55 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if n < 2 {
		t.Fatalf("ran %d times", n)
	}
}

func TestClosersRunLastOpenedFirstOnce(t *testing.T) {
	t.Parallel()
	var c Closers
	var order []string
	for _, name := range []string{"postgres", "nats", "publisher"} {
		c.Add(func() error { order = append(order, name); return nil })
	}
	c.Add(func() error { return errors.New("listener: boom") })
	err := c.Close()
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("Close = %v", err)
	}
	if !slices.Equal(order, []string{"publisher", "nats", "postgres"}) {
		t.Fatalf("order %v", order)
	}
	if err := c.Close(); err != nil || len(order) != 3 {
		t.Fatalf("second Close ran again: %v %v", err, order)
	}
}
