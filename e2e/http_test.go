package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"
)

// bearer is the credential header buyers and reviewers send.
func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

// callJSON sends body (nil: none) as JSON with the given headers and
// returns the status and the response body.
func callJSON(t *testing.T, method, url string, headers map[string]string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// getJSON decodes a 200 answer to a GET into v.
func getJSON(t *testing.T, url, key string, v any) {
	t.Helper()
	st, b := callJSON(t, "GET", url, bearer(key), nil)
	if st != 200 {
		t.Fatalf("GET %s: %d %s", url, st, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// receive waits for the buyer's endpoint to get what, failing after within.
func receive[T any](t *testing.T, ch <-chan T, within time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(within):
		t.Fatalf("no %s reached the buyer within %s", what, within)
		var zero T
		return zero
	}
}

// nothingMore checks that the buyer's endpoint gets nothing else for a
// moment: one event, one request.
func nothingMore[T any](t *testing.T, ch <-chan T, describe func(T) string) {
	t.Helper()
	select {
	case extra := <-ch:
		t.Errorf("a second request reached the buyer: %s", describe(extra))
	case <-time.After(500 * time.Millisecond):
	}
}
