package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"example.com/creativesync/platform/config"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestServiceDefaults(t *testing.T) {
	t.Parallel()
	env := config.New(envOf(map[string]string{"DATABASE_URL": " postgres://postgres@127.0.0.1:5432/x?sslmode=disable\n"}))
	s := env.Service("127.0.0.1:8081", "x")
	poll := env.OutboxPollInterval()
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
	want := config.Service{
		DatabaseURL: "postgres://postgres@127.0.0.1:5432/x?sslmode=disable",
		NATSURL:     "nats://127.0.0.1:4222",
		HTTPAddr:    "127.0.0.1:8081",
		LogLevel:    "info",
	}
	if s != want || poll != 50*time.Millisecond {
		t.Fatalf("got %+v, poll %s", s, poll)
	}
}

func TestServiceAcceptsWhatServersAccept(t *testing.T) {
	t.Parallel()
	env := config.New(envOf(map[string]string{
		"DATABASE_URL": "postgresql:///review?host=/var/run/postgresql",
		"NATS_URL":     "nats://a:4222, tls://user:pw@b:4222",
		"HTTP_ADDR":    ":0",
		"TOPIC_PREFIX": "Stage-2_ünï$",
		"LOG_LEVEL":    "WARN",
	}))
	s := env.Service(":8080", "review")
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
	if s.LogLevel != "warn" || s.TopicPrefix != "Stage-2_ünï$" {
		t.Fatalf("got %+v", s)
	}
}

// Each bad value is reported with the variable's name and what is wrong,
// and a password in a URL never reaches the message.
func TestServiceRejects(t *testing.T) {
	t.Parallel()
	base := map[string]string{"DATABASE_URL": "postgres://u@h/db"}
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no database", map[string]string{"DATABASE_URL": " "}, "DATABASE_URL is required (postgres://user@host:5432/svc?sslmode=disable)"},
		{"database as key=value", map[string]string{"DATABASE_URL": "host=x password=hunter2"}, "DATABASE_URL must be a postgres:// URL"},
		{"database scheme", map[string]string{"DATABASE_URL": "mysql://u:hunter2@h/db"}, "DATABASE_URL must be a postgres:// URL"},
		{"nats scheme", map[string]string{"NATS_URL": "http://u:hunter2@x:4222"}, `NATS_URL: "http://u:xxxxx@x:4222" must be nats://host:port`},
		{"nats second server", map[string]string{"NATS_URL": "nats://a:4222,b:4222"}, `NATS_URL: "b:4222"`},
		{"http addr", map[string]string{"HTTP_ADDR": "8080"}, `HTTP_ADDR "8080" must be host:port`},
		{"http port", map[string]string{"HTTP_ADDR": ":http"}, `HTTP_ADDR ":http" has port "http"`},
		{"log level", map[string]string{"LOG_LEVEL": "loud"}, `LOG_LEVEL must be debug, info, warn or error, got "loud"`},
		{"dotted prefix", map[string]string{"TOPIC_PREFIX": "stage.1_"}, `TOPIC_PREFIX "stage.1_" has '.' at byte 5: a dot separates subject tokens`},
		{"wildcard prefix", map[string]string{"TOPIC_PREFIX": "a*"}, `TOPIC_PREFIX "a*" has '*' at byte 1: '*' and '>' are subject wildcards`},
		{"full wildcard", map[string]string{"TOPIC_PREFIX": "a>"}, `has '>' at byte 1`},
		{"slash prefix", map[string]string{"TOPIC_PREFIX": "a/b"}, "path separators are not allowed"},
		{"backslash prefix", map[string]string{"TOPIC_PREFIX": `a\b`}, "path separators are not allowed"},
		{"tab prefix", map[string]string{"TOPIC_PREFIX": "a\tb"}, "whitespace ends a subject"},
		{"control prefix", map[string]string{"TOPIC_PREFIX": "a\x00b"}, "control characters are not allowed"},
		{"invalid utf-8 prefix", map[string]string{"TOPIC_PREFIX": "a\xffb"}, "not valid UTF-8"},
		{"long prefix", map[string]string{"TOPIC_PREFIX": strings.Repeat("p", 228)}, "is 228 bytes; it may be at most 227"},
		{"poll not a duration", map[string]string{"OUTBOX_POLL_INTERVAL": "fast"}, `OUTBOX_POLL_INTERVAL: "fast" is not a duration`},
		{"poll too long", map[string]string{"OUTBOX_POLL_INTERVAL": "2m"}, "OUTBOX_POLL_INTERVAL must be between 1ms and 1m0s, got 2m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := map[string]string{}
			for k, v := range base {
				m[k] = v
			}
			for k, v := range tt.env {
				m[k] = v
			}
			env := config.New(envOf(m))
			env.Service(":8080", "svc")
			env.OutboxPollInterval()
			err := env.Err()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("a password reached the message: %v", err)
			}
		})
	}
}

