package devstack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"example.com/creativesync/platform/pgdb"
)

// LocalDatabaseURL is Debian's packaged Postgres with trust auth, as the
// development machines and CI run it.
const LocalDatabaseURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// PingPostgres reports whether url answers within timeout.
func PingPostgres(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	db, err := pgdb.Open(ctx, url)
	if err != nil {
		return err
	}
	return db.Close()
}

// Postgres is the server a stack uses; URL is an admin URL (user postgres,
// database postgres) from which per-service databases are made.
type Postgres struct {
	URL     string
	Source  string // "DATABASE_URL", "local", "private" or "private-running"
	DataDir string // the private cluster's directory, if any
	stop    func(ctx context.Context) error
	// users is a shared lock held while this stack uses a private cluster;
	// every stack using it holds one, so the last to leave can tell.
	users *os.File
}

// Describe says in one line which server this is, for the stack's summary.
func (p *Postgres) Describe() string {
	u := pgdb.Redact(p.URL)
	switch p.Source {
	case "private":
		return fmt.Sprintf("%s (private cluster in %s, started here)", u, p.DataDir)
	case "private-running":
		return fmt.Sprintf("%s (private cluster in %s, already running: shared with the stack that started it)", u, p.DataDir)
	case "local":
		return fmt.Sprintf("%s (reused the local server)", u)
	default:
		return fmt.Sprintf("%s (reused, from %s)", u, p.Source)
	}
}

// Private reports whether this is a private cluster under .data.
func (p *Postgres) Private() bool { return p.users != nil || strings.HasPrefix(p.Source, "private") }

