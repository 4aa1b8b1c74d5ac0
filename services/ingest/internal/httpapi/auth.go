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

// apiKey reads the credential from any header AdCP buyers use.
func apiKey(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if k, ok := strings.CutPrefix(h, "Bearer "); ok {
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

func principalFrom(ctx context.Context) (creative.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(creative.Principal)
	return p, ok
}

// challenge is sent with every 401 so clients know how to authenticate.
const challenge = `Bearer realm="adcp"`

// authenticate resolves the caller or answers 401 in the AdCP error shape.
func (a *API) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.svc.Authenticate(r.Context(), apiKey(r))
		if err != nil {
			o := a.render(r.Context(), 0, nil, err, nil)
			if o.status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", challenge)
			}
			writeJSON(w, o.status, o.body)
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
			_, _ = rand.Read(b[:])
			id = "req_" + hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Correlation-Id", id)
		next.ServeHTTP(w, r.WithContext(logging.WithCorrelationID(r.Context(), id)))
	})
}
