// Package config reads a service's environment: strings with defaults,
// numbers and durations within bounds, URLs, lists, and the variables every
// service shares (DATABASE_URL, NATS_URL, HTTP_ADDR, TOPIC_PREFIX, LOG_LEVEL,
// OUTBOX_POLL_INTERVAL).
//
// Every reader records what is wrong instead of stopping, so one start of a
// misconfigured service names every bad variable at once rather than one per
// restart. Each problem starts with the variable's name.
package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"example.com/creativesync/platform/broker"
)

// Bounds for Int and Duration that read as words in error messages.
const (
	NoMaxInt = math.MaxInt                  // no upper bound
	NoMaxDur = time.Duration(math.MaxInt64) // no upper bound
	Positive = time.Nanosecond              // lower bound of a duration that must be > 0
)

// DefaultNATSURL is the local JetStream server of the dev stack and CI.
const DefaultNATSURL = "nats://127.0.0.1:4222"

// Env reads variables through getenv and collects every problem.
type Env struct {
	getenv   func(string) string
	problems []error
}

// New returns an Env over getenv (os.Getenv in main, a map in tests).
func New(getenv func(string) string) *Env { return &Env{getenv: getenv} }

// Problem records a problem that a reader cannot see, such as two variables
// that contradict each other. Start format with the variable's name.
func (e *Env) Problem(format string, args ...any) {
	e.problems = append(e.problems, fmt.Errorf(format, args...))
}

// Err returns every recorded problem as one *Error, or nil.
func (e *Env) Err() error {
	if len(e.problems) == 0 {
		return nil
	}
	return &Error{Problems: append([]error(nil), e.problems...)}
}

// Error is an invalid configuration: one line per problem.
type Error struct{ Problems []error }

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("invalid configuration:")
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap gives errors.Is and errors.As every problem.
func (e *Error) Unwrap() []error { return e.Problems }

// lookup returns the variable with surrounding space trimmed: a trailing
// newline from a secrets file or a stray space in a manifest is never
// meant as part of the value.
func (e *Env) lookup(key string) (string, bool) {
	v := strings.TrimSpace(e.getenv(key))
	return v, v != ""
}

// String returns the variable, or def when it is unset or blank.
func (e *Env) String(key, def string) string {
	if v, ok := e.lookup(key); ok {
		return v
	}
	return def
}

// Required returns the variable, recording "KEY is required (hint)" when it
// is unset or blank. hint shows what a value looks like.
func (e *Env) Required(key, hint string) string {
	v, ok := e.lookup(key)
	if !ok {
		e.Problem("%s is required (%s)", key, hint)
	}
	return v
}

// Int returns the variable as an integer in [lo, hi] (NoMaxInt: no upper
// bound), or def when unset. An unparsable value also yields def, so later
// checks that combine variables see a sane number.
func (e *Env) Int(key string, def, lo, hi int) int {
	v, ok := e.lookup(key)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		e.Problem("%s: %q is not an integer", key, v)
		return def
	}
	if n < lo || n > hi {
		e.Problem("%s %s, got %d", key, intBounds(lo, hi), n)
	}
	return n
}

func intBounds(lo, hi int) string {
	switch {
	case hi != NoMaxInt:
		return fmt.Sprintf("must be between %d and %d", lo, hi)
	case lo == 0:
		return "must not be negative"
	default:
		return fmt.Sprintf("must be at least %d", lo)
	}
}

// Float returns the variable as a finite number in [lo, hi], or def.
func (e *Env) Float(key string, def, lo, hi float64) float64 {
	v, ok := e.lookup(key)
	if !ok {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		e.Problem("%s: %q is not a number", key, v)
		return def
	}
	if f < lo || f > hi {
		e.Problem("%s must be between %v and %v, got %v", key, lo, hi, f)
	}
	return f
}

// Duration returns the variable in Go syntax (500ms, 10s, 1h) within
// [lo, hi], or def. lo = Positive and hi = NoMaxDur read as "must be
// positive".
func (e *Env) Duration(key string, def, lo, hi time.Duration) time.Duration {
	v, ok := e.lookup(key)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		e.Problem("%s: %q is not a duration (use e.g. 500ms, 10s, 1h)", key, v)
		return def
	}
	if d < lo || d > hi {
		e.Problem("%s %s, got %s", key, durBounds(lo, hi), d)
	}
	return d
}

func durBounds(lo, hi time.Duration) string {
	switch {
	case hi != NoMaxDur && lo == Positive:
		return fmt.Sprintf("must be positive and at most %s", hi)
	case hi != NoMaxDur:
		return fmt.Sprintf("must be between %s and %s", lo, hi)
	case lo == 0:
		return "must not be negative"
	case lo == Positive:
		return "must be positive"
	default:
		return fmt.Sprintf("must be at least %s", lo)
	}
}

// Bool returns the variable as a boolean (true/false, 1/0, t/f), or def.
func (e *Env) Bool(key string, def bool) bool {
	v, ok := e.lookup(key)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.Problem("%s: %q is not true or false", key, v)
		return def
	}
	return b
}

