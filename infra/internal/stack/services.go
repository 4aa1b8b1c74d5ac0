package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"example.com/creativesync/infra/internal/devstack"
)

const (
	readyTimeout = 60 * time.Second
	// stopGrace is how long a service gets to drain after SIGTERM; the
	// services' own shutdown budget (router CloseTimeout 15 s) fits in it.
	stopGrace = 20 * time.Second
)

// Options vary how StartServices runs the services; the zero value is what
// `stack up` does apart from its demo account.
type Options struct {
	// Ports is shared with EnsureServers so one stack never hands out a
	// port twice; nil makes a new one.
	Ports *devstack.Ports
	// DatabaseName names each service's database; nil is
	// devstack.DatabaseName (creativesync_<service>).
	DatabaseName func(service string) string
	// AnyPort gives the services free ports instead of preferring the
	// documented defaults, so a second pipeline leaves them to `make run`.
	AnyPort bool
	// ProcOut receives the services' output, line by line and prefixed with
	// the service's name, besides its log file; nil is the console.
	ProcOut io.Writer
	// LogDir holds <service>.log; empty is DataDir/logs.
	LogDir string
	// BinDir receives the binaries; empty is DataDir/bin.
	BinDir string
	// BeforeStart runs once the binaries are built and the environments
	// set, before any service starts (`stack up` bootstraps its demo
	// account there).
	BeforeStart func(ctx context.Context, s *Services) error
}

// Services are the three services of one stack, running.
type Services struct {
	BinDir       string
	LogDir       string
	Ports        map[string]int      // HTTP port per service
	DatabaseURLs map[string]string   // each service's own database
	Env          map[string][]string // each service's whole environment
	Topics       []string            // the streams provisioned
	Procs        []*devstack.Proc    // in devstack.Services order
	con          *Console
}

// StartServices provisions the databases and streams on s, builds the
// services from the tree, starts them and waits until every one is ready.
// On error nothing it started is left running.
func StartServices(ctx context.Context, cfg Config, con *Console, s Servers, o Options) (*Services, error) {
	if o.Ports == nil {
		o.Ports = &devstack.Ports{}
	}
	if o.DatabaseName == nil {
		o.DatabaseName = devstack.DatabaseName
	}
	if o.LogDir == "" {
		o.LogDir = filepath.Join(cfg.DataDir, "logs")
	}
	if o.BinDir == "" {
		o.BinDir = filepath.Join(cfg.DataDir, "bin")
	}
	procOut := o.ProcOut
	if procOut == nil {
		procOut = con.W
	}
	svcs := &Services{BinDir: o.BinDir, LogDir: o.LogDir, Ports: map[string]int{},
		Env: map[string][]string{}, con: con}

	names := make([]string, len(devstack.Services))
	for i, svc := range devstack.Services {
		names[i] = svc.Name
	}
	var err error
	if svcs.DatabaseURLs, err = devstack.ProvisionNamedDatabases(ctx, s.PG.URL, o.DatabaseName, names...); err != nil {
		return nil, err
	}
	if svcs.Topics, err = devstack.ProvisionStreams(s.NATS.URL, cfg.TopicPrefix); err != nil {
		return nil, err
	}
	con.Logf("provisioned databases %s and %d streams (%s)", strings.Join(mapNames(names, o.DatabaseName), ", "),
		len(svcs.Topics), strings.Join(svcs.Topics, ", "))

	con.Logf("building %s into %s", strings.Join(names, ", "), svcs.BinDir)
	start := time.Now()
	if err := devstack.BuildServices(ctx, cfg.Root, svcs.BinDir, con.W, names...); err != nil {
		return nil, err
	}
	con.Logf("built in %s", time.Since(start).Round(time.Millisecond))

	for _, svc := range devstack.Services {
		want := svc.DefaultPort
		if o.AnyPort {
			want = 0
		}
		port, err := o.Ports.Prefer(want)
		if err != nil {
			return nil, err
		}
		if !o.AnyPort && port != svc.DefaultPort {
			con.Logf("port %d is taken; %s gets %d", svc.DefaultPort, svc.Name, port)
		}
		svcs.Ports[svc.Name] = port
	}
	for _, svc := range devstack.Services {
		svcs.Env[svc.Name] = ServiceEnv(cfg, svc.Name, svcs.DatabaseURLs[svc.Name], s.NATS.URL, svcs.Ports)
	}
	if o.BeforeStart != nil {
		if err := o.BeforeStart(ctx, svcs); err != nil {
			return nil, err
		}
	}

	for _, svc := range devstack.Services {
		p, err := devstack.StartProc(svc.Name, svcs.Bin(svc.Name), nil, svcs.Env[svc.Name],
			procOut, con.Mu, filepath.Join(svcs.LogDir, svc.Name+".log"))
		if err != nil {
			svcs.Stop()
			return nil, err
		}
		svcs.Procs = append(svcs.Procs, p)
	}
	if procOut == con.W {
		con.Logf("services started; logs are shown here prefixed by service and kept in %s/<service>.log", svcs.LogDir)
	} else {
		con.Logf("services started; logs in %s/<service>.log", svcs.LogDir)
	}
	if err := svcs.waitAllReady(ctx); err != nil {
		svcs.Stop()
		return nil, err
	}
	return svcs, nil
}

