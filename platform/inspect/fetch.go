package inspect

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"example.com/creativesync/platform/netguard"
)

// Fetcher downloads assets from URLs an outsider supplied and inspects
// them: only public addresses are dialled (netguard, checked after DNS),
// bodies are capped and streamed to a temporary file, redirects are
// limited, and results are cached by URL and revalidated with the
// server's validators (ETag, Last-Modified).
type Fetcher struct {
	client   *http.Client
	maxBytes int64
	tempDir  string

	mu    sync.Mutex
	cache map[string]*list.Element
	order *list.List // most recent first
	size  int
}

// FetchConfig configures a Fetcher.
type FetchConfig struct {
	// AllowPrivate lets loopback and private addresses through: development
	// and tests only.
	AllowPrivate bool
	// Resolve replaces DNS (tests); nil uses the system resolver.
	Resolve netguard.Resolver
	// Timeout bounds one fetch (default 10s); MaxBytes one body (default
	// 50 MiB); MaxRedirects (default 3); CacheSize entries (default 1000).
	Timeout      time.Duration
	MaxBytes     int64
	MaxRedirects int
	CacheSize    int
	TempDir      string
}

// ErrUnreachable is a fetch that failed: the asset could not be loaded
// (refused address, network error, HTTP error status, too large).
var ErrUnreachable = errors.New("asset unreachable")

type cached struct {
	url        string
	etag, lmod string
	res        Result
}

// NewFetcher builds a Fetcher.
func NewFetcher(cfg FetchConfig) *Fetcher {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 50 << 20
	}
	if cfg.MaxRedirects <= 0 {
		cfg.MaxRedirects = 3
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 1000
	}
	dialer := &netguard.Dialer{AllowPrivate: cfg.AllowPrivate, Resolve: cfg.Resolve, Timeout: cfg.Timeout, Sentinel: ErrUnreachable}
	tr := &http.Transport{DialContext: dialer.DialContext, TLSHandshakeTimeout: cfg.Timeout, ResponseHeaderTimeout: cfg.Timeout,
		MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second}
	max := cfg.MaxRedirects
	return &Fetcher{
		client: &http.Client{Transport: tr, Timeout: cfg.Timeout, CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > max {
				return fmt.Errorf("more than %d redirects", max)
			}
			if req.URL.Scheme != "https" && req.URL.Scheme != "http" {
				return fmt.Errorf("redirect to %s is not http(s)", req.URL.Scheme)
			}
			return nil
		}},
		maxBytes: cfg.MaxBytes, tempDir: cfg.TempDir, cache: map[string]*list.Element{}, order: list.New(), size: cfg.CacheSize,
	}
}

// Fetch loads and inspects the asset at rawURL. A failure to load it
// wraps ErrUnreachable; bytes that are not what they claim are a Problem.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) (Result, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return Result{}, fmt.Errorf("%w: %q is not an absolute http(s) URL", ErrUnreachable, rawURL)
	}
	if u.User != nil {
		return Result{}, fmt.Errorf("%w: URL carries credentials", ErrUnreachable)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	prev := f.lookup(rawURL)
	if prev != nil {
		if prev.etag != "" {
			req.Header.Set("If-None-Match", prev.etag)
		}
		if prev.lmod != "" {
			req.Header.Set("If-Modified-Since", prev.lmod)
		}
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	defer resp.Body.Close() // read-only
	if resp.StatusCode == http.StatusNotModified && prev != nil {
		return prev.res, nil
	}
	if resp.StatusCode != http.StatusOK {
		return Result{}, fmt.Errorf("%w: the server answered %s", ErrUnreachable, resp.Status)
	}
	if resp.ContentLength > f.maxBytes {
		return Result{}, fmt.Errorf("%w: %d bytes is over the %d-byte limit", ErrUnreachable, resp.ContentLength, f.maxBytes)
	}
	tmp, err := os.CreateTemp(f.tempDir, "asset-*")
	if err != nil {
		return Result{}, err
	}
	defer func() {
		// Temporary files are best effort: the OS cleans its temp dir.
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
	}()
	n, err := io.Copy(tmp, io.LimitReader(resp.Body, f.maxBytes+1))
	if err != nil {
		return Result{}, fmt.Errorf("%w: reading the body: %v", ErrUnreachable, err)
	}
	if n > f.maxBytes {
		return Result{}, fmt.Errorf("%w: the body is over the %d-byte limit", ErrUnreachable, f.maxBytes)
	}
	res, err := Inspect(tmp, n)
	if err != nil {
		return res, err
	}
	if etag, lmod := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified"); etag != "" || lmod != "" {
		f.store(&cached{url: rawURL, etag: etag, lmod: lmod, res: res})
	}
	return res, nil
}

func (f *Fetcher) lookup(u string) *cached {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e, ok := f.cache[u]; ok {
		f.order.MoveToFront(e)
		return e.Value.(*cached)
	}
	return nil
}

func (f *Fetcher) store(c *cached) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e, ok := f.cache[c.url]; ok {
		e.Value = c
		f.order.MoveToFront(e)
		return
	}
	f.cache[c.url] = f.order.PushFront(c)
	for f.order.Len() > f.size {
		last := f.order.Back()
		f.order.Remove(last)
		delete(f.cache, last.Value.(*cached).url)
	}
}
