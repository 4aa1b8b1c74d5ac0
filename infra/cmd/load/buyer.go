package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Buyer is one principal of the load with its own key and account, talking
// to ingest over REST and over one MCP session.
type Buyer struct {
	N          int
	Key        string
	Account    string
	WebhookURL string

	ingestURL string
	http      *http.Client
	mcp       *mcp.ClientSession
}

// bearer adds the buyer's key to every request of the MCP transport.
type bearer struct {
	key  string
	base http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return b.base.RoundTrip(r)
}

// connectMCP opens the buyer's MCP session with the official go-sdk client,
// as services/ingest's MCP tests do (stateless server: no standalone SSE).
func (b *Buyer) connectMCP(ctx context.Context) error {
	c := mcp.NewClient(&mcp.Implementation{Name: "creativesync-load", Version: "1"}, nil)
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:   b.ingestURL + "/mcp",
		HTTPClient: &http.Client{Transport: bearer{b.Key, b.http.Transport}},
		// A failed call is a result to count, not something to retry.
		DisableStandaloneSSE: true, MaxRetries: -1,
	}, nil)
	if err != nil {
		return fmt.Errorf("buyer %d: MCP connect: %w", b.N, err)
	}
	b.mcp = cs
	return nil
}

// syncAnswer is the part of a sync_creatives response the load reads.
type syncAnswer struct {
	Status string `json:"status"`
	TaskID string `json:"task_id"`
	Errors []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
}

// outcome turns an answer into a task id, or the reason there is none.
func (a syncAnswer) outcome() (taskID, errMsg string) {
	switch {
	case len(a.Errors) > 0:
		return "", a.Errors[0].Code + ": " + a.Errors[0].Message
	case a.Status != "submitted" || a.TaskID == "":
		return "", fmt.Sprintf("status %q without a task (no webhook will come)", a.Status)
	}
	return a.TaskID, ""
}

// syncREST posts body to /api/v1/creatives/sync.
func (b *Buyer) syncREST(ctx context.Context, body []byte) (taskID, errMsg string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.ingestURL+"/api/v1/creatives/sync", bytes.NewReader(body))
	if err != nil {
		return "", err.Error()
	}
	req.Header.Set("Authorization", "Bearer "+b.Key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.http.Do(req)
	if err != nil {
		return "", err.Error()
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err.Error()
	}
	var a syncAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		return "", fmt.Sprintf("HTTP %d: %.200s", resp.StatusCode, raw)
	}
	if resp.StatusCode != http.StatusAccepted && len(a.Errors) == 0 {
		return "", fmt.Sprintf("HTTP %d: %.200s", resp.StatusCode, raw)
	}
	return a.outcome()
}

// syncMCP calls the sync_creatives tool with the same body.
func (b *Buyer) syncMCP(ctx context.Context, body json.RawMessage) (taskID, errMsg string) {
	res, err := b.mcp.CallTool(ctx, &mcp.CallToolParams{Name: "sync_creatives", Arguments: body})
	if err != nil {
		return "", err.Error()
	}
	raw, err := json.Marshal(res.StructuredContent)
	if err != nil {
		return "", err.Error()
	}
	var a syncAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		return "", fmt.Sprintf("MCP result: %.200s", raw)
	}
	if res.IsError && len(a.Errors) == 0 {
		return "", fmt.Sprintf("MCP isError: %.200s", raw)
	}
	return a.outcome()
}
