// Package lifecycle is how every service starts, becomes ready and stops:
// Main is the whole of a service's main function, and Run starts a wired
// service's parts and shuts them down in the one order that loses nothing.
//
// The shutdown order, and why:
//
//  1. Stop taking work and finish what is in hand, all at once: the HTTP
//     server stops accepting and drains its requests, each router closes
//     (it stops consuming and waits for the messages its handlers hold),
//     and workers see their context end and return after their current
//     item. A router's own context is never cancelled: cancelling it would
//     abandon in-flight messages, while Close waits for them. The three do
//     not depend on each other, so they stop together and shutdown takes
//     the longest of them, not their sum (orchestrators kill after ~30 s).
//  2. Only then drain the outbox and stop the relay: requests and handlers
//     that just finished wrote events to the outbox, and the relay is what
//     sends them. What it cannot send in DrainTimeout stays in the table
//     and goes out on the next start.
//  3. Close connections (publisher, NATS, Postgres), last.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
)

// RunFunc is a service's run: everything main does apart from signals and
// the exit code, with its inputs passed in so tests can call it.
type RunFunc func(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error

// Main runs a service command: ctx ends on SIGINT or SIGTERM, and an error
// from run is printed as "name: err" with exit status 1.
func Main(name string, run RunFunc) {
	os.Exit(main1(name, run, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func main1(name string, run RunFunc, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// After the first signal the service is shutting down in order; a
	// second one gets the default behaviour and kills it, as someone
	// pressing Ctrl-C twice expects.
	go func() { <-ctx.Done(); stop() }()
	if err := run(ctx, args, getenv, stdout); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}

// Router is a message router (broker.Router): Run consumes until Close,
// which waits for in-flight messages.
type Router interface {
	Run(ctx context.Context) error
	Running() chan struct{}
	Close() error
}

// Server is the HTTP server (httpserver.Server): Serve serves until its
// context ends, then stops accepting and drains.
type Server interface {
	Serve(ctx context.Context) error
	Addr() string
}

// Relay is the outbox relay (outbox.Relay): Run relays until its context
// ends.
type Relay interface {
	Run(ctx context.Context) error
}

// Worker is a background loop: notifier's dispatcher, pruners, gauges. Run
// works until its context ends, then finishes the item in hand and returns.
type Worker struct {
	Name string
	Run  func(ctx context.Context) error
}

// DrainTimeout bounds how long shutdown waits for the relay to empty the
// outbox; the rest goes out on the next start, so waiting only shortens
// the delay and must not hold the process past its grace period.
const DrainTimeout = 5 * time.Second

// Parts is a wired service as Run sees it. Logger and HTTP are required.
type Parts struct {
	// Name starts the "<name> ready" log line (compliance/run.sh waits for
	// "ingest ready").
	Name   string
	Logger *slog.Logger
	// HTTP starts serving once every router is running, so /readyz is
	// honest from the first request on.
	HTTP    Server
	Routers []Router
	Workers []Worker
	// Relay, if set, stops after everything that writes to the outbox.
	Relay Relay
	// Backlog counts outbox rows not yet relayed (outbox.Backlog); with it,
	// shutdown waits up to DrainTimeout for the relay to reach zero.
	Backlog func(context.Context) (int64, error)
	// Close releases connections once everything has stopped (Closers.Close).
	Close func() error
	// ReadyAttrs are logged with the ready line.
	ReadyAttrs []any
}

// drainPoll is how often shutdown looks at the outbox backlog.
const drainPoll = 20 * time.Millisecond

// Run starts p's parts and runs them until ctx ends or one of them fails,
// then shuts down in the order the package comment explains. It returns nil
// after a stop asked for through ctx, and the first failure otherwise.
func Run(ctx context.Context, p Parts) (err error) {
	if p.Logger == nil || p.HTTP == nil {
		panic("lifecycle: Parts need a Logger and an HTTP server")
	}
	defer func() {
		if p.Close != nil {
			err = errors.Join(err, p.Close())
		}
	}()
	g, gctx := errgroup.WithContext(ctx)
	// Everything but the routers gets a context that only the shutdown
	// sequence below cancels, so that it decides when each part stops.
	detached := context.WithoutCancel(ctx)
	httpCtx, stopHTTP := context.WithCancel(detached)
	workCtx, stopWork := context.WithCancel(detached)
	relayCtx, stopRelay := context.WithCancel(detached)
	defer stopHTTP()
	defer stopWork()
	defer stopRelay()

	for _, r := range p.Routers {
		g.Go(func() error {
			err := r.Run(detached)
			if gctx.Err() != nil && !running(r) {
				return nil // closed before it ever ran: a stop during start-up
			}
			return stopped("message router", err, gctx)
		})
	}
	var workers sync.WaitGroup
	for _, w := range p.Workers {
		workers.Add(1)
		g.Go(func() error {
			defer workers.Done()
			return stopped(w.Name, w.Run(workCtx), gctx)
		})
	}
	// relayStopping is set when shutdown stops the relay. Watermill's
	// forwarder can fail while it is being stopped (a poll cut short, its
	// router's close timing out); nothing is lost then — unsent rows stay in
	// the outbox for the next start — so that is a warning, not Run's error.
	var relayStopping atomic.Bool
	if p.Relay != nil {
		g.Go(func() error {
			err := p.Relay.Run(relayCtx)
			if relayStopping.Load() && err != nil && !errors.Is(err, context.Canceled) {
				p.Logger.Warn("outbox relay failed while stopping; unsent events are relayed on the next start", "err", err)
				return nil
			}
			return stopped("outbox relay", err, gctx)
		})
	}
	httpDone := make(chan struct{})
	g.Go(func() error {
		defer close(httpDone)
		for _, r := range p.Routers {
			select {
			case <-r.Running():
			case <-gctx.Done():
				return nil
			}
		}
		p.Logger.Info(p.Name+" ready", append([]any{"addr", p.HTTP.Addr()}, p.ReadyAttrs...)...)
		return stopped("http server", p.HTTP.Serve(httpCtx), gctx)
	})
	g.Go(func() error {
		<-gctx.Done()
		p.Logger.Info("shutting down")
		errs := make([]error, len(p.Routers))
		var closing sync.WaitGroup
		for i, r := range p.Routers {
			closing.Go(func() { errs[i] = r.Close() })
		}
		stopHTTP()
		stopWork()
		closing.Wait()
		<-httpDone
		workers.Wait()
		if p.Relay != nil {
			if p.Backlog != nil {
				drain(p.Logger, p.Backlog)
			}
			relayStopping.Store(true)
			stopRelay()
		}
		return errors.Join(errs...)
	})
	err = g.Wait()
	if err == nil {
		p.Logger.Info("stopped")
	}
	return err
}

func running(r Router) bool {
	select {
	case <-r.Running():
		return true
	default:
		return false
	}
}

// stopped turns a part's return into Run's verdict: during shutdown only
// real errors count; before it, returning at all is a failure.
func stopped(what string, err error, shutdown context.Context) error {
	if shutdown.Err() != nil {
		if err == nil || errors.Is(err, context.Canceled) {
			return nil
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	if err == nil {
		return fmt.Errorf("%s stopped unexpectedly", what)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// drain waits, up to DrainTimeout, for the outbox backlog to reach zero.
func drain(log *slog.Logger, backlog func(context.Context) (int64, error)) {
	ctx, cancel := context.WithTimeout(context.Background(), DrainTimeout)
	defer cancel()
	tick := time.NewTicker(drainPoll)
	defer tick.Stop()
	for {
		n, err := backlog(ctx)
		if err == nil && n == 0 {
			return
		}
		select {
		case <-ctx.Done():
			log.Warn("outbox not drained before shutdown; the rest is sent on the next start", "backlog", n, "err", err)
			return
		case <-tick.C:
		}
	}
}

// Every returns a worker body that calls fn at once and then every
// interval until its context ends.
func Every(interval time.Duration, fn func(context.Context)) func(context.Context) error {
	return func(ctx context.Context) error {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			fn(ctx)
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	}
}

// Closers releases what a service opened, last opened first, so nothing is
// closed while something opened after it still uses it. New adds each
// resource right after opening it and calls Close if it fails part-way;
// Run calls Close at the end.
type Closers struct {
	mu  sync.Mutex
	fns []func() error
}

// Add registers fn to run on Close.
func (c *Closers) Add(fn func() error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fns = append(c.fns, fn)
}

// Close runs every registered function once, in reverse order, and joins
// their errors. Later calls do nothing.
func (c *Closers) Close() error {
	c.mu.Lock()
	fns := c.fns
	c.fns = nil
	c.mu.Unlock()
	var errs []error
	for i := len(fns) - 1; i >= 0; i-- {
		errs = append(errs, fns[i]())
	}
	return errors.Join(errs...)
}