// Bin is the path of a service's binary.
func (s *Services) Bin(name string) string { return filepath.Join(s.BinDir, name) }

// URL is a service's base URL.
func (s *Services) URL(name string) string {
	return "http://127.0.0.1:" + strconv.Itoa(s.Ports[name])
}

// Proc returns the running service called name, or nil.
func (s *Services) Proc(name string) *devstack.Proc {
	for _, p := range s.Procs {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Exited receives each service that exits, whatever the reason.
func (s *Services) Exited() <-chan *devstack.Proc {
	exited := make(chan *devstack.Proc, len(s.Procs))
	for _, p := range s.Procs {
		go func() { <-p.Done(); exited <- p }()
	}
	return exited
}

// Stop stops the services together, so the total wait is one grace period
// rather than one per service.
func (s *Services) Stop() {
	if len(s.Procs) == 0 {
		return
	}
	var wg sync.WaitGroup
	for _, p := range s.Procs {
		wg.Go(func() { p.Stop(stopGrace) })
	}
	wg.Wait()
	s.Procs = nil
	s.con.Logf("services stopped")
}

func (s *Services) waitAllReady(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, len(s.Procs))
	for i, p := range s.Procs {
		wg.Go(func() {
			if err := devstack.WaitReady(ctx, s.URL(p.Name)+"/readyz", readyTimeout, p.Done()); err != nil {
				errs[i] = fmt.Errorf("%s is not ready: %w; its log: %s", p.Name, err, p.LogPath)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// ServiceEnv is the environment of one service: everything the user set,
// with ours on top (exec keeps the last of duplicate keys).
func ServiceEnv(cfg Config, svc, dbURL, natsURL string, httpPorts map[string]int) []string {
	env := append(cfg.Environ[:len(cfg.Environ):len(cfg.Environ)],
		"DATABASE_URL="+dbURL,
		"NATS_URL="+natsURL,
		"HTTP_ADDR=127.0.0.1:"+strconv.Itoa(httpPorts[svc]),
		"TOPIC_PREFIX="+cfg.TopicPrefix,
		"LOG_LEVEL="+cfg.LogLevel,
	)
	switch svc {
	case "ingest":
		env = append(env, "PUBLIC_BASE_URL=http://127.0.0.1:"+strconv.Itoa(httpPorts["ingest"]),
			// Dev only: account subscribers' test endpoints listen on
			// localhost, which the webhook challenge refuses by default.
			"WEBHOOK_ALLOW_PRIVATE_TARGETS=true")
	case "review":
		env = append(env, "REVIEWER_TOKEN="+cfg.ReviewerToken)
		// Demo, load and compliance creatives name placeholder asset URLs
		// (cdn.example.com): development does not fetch them unless asked.
		if !hasEnv(cfg.Environ, "REVIEW_INSPECT_ASSETS") {
			env = append(env, "REVIEW_INSPECT_ASSETS=false")
		}
	case "notifier":
		// Dev only: buyers' test receivers listen on localhost, which the
		// notifier refuses by default to avoid SSRF.
		env = append(env, "NOTIFIER_ALLOW_PRIVATE_TARGETS=true")
	}
	return env
}

func mapNames(in []string, f func(string) string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}

// hasEnv reports whether environ sets key.
func hasEnv(environ []string, key string) bool {
	for _, kv := range environ {
		if strings.HasPrefix(kv, key+"=") {
			return true
		}
	}
	return false
}
