package devstack

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
)

// Ports hands out loopback TCP ports for the servers one stack starts. It
// remembers what it gave out because a port is only probed, not held: two
// picks in a row could otherwise return the same free port.
type Ports struct {
	mu    sync.Mutex
	given map[int]bool
}

// Free returns a port nothing listens on now.
func (p *Ports) Free() (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range 20 {
		port, err := freePort()
		if err != nil {
			return 0, err
		}
		if !p.given[port] {
			p.remember(port)
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free port found on 127.0.0.1")
}

// Prefer returns want if nothing listens on it, else a free port. Services
// get stable ports when they can, so bookmarks and curl commands keep working
// between runs.
func (p *Ports) Prefer(want int) (int, error) {
	p.mu.Lock()
	if want > 0 && !p.given[want] && PortFree(want) {
		p.remember(want)
		p.mu.Unlock()
		return want, nil
	}
	p.mu.Unlock()
	return p.Free()
}

func (p *Ports) remember(port int) {
	if p.given == nil {
		p.given = map[int]bool{}
	}
	p.given[port] = true
}

// PortFree reports whether 127.0.0.1:port can be bound now.
func PortFree(port int) bool {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// TryLock takes an exclusive lock on path (created if missing) without
// waiting. It reports false if another process holds it. The lock goes when
// release is called or the process dies, so a killed stack never leaves a
// stale one.
func TryLock(path string) (release func(), ok bool, err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, false, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { f.Close() }, true, nil
}