// Stop stops a private cluster if no other stack still uses it, and reports
// whether it did. Reused servers are left alone.
func (p *Postgres) Stop(ctx context.Context) (stopped bool, err error) {
	if p.users == nil {
		return false, nil
	}
	defer p.Detach()
	// Shared holders block this; a stack that is still running keeps the
	// cluster up, and stops it itself when it leaves.
	if err := syscall.Flock(int(p.users.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return false, nil
	}
	return true, p.stop(ctx)
}

// Detach stops using a private cluster without stopping it.
func (p *Postgres) Detach() {
	if p.users != nil {
		p.users.Close()
		p.users = nil
	}
}

// lockShared takes a shared lock on path, waiting while a stack holds it
// exclusively, which it does only while stopping the cluster.
func lockShared(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return f, nil
}

// PostgresOptions says where to look for a server and where a private
// cluster lives.
type PostgresOptions struct {
	URL          string // DATABASE_URL; may be empty
	LocalURL     string // LocalDatabaseURL
	DataDir      string // the repository's .data; the cluster goes in DataDir/pg
	ForcePrivate bool   // skip reuse; tests the fallback by hand
	Ports        *Ports
	Out          io.Writer // apt-get's output, when it has to install Postgres
	Logf         func(format string, args ...any)
}

// EnsurePostgres returns a Postgres that answers: the one o.URL names, else
// the local one, else a private cluster under o.DataDir, created on first use
// and reused afterwards.
func EnsurePostgres(ctx context.Context, o PostgresOptions) (*Postgres, error) {
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Ports == nil {
		o.Ports = &Ports{}
	}
	if !o.ForcePrivate {
		if o.URL != "" {
			err := PingPostgres(ctx, o.URL, 3*time.Second)
			if err == nil {
				return &Postgres{URL: o.URL, Source: "DATABASE_URL"}, nil
			}
			o.Logf("DATABASE_URL does not answer (%v); trying %s", err, pgdb.Redact(o.LocalURL))
		}
		if o.LocalURL != "" && o.LocalURL != o.URL {
			if err := PingPostgres(ctx, o.LocalURL, 3*time.Second); err == nil {
				return &Postgres{URL: o.LocalURL, Source: "local"}, nil
			}
		}
	}
	return startPrivatePostgres(ctx, o)
}

// cluster runs Debian's Postgres binaries against one data directory.
type cluster struct {
	bin     string // /usr/lib/postgresql/N/bin
	dir     string // PGDATA
	sockDir string
	// initdb and postgres refuse to run as root, so as root every binary
	// runs as the postgres system user and the directories belong to it.
	asPostgres bool
	uid, gid   int
}

func startPrivatePostgres(ctx context.Context, o PostgresOptions) (*Postgres, error) {
	c := &cluster{asPostgres: os.Geteuid() == 0}
	base := o.DataDir
	pgDir := filepath.Join(base, "pg")
	bin, err := findPostgresBin(pgDir)
	if errors.Is(err, errNoPostgresBinaries) && c.asPostgres {
		o.Logf("no Postgres binaries under /usr/lib/postgresql; installing Debian's postgresql package")
		if err := aptInstallPostgres(ctx, o.Out); err != nil {
			return nil, err
		}
		bin, err = findPostgresBin(pgDir)
	}
	if err != nil {
		return nil, err
	}
	c.bin = bin
	if c.asPostgres {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, the private Postgres needs the postgres system user (from Debian's postgresql package): %w", err)
		}
		c.uid, _ = strconv.Atoi(u.Uid)
		c.gid, _ = strconv.Atoi(u.Gid)
	}

	c.dir, c.sockDir = pgDir, filepath.Join(base, "pgsock")
	if err := c.prepareDirs(ctx); err != nil {
		// A checkout under a directory the postgres user cannot enter
		// (/root, say) cannot hold its cluster; keep it in the temp dir.
		alt := privateFallbackDir(base)
		o.Logf("%v; keeping the private cluster in %s instead", err, alt)
		c.dir, c.sockDir = filepath.Join(alt, "pg"), filepath.Join(alt, "pgsock")
		if err := c.prepareDirs(ctx); err != nil {
			return nil, err
		}
		if c.bin, err = findPostgresBin(c.dir); err != nil {
			return nil, err
		}
	}

	users, err := lockShared(c.dir + ".lock")
	if err != nil {
		return nil, err
	}
	pg, err := c.ensureRunning(ctx, o)
	if err != nil {
		users.Close()
		return nil, err
	}
	pg.users = users
	return pg, nil
}

// ensureRunning creates the cluster on first use and starts it, or adopts
// it if another stack already runs it.
func (c *cluster) ensureRunning(ctx context.Context, o PostgresOptions) (*Postgres, error) {
	if !c.initialized() {
		o.Logf("creating a private Postgres cluster in %s", c.dir)
		if out, err := c.run(ctx, "initdb", "-D", c.dir, "-U", "postgres", "--auth=trust",
			"-E", "UTF8", "--no-locale", "--no-sync"); err != nil {
			return nil, fmt.Errorf("initdb %s: %w\n%s", c.dir, err, out)
		}
	}

	if port, ok := c.runningPort(ctx); ok {
		url := adminURL(port)
		if err := PingPostgres(ctx, url, 5*time.Second); err == nil {
			// Another stack started it, or one that was killed left it.
			return &Postgres{URL: url, Source: "private-running", DataDir: c.dir, stop: c.stop}, nil
		}
	}

	port, err := o.Ports.Free()
	if err != nil {
		return nil, err
	}
	if err := c.start(ctx, port); err != nil {
		return nil, err
	}
	url := adminURL(port)
	if err := waitPostgres(ctx, url, 30*time.Second); err != nil {
		_ = c.stop(context.Background())
		return nil, fmt.Errorf("private Postgres started but does not answer: %w (log: %s)", err, c.logFile())
	}
	return &Postgres{URL: url, Source: "private", DataDir: c.dir, stop: c.stop}, nil
}

// StopPrivatePostgres stops a private cluster left running under dataDir,
// whether this process started it or not. It is what `stack down` and
// `make clean` use.
func StopPrivatePostgres(ctx context.Context, dataDir string) (stopped bool, err error) {
	c := &cluster{asPostgres: os.Geteuid() == 0}
	for _, dir := range []string{filepath.Join(dataDir, "pg"), filepath.Join(privateFallbackDir(dataDir), "pg")} {
		c.dir = dir
		if !c.initialized() {
			continue
		}
		if c.bin, err = findPostgresBin(dir); err != nil {
			return false, err
		}
		if _, ok := c.runningPort(ctx); !ok {
			continue
		}
		if err := c.stop(ctx); err != nil {
			return false, err
		}
		stopped = true
	}
	return stopped, nil
}

func adminURL(port int) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
}

func waitPostgres(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := PingPostgres(ctx, url, 2*time.Second)
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var errNoPostgresBinaries = errors.New("no Postgres binaries found (looked for /usr/lib/postgresql/*/bin/initdb and pg_ctl); install Debian's postgresql package or set DATABASE_URL")

// pgBinGlob is a variable so a test could point it elsewhere; nothing
// changes it at run time.
var pgBinGlob = "/usr/lib/postgresql/*/bin"

// findPostgresBin picks the bin directory whose major version matches the
// cluster in pgDir, or the newest one for a new cluster: a cluster only
// starts under the major version that created it.
func findPostgresBin(pgDir string) (string, error) {
	dirs, _ := filepath.Glob(pgBinGlob)
	byVersion := map[int]string{}
	var versions []int
	for _, d := range dirs {
		if !isExecutable(filepath.Join(d, "initdb")) || !isExecutable(filepath.Join(d, "pg_ctl")) {
			continue
		}
		v, err := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		if err != nil {
			continue
		}
		byVersion[v] = d
		versions = append(versions, v)
	}
	if len(versions) == 0 {
		return "", errNoPostgresBinaries
	}
	sort.Ints(versions)
	if raw, err := os.ReadFile(filepath.Join(pgDir, "PG_VERSION")); err == nil {
		want, _ := strconv.Atoi(strings.TrimSpace(string(raw)))
		if d, ok := byVersion[want]; ok {
			return d, nil
		}
		return "", fmt.Errorf("the private cluster in %s was made by Postgres %d, but only %v is installed: run `make clean` to start afresh", pgDir, want, versions)
	}
	return byVersion[versions[len(versions)-1]], nil
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

func aptInstallPostgres(ctx context.Context, out io.Writer) error {
	for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", "postgresql"}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("apt-get %s: %w", strings.Join(args, " "), err)
		}
	}
	return nil
}

