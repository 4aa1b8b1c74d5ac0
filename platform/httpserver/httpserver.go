// Package httpserver runs a service's HTTP listener with the endpoints every
// service has (/healthz, /readyz, /metrics) and shuts it down gracefully.
package httpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check is one readiness dependency (Postgres, NATS).
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
	// Degraded marks a dependency the service works on without (it serves
	// from what it last knew): its failure is reported as
	// "degraded: <error>" in /readyz's body but leaves the status 200, so
	// a load balancer does not take every replica out for it.
	Degraded bool
}

// Ops mounts /healthz (the process is up), /readyz (every check passes) and
// /metrics on mux.
func Ops(mux *http.ServeMux, reg *prometheus.Registry, checks ...Check) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		status := http.StatusOK
		res := map[string]string{}
		for _, c := range checks {
			if err := c.Fn(ctx); err != nil && c.Degraded {
				res[c.Name] = "degraded: " + err.Error()
			} else if err != nil {
				status = http.StatusServiceUnavailable
				res[c.Name] = err.Error()
			} else {
				res[c.Name] = "ok"
			}
		}
		writeJSON(w, status, res)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
}

// Handler returns a service's whole HTTP handler: the ops endpoints (Ops)
// and the routes mount adds, usually the method value httpapi.(*API).Routes.
// Every service builds its handler this way, so the ops endpoints the stack
// and the tests poll are the same everywhere and an API package lists only
// its own routes.
func Handler(reg *prometheus.Registry, checks []Check, mount func(*http.ServeMux)) http.Handler {
	mux := http.NewServeMux()
	Ops(mux, reg, checks...)
	mount(mux)
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// NewRegistry returns a registry with the Go and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Server is a listening HTTP server.
type Server struct {
	srv *http.Server
	ln  net.Listener
	log *slog.Logger
}

// Listen binds addr (":0" picks a free port) so the caller knows the address
// before serving starts.
func Listen(addr string, h http.Handler, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	return &Server{
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       60 * time.Second,
			WriteTimeout:      120 * time.Second,
			IdleTimeout:       120 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		ln:  ln,
		log: log,
	}, nil
}

// Addr is the bound address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve serves until ctx ends, then stops accepting and waits up to 15 s for
// in-flight requests.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("http shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close releases the listener of a server that is not serving (start-up
// failed after Listen); a serving server is stopped by ending Serve's context.
func (s *Server) Close() error {
	if err := s.srv.Close(); err != nil {
		return err
	}
	if err := s.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}
