// Package creativeagent asks the outside creative agents this seller
// trusts for their formats, over MCP with the official Go SDK's client,
// and keeps the format registry's copy of them fresh (creative.AgentFormats).
package creativeagent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"example.com/creativesync/services/ingest/internal/creative"
)

// Limits on one agent's answer: a misbehaving agent must not make the
// seller page forever or hold megabytes of formats.
const (
	maxPages   = 20
	maxFormats = 1000
	pageSize   = 100
)

// Client fetches formats from creative agents.
type Client struct {
	// HTTP is the client MCP requests go through; its Timeout bounds a call.
	HTTP *http.Client
	// Version is reported to agents in MCP's initialize.
	Version string
}

// Endpoint is the MCP endpoint of the agent at agentURL: AdCP agents serve
// MCP at /mcp under their agent URL, which is what format ids name; a URL
// configured with the /mcp path already is used as is.
func Endpoint(agentURL string) string {
	u := strings.TrimRight(agentURL, "/")
	if strings.HasSuffix(u, "/mcp") {
		return u
	}
	return u + "/mcp"
}

// Formats calls the agent's list_creative_formats, following pagination,
// and returns the format objects as the agent sent them.
func (c *Client) Formats(ctx context.Context, agentURL string) ([]json.RawMessage, error) {
	cl := mcp.NewClient(&mcp.Implementation{Name: "creativesync-ingest", Version: c.Version}, nil)
	// Stateless use: one session per refresh, no server-initiated
	// messages wanted, so no standalone SSE stream.
	cs, err := cl.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: Endpoint(agentURL), HTTPClient: c.HTTP,
		DisableStandaloneSSE: true, MaxRetries: -1}, nil)
	if err != nil {
		return nil, fmt.Errorf("connecting: %w", err)
	}
	defer func() {
		// Closing a stateless session only ends our side; an error here
		// changes nothing about the formats already read.
		_ = cs.Close()
	}()
	var all []json.RawMessage
	cursor := ""
	for page := 0; page < maxPages; page++ {
		pg := map[string]any{"max_results": pageSize}
		if cursor != "" {
			pg["cursor"] = cursor
		}
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "list_creative_formats", Arguments: map[string]any{"pagination": pg}})
		if err != nil {
			return nil, fmt.Errorf("list_creative_formats: %w", err)
		}
		if res.IsError {
			return nil, fmt.Errorf("list_creative_formats failed: %s", toolText(res))
		}
		b, err := json.Marshal(res.StructuredContent)
		if err != nil {
			return nil, fmt.Errorf("list_creative_formats result: %w", err)
		}
		var body struct {
			Formats    []json.RawMessage `json:"formats"`
			Pagination struct {
				HasMore bool   `json:"has_more"`
				Cursor  string `json:"cursor"`
			} `json:"pagination"`
		}
		if res.StructuredContent == nil || json.Unmarshal(b, &body) != nil || body.Formats == nil {
			return nil, errors.New("list_creative_formats answered without a formats array in structuredContent")
		}
		all = append(all, body.Formats...)
		if len(all) > maxFormats {
			return nil, fmt.Errorf("agent lists more than %d formats", maxFormats)
		}
		if !body.Pagination.HasMore || body.Pagination.Cursor == "" {
			return all, nil
		}
		cursor = body.Pagination.Cursor
	}
	return nil, fmt.Errorf("agent still has more formats after %d pages", maxPages)
}

func toolText(res *mcp.CallToolResult) string {
	for _, c := range res.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			return t.Text
		}
	}
	return "no detail"
}

// Cache keeps what agents listed across restarts and replicas (the store).
type Cache interface {
	AgentFormats(ctx context.Context) ([]creative.AgentSnapshot, error)
	SaveAgentFormats(ctx context.Context, agentURL string, defs []json.RawMessage, at time.Time) error
}

// Refresher keeps an AgentFormats current.
type Refresher struct {
	Agents *creative.AgentFormats
	Client *Client
	Cache  Cache
	Log    *slog.Logger
	// Timeout bounds one agent's refresh.
	Timeout time.Duration
	now     func() time.Time
}

// Restore installs the formats the cache remembers, so an agent that is
// down at start-up is still served from what it last listed.
func (r *Refresher) Restore(ctx context.Context) error {
	snaps, err := r.Cache.AgentFormats(ctx)
	if err != nil {
		return err
	}
	for _, snap := range snaps {
		if err := r.Agents.Restore(snap); err != nil {
			r.Log.Warn("stored creative agent formats", "agent", snap.URL, "err", err)
		}
	}
	return nil
}

// Refresh asks every trusted agent for its formats, one after another
// (a handful of agents; each bounded by Timeout). An agent that fails
// keeps its last known formats and is reported by Agents.Health.
func (r *Refresher) Refresh(ctx context.Context) {
	now := time.Now
	if r.now != nil {
		now = r.now
	}
	for _, u := range r.Agents.URLs() {
		cctx, cancel := context.WithTimeout(ctx, r.Timeout)
		defs, err := r.Client.Formats(cctx, u)
		cancel()
		if ctx.Err() != nil {
			return // shutting down: keep what we have, report nothing new
		}
		if err != nil {
			r.Log.Warn("creative agent formats not refreshed; keeping the last known", "agent", u, "err", err)
		}
		at := now()
		if uerr := r.Agents.Update(u, defs, err, at); uerr != nil {
			r.Log.Warn("creative agent formats", "agent", u, "err", uerr)
		}
		if err != nil {
			continue
		}
		// Memory already has the new list; a failed save only means a
		// restart would start from the previous one.
		if serr := r.Cache.SaveAgentFormats(ctx, u, defs, at); serr != nil {
			r.Log.Warn("saving creative agent formats", "agent", u, "err", serr)
		}
	}
}
