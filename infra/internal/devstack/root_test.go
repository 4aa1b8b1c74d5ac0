package devstack

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestFindRoot(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "go.work"), "go 1.26\n")
	deep := filepath.Join(root, "services", "ingest", "internal")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	// A directory named go.work is not a workspace file.
	if err := os.Mkdir(filepath.Join(root, "services", "go.work"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{root, deep, filepath.Join(root, "services")} {
		got, err := FindRoot(dir)
		if err != nil || got != root {
			t.Errorf("FindRoot(%s) = %q, %v; want %q", dir, got, err, root)
		}
	}
}

func TestFindRootOutsideRepository(t *testing.T) {
	t.Parallel()
	if _, err := FindRoot(t.TempDir()); err == nil {
		t.Fatal("FindRoot outside any workspace: want an error")
	}
}

func TestFindRootOfThisRepository(t *testing.T) {
	t.Parallel()
	root, err := FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "infra", "go.mod")); err != nil {
		t.Fatalf("root %s has no infra/go.mod: %v", root, err)
	}
}

func TestPortsFreeAreDistinctAndBindable(t *testing.T) {
	t.Parallel()
	var p Ports
	seen := map[int]bool{}
	for range 10 {
		port, err := p.Free()
		if err != nil {
			t.Fatal(err)
		}
		if seen[port] {
			t.Fatalf("port %d handed out twice", port)
		}
		seen[port] = true
		if !PortFree(port) {
			t.Fatalf("port %d is not bindable", port)
		}
	}
}

func TestPortsPrefer(t *testing.T) {
	t.Parallel()
	var p Ports
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := ln.Addr().(*net.TCPAddr).Port

	got, err := p.Prefer(taken)
	if err != nil {
		t.Fatal(err)
	}
	if got == taken {
		t.Fatalf("Prefer(%d) returned the taken port", taken)
	}

	want, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := p.Prefer(want); got != want {
		t.Fatalf("Prefer(%d) = %d; want the free port itself", want, got)
	}
	// The same preference twice in one stack must not collide.
	if again, _ := p.Prefer(want); again == want {
		t.Fatalf("Prefer(%d) handed out %d twice", want, again)
	}
}

func TestPortFree(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if PortFree(port) {
		t.Errorf("PortFree(%d) while listening = true", port)
	}
	ln.Close()
	if !PortFree(port) {
		t.Errorf("PortFree(%d) after close = false", port)
	}
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}

// unusedURL returns a URL on a loopback port where nothing listens.
func unusedURL(t *testing.T, scheme string) string {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return scheme + "://127.0.0.1:" + strconv.Itoa(port)
}

func TestTryLock(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nats.lock")
	release, ok, err := TryLock(path)
	if err != nil || !ok {
		t.Fatalf("first TryLock = %v, %v; want the lock", ok, err)
	}
	// flock locks belong to the open file, so a second open in this process
	// contends like another stack would.
	if _, ok, err := TryLock(path); err != nil || ok {
		t.Fatalf("second TryLock = %v, %v; want it refused", ok, err)
	}
	release()
	release2, ok, err := TryLock(path)
	if err != nil || !ok {
		t.Fatalf("TryLock after release = %v, %v; want the lock", ok, err)
	}
	release2()
}