func privateFallbackDir(dataDir string) string {
	return filepath.Join(os.TempDir(), "creativesync-"+shortHash(dataDir))
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:4])
}

// prepareDirs creates the data and socket directories and, as root, hands
// them to the postgres user and checks it can reach them.
func (c *cluster) prepareDirs(ctx context.Context) error {
	// Unix socket paths are limited to 107 bytes; a deep checkout would make
	// postgres refuse to start, so such a checkout gets a short one.
	if len(c.sockDir)+len("/.s.PGSQL.65535") > 100 {
		c.sockDir = filepath.Join(os.TempDir(), "cs-pgsock-"+shortHash(c.sockDir))
	}
	if strings.ContainsAny(c.sockDir, "'\"\\ ") {
		c.sockDir = filepath.Join(os.TempDir(), "cs-pgsock-"+shortHash(c.sockDir))
	}
	for _, d := range []string{c.dir, c.sockDir} {
		// The parents must stay open to the postgres user; MkdirAll would
		// give them the cluster's 0700.
		if err := os.MkdirAll(filepath.Dir(d), 0o755); err != nil {
			return err
		}
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
		if c.asPostgres {
			if err := chownTree(d, c.uid, c.gid); err != nil {
				return err
			}
		}
	}
	if c.asPostgres {
		if _, err := c.run(ctx, "test", "-w", c.dir, "-a", "-w", c.sockDir); err != nil {
			return fmt.Errorf("the postgres user cannot write to %s (is a parent directory closed to it?)", c.dir)
		}
	}
	return nil
}

func chownTree(root string, uid, gid int) error {
	fi, err := os.Stat(root)
	if err != nil {
		return err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) == uid {
		return nil
	}
	return filepath.WalkDir(root, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
}

func (c *cluster) initialized() bool {
	_, err := os.Stat(filepath.Join(c.dir, "PG_VERSION"))
	return err == nil
}

func (c *cluster) logFile() string { return filepath.Join(c.dir, "server.log") }

// runningPort reports the port of a postmaster already serving c.dir.
func (c *cluster) runningPort(ctx context.Context) (int, bool) {
	if _, err := c.run(ctx, filepath.Join(c.bin, "pg_ctl"), "status", "-D", c.dir); err != nil {
		return 0, false // exit 3: not running
	}
	raw, err := os.ReadFile(filepath.Join(c.dir, "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	lines := strings.Split(string(raw), "\n")
	if len(lines) < 4 {
		return 0, false
	}
	port, err := strconv.Atoi(strings.TrimSpace(lines[3]))
	return port, err == nil
}

func (c *cluster) start(ctx context.Context, port int) error {
	// Options go through pg_ctl's shell, so the socket path is quoted;
	// prepareDirs made sure it has no quote of its own. fsync is off because
	// this cluster only ever holds development and test data (`make clean`
	// recreates it) and test suites create many databases.
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -k '%s' -c max_connections=200 -c fsync=off", port, c.sockDir)
	out, err := c.run(ctx, filepath.Join(c.bin, "pg_ctl"), "start", "-D", c.dir, "-l", c.logFile(), "-w", "-t", "60", "-o", opts)
	if err != nil {
		return fmt.Errorf("pg_ctl start: %w\n%s\nlast lines of %s:\n%s", err, out, c.logFile(), tail(c.logFile(), 20))
	}
	return nil
}

func (c *cluster) stop(ctx context.Context) error {
	out, err := c.run(ctx, filepath.Join(c.bin, "pg_ctl"), "stop", "-D", c.dir, "-m", "fast", "-w", "-t", "30")
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %w\n%s", err, out)
	}
	return nil
}

// run runs a Postgres binary, as the postgres user when we are root, and
// returns its combined output.
func (c *cluster) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	if name == "initdb" {
		name = filepath.Join(c.bin, "initdb")
	}
	var cmd *exec.Cmd
	if c.asPostgres {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, name, args...)
	}
	// The postgres user may not be able to enter our working directory, and
	// initdb fails if it cannot resolve it.
	cmd.Dir = "/"
	// Its own process group keeps the terminal's Ctrl-C away from the
	// postmaster, so the stack decides when Postgres stops: after the
	// services, not before.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	// pg_ctl start leaves the postmaster holding our pipes; waiting for them
	// to close would wait for the server to exit.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil
	}
	return buf.Bytes(), err
}

func tail(path string, n int) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
