package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"

	"example.com/creativesync/platform/logging"
	"example.com/creativesync/services/ingest/internal/creative"
)

// apiKey reads the credential from any header AdCP buyers use. HTTP auth
// schemes are case-insensitive (RFC 9110 §11.1), so "bearer" works too.
func apiKey(r *http.Request) string {
	if h := strings.TrimSpace(r.Header.Get("Authorization")); h != "" {
		if scheme, k, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(k)
		}
	}
	if k := r.Header.Get("X-Adcp-Auth"); k != "" {
		return strings.TrimSpace(k)
	}
	return strings.TrimSpace(r.Header.Get("X-Api-Key"))
}

type principalKey struct{}

func withPrincipal(ctx context.Context, p creative.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// principalFrom returns the authenticated caller, or nil when the request
// carried no valid credentials (public MCP tools).
func principalFrom(ctx context.Context) *creative.Principal {
	if p, ok := ctx.Value(principalKey{}).(creative.Principal); ok {
		return &p
	}
	return nil
}

// mustPrincipal is the caller of a route behind authenticate.
func mustPrincipal(r *http.Request) creative.Principal {
	p := principalFrom(r.Context())
	if p == nil {
		panic("httpapi: route is not behind authenticate")
	}
	return *p
}

// challenge is sent with every 401 so clients know how to authenticate.
const challenge = `Bearer realm="adcp"`

// authenticate resolves the caller or answers 401 in the AdCP error shape.
func (a *API) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.svc.Authenticate(r.Context(), apiKey(r))
		if err != nil {
			o := a.fail(r.Context(), err, nil)
			if o.Status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", challenge)
			}
			a.write(w, r, o)
			return
		}
		next.ServeHTTP(w, r.WithContext(withPrincipal(r.Context(), p)))
	})
}

// correlate gives every request a correlation id (the caller's
// X-Correlation-Id when sent) carried into logs and events.
func correlate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Correlation-Id")
		if id == "" || len(id) > 128 {
			var b [8]byte
			_, _ = rand.Read(b[:]) // never fails (Go 1.24+ aborts instead)
			id = "req_" + hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Correlation-Id", id)
		next.ServeHTTP(w, r.WithContext(logging.WithCorrelationID(r.Context(), id)))
	})
}
