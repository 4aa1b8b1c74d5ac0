package httpapi

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"example.com/creativesync/services/ingest/internal/creative"
)

// toolSchemas holds each tool's inputSchema: the top-level properties of the
// AdCP 3.0 request schema, flattened so generic MCP clients need not resolve
// AdCP's relative $refs. Clients drop arguments a schema does not declare,
// so every request field is listed.
//
//go:embed tool_schemas.json
var toolSchemas []byte

// publicTools answer without credentials.
var publicTools = []string{"get_adcp_capabilities", "list_creative_formats"}

type toolFunc func(ctx context.Context, p creative.Principal, args []byte) outcome

// mcpHandler serves MCP over streamable HTTP, stateless: each AdCP call is
// its own exchange, so no session state accumulates.
func (a *API) mcpHandler() http.Handler {
	// The SDK logs every stateless session at info; only its warnings matter.
	sdkLog := slog.New(minLevel{a.log.Handler(), slog.LevelWarn})
	srv := mcp.NewServer(&mcp.Implementation{Name: "creativesync-ingest", Version: a.cfg.Version}, &mcp.ServerOptions{Logger: sdkLog})
	var schemas map[string]json.RawMessage
	if err := json.Unmarshal(toolSchemas, &schemas); err != nil {
		panic("tool_schemas.json: " + err.Error())
	}
	tools := map[string]struct {
		desc string
		fn   toolFunc
	}{
		"get_adcp_capabilities": {"Discover this seller's AdCP versions, protocols and idempotency window.",
			func(ctx context.Context, _ creative.Principal, args []byte) outcome {
				return outcome{status: http.StatusOK, body: a.capabilities(creative.ContextOf(args))}
			}},
		"list_creative_formats": {"List the creative formats this seller accepts, with their asset requirements.",
			a.listFormats},
		"sync_creatives": {"Create or update creatives in an account's library (upsert by creative_id), with dry runs, scoping, delete_missing and package assignments.",
			a.syncCreatives},
		"list_creatives": {"List the creatives of your accounts with filters, sorting and cursor pagination; status is authoritative here.",
			a.listCreatives},
		"tasks/get": {"Poll an async task (e.g. a submitted sync_creatives) for its status and result.",
			a.getTask},
	}
	for name, t := range tools {
		srv.AddTool(&mcp.Tool{Name: name, Description: t.desc, InputSchema: schemas[name]}, a.toolHandler(name, t.fn))
	}
	srv.AddTool(&mcp.Tool{Name: "comply_test_controller", InputSchema: schemas["comply_test_controller"],
		Description: "Sandbox accounts only: seed creatives and formats and force creative review statuses for deterministic tests."},
		func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			p, _ := principalFrom(ctx)
			return a.complyTestController(ctx, p, toolArgs(req)), nil
		})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
		&mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true, Logger: sdkLog})
	return a.mcpGate(h)
}

func (a *API) toolHandler(name string, fn toolFunc) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		p, _ := principalFrom(ctx)
		o := fn(ctx, p, toolArgs(req))
		return toolResult(o), nil
	}
}

// toolArgs returns a call's arguments, {} when it sent none.
func toolArgs(req *mcp.CallToolRequest) []byte {
	args := []byte(req.Params.Arguments)
	if len(bytes.TrimSpace(args)) == 0 || string(bytes.TrimSpace(args)) == "null" {
		return []byte("{}")
	}
	return args
}

// toolResult renders an outcome as AdCP over MCP: the response object is the
// structuredContent; a failure also carries adcp_error and isError.
func toolResult(o outcome) *mcp.CallToolResult {
	b, _ := json.Marshal(o.body)
	if !o.failed {
		var summary string
		var probe struct {
			Status string `json:"status"`
		}
		_ = json.Unmarshal(b, &probe)
		summary = "status: " + probe.Status
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: summary}}, StructuredContent: json.RawMessage(b)}
	}
	var eb errorBody
	_ = json.Unmarshal(b, &eb)
	sc := map[string]any{"errors": eb.Errors, "status": "failed"}
	if len(eb.Errors) > 0 {
		sc["adcp_error"] = eb.Errors[0]
	}
	if len(eb.Context) > 0 {
		sc["context"] = eb.Context
	}
	text, _ := json.Marshal(map[string]any{"adcp_error": sc["adcp_error"]})
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: string(text)}}, StructuredContent: sc}
}

// mcpGate authenticates MCP requests. The handshake and public tools need no
// credentials; a tools/call of any other tool without a valid key gets HTTP
// 401 with WWW-Authenticate, which is what AdCP clients and the compliance
// suite expect (an in-band tool error would not trigger re-authentication).
func (a *API) mcpGate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		body, ok := a.readBody(w, r)
		if !ok {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		needsAuth := false
		for _, name := range calledTools(body) {
			if !slices.Contains(publicTools, name) {
				needsAuth = true
			}
		}
		key := apiKey(r)
		if key != "" || needsAuth {
			p, err := a.svc.Authenticate(r.Context(), key)
			if err != nil && needsAuth {
				w.Header().Set("WWW-Authenticate", challenge)
				o := a.render(r.Context(), 0, nil, err, nil)
				writeJSON(w, http.StatusUnauthorized, o.body)
				return
			}
			if err == nil {
				r = r.WithContext(withPrincipal(r.Context(), p))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// calledTools returns the tool names of every tools/call in a JSON-RPC
// message or batch.
func calledTools(body []byte) []string {
	type call struct {
		Method string `json:"method"`
		Params struct {
			Name string `json:"name"`
		} `json:"params"`
	}
	var msgs []call
	trimmed := bytes.TrimSpace(body)
	if strings.HasPrefix(string(trimmed), "[") {
		_ = json.Unmarshal(trimmed, &msgs)
	} else {
		var one call
		if json.Unmarshal(trimmed, &one) == nil {
			msgs = []call{one}
		}
	}
	var names []string
	for _, m := range msgs {
		if m.Method == "tools/call" {
			names = append(names, m.Params.Name)
		}
	}
	return names
}

// minLevel drops records below a level before they reach the handler.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(attrs), h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.min}
}
