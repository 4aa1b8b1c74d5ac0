package service_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// creativeAgent is an outside creative agent for the tests: an MCP server
// on 127.0.0.1 (the official SDK's server side) whose list_creative_formats
// serves its formats in two pages, so ingest's client follows pagination.
type creativeAgent struct {
	url     string
	srv     *httptest.Server
	calls   atomic.Int64
	catalog func(agentURL string) []any
}

// startCreativeAgent runs an agent serving catalog's formats (two or more
// of them, to be paged), or testFormats.
func startCreativeAgent(t *testing.T, catalog ...func(agentURL string) []any) *creativeAgent {
	t.Helper()
	a := &creativeAgent{catalog: testFormats}
	if len(catalog) > 0 {
		a.catalog = catalog[0]
	}
	server := mcp.NewServer(&mcp.Implementation{Name: "test-creative-agent", Version: "1"}, nil)
	server.AddTool(&mcp.Tool{Name: "list_creative_formats", Description: "formats of the test creative agent",
		InputSchema: json.RawMessage(`{"type":"object"}`)}, a.listFormats)
	mux := http.NewServeMux()
	mux.Handle("/mcp", mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server },
		&mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true}))
	a.srv = httptest.NewServer(mux) // listens on 127.0.0.1
	a.url = a.srv.URL
	t.Cleanup(a.srv.Close)
	return a
}

// testFormats are the default agent's: video_30s takes a VAST tag (unlike
// this seller's own video_30s, which takes a video file), display_ext an
// image.
func testFormats(agentURL string) []any {
	fid := func(id string) map[string]any { return map[string]any{"agent_url": agentURL, "id": id} }
	return []any{
		map[string]any{"format_id": fid("video_30s"), "name": "CTV 30s (VAST)", "type": "video", "assets": []any{
			map[string]any{"item_type": "individual", "asset_id": "vast", "asset_type": "vast", "required": true},
			map[string]any{"item_type": "individual", "asset_id": "click_url", "asset_type": "url", "required": false},
		}},
		map[string]any{"format_id": fid("display_ext"), "name": "Agent display 300x250", "type": "display", "assets": []any{
			map[string]any{"item_type": "individual", "asset_id": "banner", "asset_type": "image", "required": true,
				"requirements": map[string]any{"min_width": 300, "max_width": 300, "min_height": 250, "max_height": 250}},
		}},
	}
}

func (a *creativeAgent) listFormats(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a.calls.Add(1)
	var args struct {
		Pagination struct {
			Cursor string `json:"cursor"`
		} `json:"pagination"`
	}
	if err := json.Unmarshal(req.Params.Arguments, &args); err != nil {
		return nil, err
	}
	all := a.catalog(a.url)
	page := map[string]any{"formats": all[:1], "pagination": map[string]any{"has_more": true, "cursor": "page2"}}
	if args.Pagination.Cursor == "page2" {
		page = map[string]any{"formats": all[1:], "pagination": map[string]any{"has_more": false}}
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "status: completed"}}, StructuredContent: page}, nil
}
