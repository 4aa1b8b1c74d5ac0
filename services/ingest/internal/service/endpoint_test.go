package service_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"example.com/creativesync/platform/signing"
)

// buyerEndpoint is the buyers' webhook receiver every test shares: a local
// TLS server (subscriber URLs must be https) that answers challenges by
// path — /ok/… echoes {"challenge"}, /token/… echoes {"token"}, /wrong/…
// echoes another token, /fail/… answers 500 — and records what it got.
type buyerEndpoint struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []seenRequest
}

type seenRequest struct {
	Path   string
	Header http.Header
	Body   []byte
}

var (
	endpointOnce sync.Once
	endpoint     *buyerEndpoint
)

// sharedEndpoint starts the receiver once per test binary; it lives until
// the process ends.
func sharedEndpoint() *buyerEndpoint {
	endpointOnce.Do(func() {
		e := &buyerEndpoint{}
		e.srv = httptest.NewTLSServer(http.HandlerFunc(e.serve))
		endpoint = e
	})
	return endpoint
}

func (e *buyerEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	e.mu.Lock()
	e.seen = append(e.seen, seenRequest{Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	e.mu.Unlock()
	var c struct {
		Challenge string `json:"challenge"`
	}
	if json.Unmarshal(body, &c) != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case strings.HasPrefix(r.URL.Path, "/ok/"):
		_ = json.NewEncoder(w).Encode(map[string]string{"challenge": c.Challenge}) // the test reads the outcome from ingest
	case strings.HasPrefix(r.URL.Path, "/token/"):
		_ = json.NewEncoder(w).Encode(map[string]string{"token": c.Challenge}) // idem
	case strings.HasPrefix(r.URL.Path, "/wrong/"):
		_ = json.NewEncoder(w).Encode(map[string]string{"challenge": "not-" + c.Challenge}) // idem
	default:
		w.WriteHeader(http.StatusInternalServerError)
	}
}

// URL is the receiver's address for path.
func (e *buyerEndpoint) URL(path string) string { return e.srv.URL + path }

// Requests returns what reached path.
func (e *buyerEndpoint) Requests(path string) []seenRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []seenRequest
	for _, r := range e.seen {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// verifyWithJWKS checks a request's RFC 9421 signature against the JWKS
// ingest publishes, as a buyer would.
func (s *stack) verifyWithJWKS(t *testing.T, url string, r seenRequest) {
	t.Helper()
	st, b := s.do("GET", "/.well-known/jwks.json", "", nil)
	if st != http.StatusOK {
		t.Fatalf("jwks: %d %s", st, b)
	}
	var set signing.JWKS
	must(t, json.Unmarshal(b, &set))
	if err := signing.NewVerifier(set).Verify(http.MethodPost, url, r.Header, r.Body); err != nil {
		t.Errorf("challenge signature: %v", err)
	}
}
