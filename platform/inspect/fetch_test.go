package inspect

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestFetcher(t *testing.T) {
	png := pngOf(t, 300, 250)
	var hits, revalidated atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/banner.png":
			if r.Header.Get("If-None-Match") == `"v1"` {
				revalidated.Add(1)
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", `"v1"`)
			_, _ = w.Write(png) // test server: the client sees a short body
		case "/moved":
			http.Redirect(w, r, "/banner.png", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/huge":
			_, _ = w.Write(bytes.Repeat([]byte{0}, 2<<20))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	f := NewFetcher(FetchConfig{AllowPrivate: true, MaxBytes: 1 << 20, Timeout: 5 * time.Second})

	r, err := f.Fetch(ctx, srv.URL+"/banner.png")
	if err != nil || r.Width != 300 || r.MIME != "image/png" {
		t.Fatalf("fetch: %+v %v", r, err)
	}
	if r2, err := f.Fetch(ctx, srv.URL+"/banner.png"); err != nil || r2 != r || revalidated.Load() != 1 {
		t.Fatalf("revalidation: %+v %v (%d revalidated)", r2, err, revalidated.Load())
	}
	if r, err := f.Fetch(ctx, srv.URL+"/moved"); err != nil || r.Height != 250 {
		t.Errorf("redirect: %+v %v", r, err)
	}
	for path, want := range map[string]string{"/missing": "404", "/loop": "redirects", "/huge": "limit"} {
		if _, err := f.Fetch(ctx, srv.URL+path); !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want unreachable with %q", path, err, want)
		}
	}
	// The production default refuses loopback even when the URL is fine.
	strict := NewFetcher(FetchConfig{Timeout: 5 * time.Second})
	before := hits.Load()
	if _, err := strict.Fetch(ctx, srv.URL+"/banner.png"); !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("loopback fetched: %v", err)
	}
	if hits.Load() != before {
		t.Error("the refused fetch reached the server")
	}
	if _, err := strict.Fetch(ctx, "https://user:pw@cdn.example.com/a.png"); !errors.Is(err, ErrUnreachable) {
		t.Errorf("credentials: %v", err)
	}
}
