package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// maxWebhookBody is the notifier's own payload cap (1 MiB).
const maxWebhookBody = 1 << 20

// Receiver is the buyers' webhook endpoint: one loopback HTTP server, a
// path per buyer, every delivery verified and handed to the tracker.
type Receiver struct {
	tracker  *Tracker
	verifier *Verifier
	srv      *http.Server
	ln       net.Listener
	// lastErr keeps one verification failure for the report, so a 401
	// storm can be explained without a log.
	lastErr atomic.Value
}

// StartReceiver listens on a free loopback port.
func StartReceiver(tr *Tracker, v *Verifier) (*Receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Receiver{tracker: tr, verifier: v, ln: ln}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: log.New(io.Discard, "", 0)} // a client hanging up mid-request is not news
	go func() {
		// Serve returns ErrServerClosed on Close, the only way it ends here.
		_ = r.srv.Serve(ln)
	}()
	return r, nil
}

// URL is where buyer b asks for its webhooks.
func (r *Receiver) URL(b int) string {
	return fmt.Sprintf("http://%s/webhooks/buyer%d", r.ln.Addr(), b)
}

// Close stops listening; deliveries after it are the notifier's retries.
func (r *Receiver) Close() error { return r.srv.Close() }

// LastError is the last verification failure, if any.
func (r *Receiver) LastError() string {
	s, _ := r.lastErr.Load().(string)
	return s
}

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	at := time.Now()
	if req.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxWebhookBody+1))
	if err != nil || len(body) > maxWebhookBody {
		// The notifier takes a 4xx as final, so the task shows up as lost.
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	target := "http://" + req.Host + req.URL.EscapedPath()
	if err := r.verifier.Verify(req.Method, target, req.Header, body); err != nil {
		r.tracker.BadSignature()
		r.lastErr.Store(err.Error())
		// What a buyer answers a bad signature with; the notifier treats it
		// as final, so the task counts as lost as well.
		w.Header().Set("WWW-Authenticate", `Signature error="webhook_signature_invalid"`)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	wh, err := parseWebhook(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.tracker.Webhook(wh, at)
	w.WriteHeader(http.StatusNoContent)
}

// parseWebhook reads the fields of an AdCP task webhook the tracker needs.
func parseWebhook(body []byte) (Webhook, error) {
	var p struct {
		IdempotencyKey string    `json:"idempotency_key"`
		TaskID         string    `json:"task_id"`
		Status         string    `json:"status"`
		Timestamp      time.Time `json:"timestamp"`
		Context        struct {
			CorrelationID string `json:"correlation_id"`
		} `json:"context"`
		Result struct {
			Creatives []struct {
				Status string `json:"status"`
			} `json:"creatives"`
		} `json:"result"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return Webhook{}, fmt.Errorf("webhook body: %w", err)
	}
	if p.IdempotencyKey == "" {
		return Webhook{}, fmt.Errorf("webhook without idempotency_key")
	}
	wh := Webhook{Key: p.IdempotencyKey, TaskID: p.TaskID, CorrelationID: p.Context.CorrelationID,
		Status: p.Status, Timestamp: p.Timestamp}
	for _, c := range p.Result.Creatives {
		if c.Status == "approved" {
			wh.Approved++
		}
	}
	return wh, nil
}
