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

	"example.com/creativesync/services/ingest/internal/adcp"
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

// toolFunc runs one AdCP task over MCP; p is nil for a caller without
// credentials, which only the public tools accept (mcpGate).
type toolFunc func(ctx context.Context, p *creative.Principal, args []byte) adcp.Outcome

// authed adapts a task that needs a principal.
func authed(fn func(context.Context, creative.Principal, []byte) adcp.Outcome) toolFunc {
	return func(ctx context.Context, p *creative.Principal, args []byte) adcp.Outcome {
		return fn(ctx, *p, args)
	}
}

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
	tools := []struct {
		name, desc string
		fn         toolFunc
	}{
		{"get_adcp_capabilities", "Discover this seller's AdCP versions, protocols and idempotency window.",
			func(_ context.Context, _ *creative.Principal, args []byte) adcp.Outcome { return a.capabilities(args) }},
		{"list_creative_formats", "List the creative formats this seller accepts, with their asset requirements.",
			a.listFormats},
		{"sync_creatives", "Create or update creatives in an account's library (upsert by creative_id), with dry runs, scoping, delete_missing and package assignments.",
			authed(a.syncCreatives)},
		{"list_creatives", "List the creatives of your accounts with filters, sorting and cursor pagination; status is authoritative here.",
			authed(a.listCreatives)},
		{"tasks/get", "Poll an async task (e.g. a submitted sync_creatives) for its status and result.",
			authed(a.getTask)},
	}
	for _, t := range tools {
		srv.AddTool(&mcp.Tool{Name: t.name, Description: t.desc, InputSchema: schemas[t.name]}, a.toolHandler(t.fn))
	}
	srv.AddTool(&mcp.Tool{Name: "comply_test_controller", InputSchema: schemas["comply_test_controller"],
		Description: "Sandbox accounts only: seed creatives and formats and force creative review statuses for deterministic tests."},
		func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return a.complyTestController(ctx, *principalFrom(ctx), toolArgs(req)), nil
		})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
		&mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true, Logger: sdkLog})
	return a.mcpGate(h)
}

func (a *API) toolHandler(fn toolFunc) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return toolResult(fn(ctx, principalFrom(ctx), toolArgs(req))), nil
	}
}

// toolArgs returns a call's arguments, {} when it sent none.
func toolArgs(req *mcp.CallToolRequest) []byte {
	args := bytes.TrimSpace(req.Params.Arguments)
	if len(args) == 0 || string(args) == "null" {
		return []byte("{}")
	}
	return args
}

// toolResult renders an outcome as AdCP over MCP: the response object is the
// structuredContent; a failure is an isError result whose structuredContent
// is the error branch plus adcp_error, with adcp_error as text too.
func toolResult(o adcp.Outcome) *mcp.CallToolResult {
	if !o.Failed {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: o.Summary}}, StructuredContent: o.Body}
	}
	e := adcp.MCPErrorOf(o)
	// Marshalling an AdCP error object (strings, ints, a map of strings)
	// cannot fail.
	text, _ := json.Marshal(struct {
		AdcpError *adcp.Error `json:"adcp_error"`
	}{e.AdcpError})
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: string(text)}}, StructuredContent: e}
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
				o := a.fail(r.Context(), err, nil)
				a.writeJSON(w, r, http.StatusUnauthorized, o.Body)
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
	// A body that does not decode names no tools here; the SDK answers it
	// with the JSON-RPC parse error it deserves.
	trimmed := bytes.TrimSpace(body)
	if strings.HasPrefix(string(trimmed), "[") {
		if json.Unmarshal(trimmed, &msgs) != nil {
			return nil
		}
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

// knownToolNameWarning is what the SDK logs, as an error, for AdCP's
// tasks/get: its naming rule (SEP-986) has no "/", but it registers and
// serves the tool anyway, and AdCP 3.0 clients call it by that name. An
// ERROR at every start would teach operators to ignore errors.
const knownToolNameWarning = `AddTool: invalid tool name "tasks/get"`

func (h minLevel) Handle(ctx context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, knownToolNameWarning) {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(attrs), h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.min}
}
