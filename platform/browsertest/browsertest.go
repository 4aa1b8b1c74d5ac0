// Package browsertest drives pages (the reviewer page) in a real, headless Debian
// Chromium through chromedp. One browser serves a whole test binary (each
// test gets its own browser context, so cookies never leak between
// reviewers); starting Chromium per test would cost seconds each.
//
// Chromium is found on PATH or installed with apt-get when missing (CI and
// fresh machines run as root). If it can be neither found nor installed the
// test fails, loudly: a browser test that skips proves nothing.
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var (
	mu       sync.Mutex
	cancels  []context.CancelFunc
	browser  context.Context
	started  bool
	startErr error
	dataDir  string
)

// chromiumPath finds Debian's chromium, installing the package when it is
// missing and we are root.
func chromiumPath() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	if os.Geteuid() != 0 {
		return "", errors.New("chromium is not installed and this is not root, so it cannot be installed: run `apt-get install -y chromium`")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	var log []byte
	for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", "chromium"}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		log = append(log, out...)
		if err != nil {
			return "", fmt.Errorf("apt-get %v: %w\n%s", args, err, log)
		}
	}
	return exec.LookPath("chromium")
}

// start launches the shared browser once.
func start() error {
	mu.Lock()
	defer mu.Unlock()
	if started {
		return startErr
	}
	started = true
	path, err := chromiumPath()
	if err != nil {
		startErr = err
		return err
	}
	if dataDir, err = os.MkdirTemp("", "review-chromium-"); err != nil {
		startErr = err
		return err
	}
	// A fresh profile, and nothing that talks to the network on its own:
	// tests reach only 127.0.0.1.
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox cannot start
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(dataDir),
		chromedp.WindowSize(1280, 900),
	}
	a, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b, cancelBrowser := chromedp.NewContext(a)
	cancels = append(cancels, cancelBrowser, cancelAlloc)
	// The first Run starts the browser; it must not carry a timeout, which
	// would end the browser with it.
	if err := chromedp.Do(b); err != nil {
		startErr = fmt.Errorf("starting chromium %s: %w", path, err)
		return startErr
	}
	browser = b
	return nil
}

// Session returns a context for a new tab in a new browser context: its own
// cookies, as a second person at another desk would have. It fails the test
// when Chromium cannot start.
func Session(tb testing.TB) context.Context {
	tb.Helper()
	if err := start(); err != nil {
		tb.Fatalf("browser tests need Chromium: %v", err)
	}
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	tb.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		tb.Fatalf("opening a browser context: %v", err)
	}
	return ctx
}

// Close stops the shared browser; call it from TestMain after m.Run.
func Close() {
	mu.Lock()
	defer mu.Unlock()
	for _, c := range cancels {
		c()
	}
	cancels = nil
	if dataDir != "" {
		// Chromium's helpers may still write for a moment after it exits.
		for range 50 {
			if os.RemoveAll(dataDir) == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// ScreenshotDir is <repo>/.data/screenshots/<name>, where screenshots are
// kept for people to look at (found by walking up to go.work).
func ScreenshotDir(tb testing.TB, name string) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("no go.work above the test's directory")
		}
		dir = parent
	}
	out := filepath.Join(dir, ".data", "screenshots", name)
	if err := os.MkdirAll(out, 0o755); err != nil {
		tb.Fatal(err)
	}
	return out
}
