package creativeagent

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"https://creative.example.com":      "https://creative.example.com/mcp",
		"https://creative.example.com/":     "https://creative.example.com/mcp",
		"https://creative.example.com/mcp":  "https://creative.example.com/mcp",
		"https://creative.example.com/mcp/": "https://creative.example.com/mcp",
	} {
		if got := Endpoint(in); got != want {
			t.Errorf("Endpoint(%s) = %s, want %s", in, got, want)
		}
	}
}

// agent serves list_creative_formats through fn on 127.0.0.1.
func agent(t *testing.T, fn mcp.ToolHandler) string {
	t.Helper()
	srv := mcp.NewServer(&mcp.Implementation{Name: "agent", Version: "1"}, nil)
	srv.AddTool(&mcp.Tool{Name: "list_creative_formats", InputSchema: json.RawMessage(`{"type":"object"}`)}, fn)
	mux := http.NewServeMux()
	mux.Handle("/mcp", mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
		&mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true}))
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts.URL
}

func TestFormatsNamesWhatAMisbehavingAgentDid(t *testing.T) {
	c := &Client{HTTP: &http.Client{Timeout: 5 * time.Second}, Version: "test"}
	result := func(r *mcp.CallToolResult) mcp.ToolHandler {
		return func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) { return r, nil }
	}
	text := []mcp.Content{&mcp.TextContent{Text: "x"}}
	for _, tc := range []struct {
		name string
		fn   mcp.ToolHandler
		want string
	}{
		{"tool error", result(&mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: "boom"}}}), "list_creative_formats failed: boom"},
		{"no structured content", result(&mcp.CallToolResult{Content: text}), "without a formats array"},
		{"formats not an array", result(&mcp.CallToolResult{Content: text, StructuredContent: map[string]any{"formats": "all"}}), "without a formats array"},
		{"endless pages", result(&mcp.CallToolResult{Content: text, StructuredContent: map[string]any{"formats": []any{},
			"pagination": map[string]any{"has_more": true, "cursor": "again"}}}), "still has more formats after 20 pages"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Formats(context.Background(), agent(t, tc.fn))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := c.Formats(context.Background(), "http://127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "connecting") {
		t.Errorf("agent down: %v", err)
	}
}