// List returns the comma-separated items of the variable, trimmed, without
// empty ones; nil when unset.
func (e *Env) List(key string) []string {
	v, _ := e.lookup(key)
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// URL returns the variable (or def) after checking it is an absolute URL
// with a host and one of schemes.
func (e *Env) URL(key, def string, schemes ...string) string {
	v := e.String(key, def)
	if err := checkURL(v, schemes); err != nil {
		e.Problem("%s %q %v", key, redact(v), err)
	}
	return v
}

// URLList returns the comma-separated URLs of the variable (nil when unset),
// reporting each one that is not an absolute URL with a host and one of
// schemes.
func (e *Env) URLList(key string, schemes ...string) []string {
	list := e.List(key)
	for i, v := range list {
		if err := checkURL(v, schemes); err != nil {
			e.Problem("%s item %d %q %v", key, i+1, redact(v), err)
		}
	}
	return list
}

func checkURL(v string, schemes []string) error {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || !contains(schemes, u.Scheme) {
		return fmt.Errorf("must be an absolute %s URL with a host", strings.Join(schemes, " or "))
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// redact hides the password of a URL before it goes into an error message.
func redact(v string) string {
	u, err := url.Parse(v)
	if err != nil || u.User == nil {
		return v
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Log levels logging.New accepts.
var logLevels = []string{"debug", "info", "warn", "error"}

// LogLevel returns LOG_LEVEL in lower case (default info).
func (e *Env) LogLevel() string {
	lvl := strings.ToLower(e.String("LOG_LEVEL", "info"))
	if !contains(logLevels, lvl) {
		e.Problem("LOG_LEVEL must be debug, info, warn or error, got %q", lvl)
	}
	return lvl
}

// Service is the configuration every service reads.
type Service struct {
	// DatabaseURL (DATABASE_URL, required) is the service's own Postgres
	// database, as a postgres:// URL.
	DatabaseURL string
	// NATSURL (NATS_URL, default nats://127.0.0.1:4222) is the JetStream
	// server; a comma-separated list names the servers of a cluster.
	NATSURL string
	// HTTPAddr (HTTP_ADDR, default per service) is host:port of the API
	// and the ops endpoints; ":0" picks a free port.
	HTTPAddr string
	// TopicPrefix (TOPIC_PREFIX, default empty) goes in front of every
	// stream and subject, so several stacks share one NATS server.
	TopicPrefix string
	// LogLevel (LOG_LEVEL, default info) is debug, info, warn or error.
	LogLevel string
}

// Service reads the shared variables; httpAddr is the service's default
// HTTP_ADDR and database the name its DATABASE_URL example shows.
func (e *Env) Service(httpAddr, database string) Service {
	s := Service{
		DatabaseURL: e.Required("DATABASE_URL", "postgres://user@host:5432/"+database+"?sslmode=disable"),
		NATSURL:     e.String("NATS_URL", DefaultNATSURL),
		HTTPAddr:    e.String("HTTP_ADDR", httpAddr),
		TopicPrefix: e.String("TOPIC_PREFIX", ""),
		LogLevel:    e.LogLevel(),
	}
	if s.DatabaseURL != "" {
		if err := checkPostgresURL(s.DatabaseURL); err != nil {
			e.Problem("DATABASE_URL %v", err)
		}
	}
	for _, server := range strings.Split(s.NATSURL, ",") {
		server = strings.TrimSpace(server)
		if err := checkURL(server, []string{"nats", "tls"}); err != nil {
			e.Problem("NATS_URL: %q must be nats://host:port or tls://host:port (comma-separated for a cluster)", redact(server))
		}
	}
	if err := checkHostPort(s.HTTPAddr); err != nil {
		e.Problem("HTTP_ADDR %q %v", s.HTTPAddr, err)
	}
	if err := broker.CheckPrefix(s.TopicPrefix); err != nil {
		e.Problem("TOPIC_PREFIX %q %v", s.TopicPrefix, err)
	}
	return s
}

// checkPostgresURL insists on the URL form. lib/pq would also take
// "host=… password=…" strings, but pgdb.Redact can only hide the password
// of a URL, and the value is never echoed here for the same reason.
func checkPostgresURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return errors.New("must be a postgres:// URL such as postgres://user@host:5432/db?sslmode=disable (key=value connection strings are not accepted)")
	}
	return nil
}

func checkHostPort(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("must be host:port, e.g. 127.0.0.1:8080 or :8080")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("has port %q; want a number from 0 to 65535", port)
	}
	return nil
}

// OutboxPollInterval reads OUTBOX_POLL_INTERVAL (default 50ms, 1ms–1m): how
// often an idle relay looks for new outbox rows when no commit woke it (its
// LISTEN connection is down); beyond a minute events would look lost.
func (e *Env) OutboxPollInterval() time.Duration {
	return e.Duration("OUTBOX_POLL_INTERVAL", 50*time.Millisecond, time.Millisecond, time.Minute)
}
