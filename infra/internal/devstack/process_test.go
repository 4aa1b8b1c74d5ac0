package devstack

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestDemoAPIKeyIsMadeOnceAndKept(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), ".data")
	key, err := DemoAPIKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^demo_[0-9a-f]{64}$`).MatchString(key) {
		t.Fatalf("key %q: want demo_ and 64 hex digits", key)
	}
	again, err := DemoAPIKey(dir)
	if err != nil || again != key {
		t.Fatalf("second call = %q, %v; want the stored key %q", again, err, key)
	}
	fi, err := os.Stat(filepath.Join(dir, "demo_api_key"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("demo_api_key mode %v: want it private", fi.Mode().Perm())
	}
	other, _ := DemoAPIKey(t.TempDir())
	if other == key {
		t.Error("two data dirs got the same key")
	}
}

func TestStartProcPrefixesAndLogs(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	var mu sync.Mutex
	logPath := filepath.Join(t.TempDir(), "logs", "svc.log")
	p, err := StartProc("svc", "/bin/sh", []string{"-c", `echo "one $FOO"; printf 'two'; exit 3`},
		append(os.Environ(), "FOO=bar"), &out, &mu, logPath)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("process did not exit")
	}
	var ee *exec.ExitError
	if !errors.As(p.Err(), &ee) || ee.ExitCode() != 3 {
		t.Fatalf("Err = %v; want exit status 3", p.Err())
	}
	mu.Lock()
	got := out.String()
	mu.Unlock()
	if want := "svc      | one bar\nsvc      | two\n"; got != want {
		t.Errorf("stdout = %q; want %q", got, want)
	}
	raw, _ := os.ReadFile(logPath)
	if string(raw) != "one bar\ntwo" {
		t.Errorf("log = %q; want the raw output", raw)
	}
}

func TestProcStopEscalatesToKill(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	// The shell ignores SIGTERM, as a hung service would.
	p, err := StartProc("stubborn", "/bin/sh", []string{"-c", `trap '' TERM; echo ready; while :; do sleep 0.1; done`},
		os.Environ(), &out, &sync.Mutex{}, filepath.Join(t.TempDir(), "s.log"))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	p.Stop(500 * time.Millisecond)
	if d := time.Since(start); d < 400*time.Millisecond || d > 5*time.Second {
		t.Errorf("Stop took %s; want about the grace period", d)
	}
	select {
	case <-p.Done():
	default:
		t.Fatal("process still running after Stop")
	}
}

func TestWaitReady(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		if calls.Add(1) < 3 {
			http.Error(w, `{"postgres":"starting"}`, http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	if err := WaitReady(context.Background(), srv.URL+"/readyz", 10*time.Second, nil); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 {
		t.Errorf("%d calls; want polling until the third answered 200", calls.Load())
	}
}

func TestWaitReadyTimesOutWithLastAnswer(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"nats":"down"}`, http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	err := WaitReady(context.Background(), srv.URL+"/readyz", 600*time.Millisecond, nil)
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "nats") {
		t.Fatalf("err = %v; want the last 503 answer in it", err)
	}
}

func TestWaitReadyStopsWhenProcessExits(t *testing.T) {
	t.Parallel()
	exited := make(chan struct{})
	close(exited)
	start := time.Now()
	err := WaitReady(context.Background(), unusedURL(t, "http")+"/readyz", 30*time.Second, exited)
	if err == nil || !strings.Contains(err.Error(), "exited") {
		t.Fatalf("err = %v; want a note that the process exited", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %s; want to stop as soon as the process is gone", time.Since(start))
	}
}

func TestPrefixWriterKeepsLinesWhole(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	var mu sync.Mutex
	a := &prefixWriter{mu: &mu, w: &out, prefix: "a | "}
	b := &prefixWriter{mu: &mu, w: &out, prefix: "b | "}
	a.Write([]byte("hel"))
	b.Write([]byte("x\ny"))
	a.Write([]byte("lo\n"))
	b.flush()
	if got, want := out.String(), "b | x\na | hello\nb | y\n"; got != want {
		t.Fatalf("got %q; want %q", got, want)
	}
}