func TestPrefixAtTheLengthLimitIsAccepted(t *testing.T) {
	t.Parallel()
	env := config.New(envOf(map[string]string{"DATABASE_URL": "postgres://h/d", "TOPIC_PREFIX": strings.Repeat("p", 227)}))
	env.Service(":0", "d")
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
}

func TestReadersAndBounds(t *testing.T) {
	t.Parallel()
	env := config.New(envOf(map[string]string{
		"N": "7", "BAD_N": "seven", "LOW_N": "0", "NEG_N": "-1",
		"D": "250ms", "NEG_D": "-1s", "ZERO_D": "0s", "BIG_D": "10m",
		"F": "0.25", "NAN_F": "NaN", "BIG_F": "1.5",
		"B": "true", "BAD_B": "maybe",
		"L": " a, ,b ,", "U": "ftp://x", "REQ": "", "UL": "https://a.example, nohost",
	}))
	if n := env.Int("N", 1, 1, 10); n != 7 {
		t.Errorf("Int = %d", n)
	}
	if n := env.Int("BAD_N", 3, 1, 10); n != 3 {
		t.Errorf("unparsable Int = %d, want the default", n)
	}
	env.Int("LOW_N", 4, 1, config.NoMaxInt)
	env.Int("NEG_N", 4, 0, config.NoMaxInt)
	if d := env.Duration("D", time.Second, config.Positive, config.NoMaxDur); d != 250*time.Millisecond {
		t.Errorf("Duration = %s", d)
	}
	if d := env.Duration("UNSET", time.Second, config.Positive, config.NoMaxDur); d != time.Second {
		t.Errorf("unset Duration = %s", d)
	}
	env.Duration("NEG_D", time.Second, config.Positive, config.NoMaxDur)
	env.Duration("ZERO_D", time.Second, config.Positive, 5*time.Minute)
	env.Duration("BIG_D", time.Second, time.Second, time.Minute)
	if f := env.Float("F", 0.5, 0, 1); f != 0.25 {
		t.Errorf("Float = %v", f)
	}
	env.Float("NAN_F", 0.5, 0, 1)
	env.Float("BIG_F", 0.5, 0, 1)
	if !env.Bool("B", false) || env.Bool("BAD_B", false) {
		t.Error("Bool")
	}
	if l := env.List("L"); len(l) != 2 || l[0] != "a" || l[1] != "b" {
		t.Errorf("List = %q", l)
	}
	if l := env.List("UNSET"); l != nil {
		t.Errorf("unset List = %q", l)
	}
	env.URL("U", "", "http", "https")
	if l := env.URLList("UL", "http", "https"); len(l) != 2 {
		t.Errorf("URLList = %q", l)
	}
	env.Required("REQ", "a token")
	env.Problem("A and B contradict")

	err := env.Err()
	var cerr *config.Error
	if !errors.As(err, &cerr) {
		t.Fatalf("Err = %T %v", err, err)
	}
	want := []string{
		`BAD_N: "seven" is not an integer`,
		"LOW_N must be at least 1, got 0",
		"NEG_N must not be negative, got -1",
		"NEG_D must be positive, got -1s",
		"ZERO_D must be positive and at most 5m0s, got 0s",
		"BIG_D must be between 1s and 1m0s, got 10m0s",
		`NAN_F: "NaN" is not a number`,
		"BIG_F must be between 0 and 1, got 1.5",
		`BAD_B: "maybe" is not true or false`,
		`U "ftp://x" must be an absolute http or https URL with a host`,
		`UL item 2 "nohost" must be an absolute http or https URL with a host`,
		"REQ is required (a token)",
		"A and B contradict",
	}
	if len(cerr.Problems) != len(want) {
		t.Fatalf("%d problems, want %d:\n%v", len(cerr.Problems), len(want), err)
	}
	for i, w := range want {
		if got := cerr.Problems[i].Error(); got != w {
			t.Errorf("problem %d = %q, want %q", i, got, w)
		}
	}
	if !strings.HasPrefix(err.Error(), "invalid configuration:\n  BAD_N") {
		t.Errorf("message = %q", err)
	}
}

func TestNoProblemsIsNil(t *testing.T) {
	t.Parallel()
	if err := config.New(envOf(nil)).Err(); err != nil {
		t.Fatal(err)
	}
}
