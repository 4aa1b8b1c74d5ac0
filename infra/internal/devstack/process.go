package devstack

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Service is one of our binaries as the stack runs it.
type Service struct {
	Name        string
	DefaultPort int
}

// Services are started in this order; the ports are the documented defaults.
var Services = []Service{
	{Name: "ingest", DefaultPort: 8080},
	{Name: "review", DefaultPort: 8081},
	{Name: "notifier", DefaultPort: 8082},
}

// BuildServices builds ./services/<name> into binDir/<name> for each name,
// in one go command so the packages compile in parallel.
func BuildServices(ctx context.Context, root, binDir string, out io.Writer, names ...string) error {
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return err
	}
	// A trailing slash makes go write each main package to binDir/<name>.
	args := []string{"build", "-o", binDir + string(filepath.Separator)}
	for _, n := range names {
		args = append(args, "./services/"+n)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

// DemoAPIKey returns the key of the demo account, made once and kept in
// dataDir/demo_api_key so the token a developer pasted into a client keeps
// working across runs.
func DemoAPIKey(dataDir string) (string, error) { return Secret(dataDir, "demo_api_key", "demo_") }

// Secret returns the secret kept in dataDir/file, first making one: prefix
// followed by 32 random bytes in hex.
func Secret(dataDir, file, prefix string) (string, error) {
	path := filepath.Join(dataDir, file)
	if raw, err := os.ReadFile(path); err == nil {
		if k := strings.TrimSpace(string(raw)); k != "" {
			return k, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	key := prefix + hex.EncodeToString(b[:])
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", err
	}
	return key, nil
}

// Proc is a child process whose output goes, line by line and prefixed with
// its name, to the stack's stdout and to a log file.
type Proc struct {
	Name    string
	LogPath string
	cmd     *exec.Cmd
	out     *prefixWriter
	logFile *os.File
	done    chan struct{}
	err     error
}

// StartProc starts path with args and env (the whole environment).
func StartProc(name, path string, args, env []string, stdout io.Writer, mu *sync.Mutex, logPath string) (*Proc, error) {
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, err
	}
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	p := &Proc{Name: name, LogPath: logPath, logFile: lf, done: make(chan struct{})}
	p.out = &prefixWriter{mu: mu, w: stdout, prefix: fmt.Sprintf("%-8s | ", name)}
	cmd := exec.Command(path, args...)
	cmd.Env = env
	w := io.MultiWriter(p.out, lf)
	cmd.Stdout, cmd.Stderr = w, w
	// Own process group: the terminal's Ctrl-C reaches only the stack, which
	// then stops the services in order. Pdeathsig stops them if the stack is
	// killed outright.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	// A grandchild still holding the output pipe must not keep Done open.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p.cmd = cmd
	go func() {
		p.err = cmd.Wait()
		p.out.flush()
		lf.Close()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process id, for reading its /proc entries.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is the process's exit error; valid once Done is closed.
func (p *Proc) Err() error { return p.err }

// Stop sends SIGTERM, which our services treat as a graceful shutdown, and
// kills the process if it has not exited within grace.
func (p *Proc) Stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// WaitReady polls url until it returns 200, the process exits, ctx ends or
// timeout passes.
func WaitReady(ctx context.Context, url string, timeout time.Duration, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	last := "no answer"
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%s: %s", resp.Status, bytes.TrimSpace(body))
		} else {
			last = err.Error()
		}
		select {
		case <-exited:
			return fmt.Errorf("process exited before %s answered 200", url)
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%s not 200 within %s (last: %s)", url, timeout, last)
			}
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// prefixWriter writes whole lines, each prefixed, under a mutex shared by
// every child so their lines never interleave mid-line.
type prefixWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		if _, err := fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf[:i]); err != nil {
			return 0, err
		}
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}

func (p *prefixWriter) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.buf) > 0 {
		fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf)
		p.buf = nil
	}
}
