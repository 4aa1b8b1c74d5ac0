package service_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"example.com/creativesync/services/ingest/internal/adcptest"
)

type bearer struct {
	key  string
	base http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if b.key != "" {
		r.Header.Set("Authorization", "Bearer "+b.key)
	}
	return b.base.RoundTrip(r)
}

func (s *stack) mcpSession(key string) *mcp.ClientSession {
	s.t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "test-buyer", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{
		Endpoint: s.url + "/mcp", HTTPClient: &http.Client{Transport: bearer{key, http.DefaultTransport}},
		DisableStandaloneSSE: true, MaxRetries: -1,
	}, nil)
	if err != nil {
		s.t.Fatalf("mcp connect: %v", err)
	}
	s.t.Cleanup(func() { cs.Close() })
	return cs
}

func call(t *testing.T, cs *mcp.ClientSession, tool string, args any) (*mcp.CallToolResult, []byte) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

func TestMCPTools(t *testing.T) {
	s := startIngest(t)
	anon := s.mcpSession("")
	tools, err := anon.ListTools(context.Background(), nil)
	must(t, err)
	declared := map[string]map[string]any{}
	for _, tl := range tools.Tools {
		b := jsonOf(tl.InputSchema)
		var sch struct{ Properties map[string]any }
		must(t, json.Unmarshal(b, &sch))
		declared[tl.Name] = sch.Properties
	}
	for _, want := range []string{"get_adcp_capabilities", "list_creative_formats", "sync_creatives", "list_creatives", "tasks/get"} {
		if declared[want] == nil {
			t.Errorf("tool %s missing or without properties", want)
		}
	}
	for _, field := range []string{"idempotency_key", "account", "creatives", "creative_ids", "assignments", "delete_missing", "dry_run", "validation_mode", "push_notification_config", "context", "adcp_major_version"} {
		if _, ok := declared["sync_creatives"][field]; !ok {
			t.Errorf("sync_creatives inputSchema does not declare %s", field)
		}
	}

	// Capabilities and formats are public.
	res, body := call(t, anon, "get_adcp_capabilities", map[string]any{"context": map[string]any{"correlation_id": "caps"}})
	if res.IsError {
		t.Fatalf("capabilities: %s", body)
	}
	adcptest.Validate(t, "protocol/get-adcp-capabilities-response.json", body)
	if !strings.Contains(string(body), `"replay_ttl_seconds":3600`) || !strings.Contains(string(body), `"correlation_id":"caps"`) {
		t.Errorf("capabilities: %s", body)
	}
	res, body = call(t, anon, "list_creative_formats", map[string]any{})
	if res.IsError {
		t.Fatalf("formats: %s", body)
	}
	adcptest.Validate(t, "media-buy/list-creative-formats-response.json", body)
	for _, id := range []string{"display_300x250", "video_30s", "native_content", "native_post", "audio_30s"} {
		if !strings.Contains(string(body), `"id":"`+id+`"`) {
			t.Errorf("format %s not listed", id)
		}
	}

	// type (a field generic clients only pass when the schema declares it)
	// filters the catalog.
	res, body = call(t, anon, "list_creative_formats", map[string]any{"type": "video"})
	var vids struct {
		Formats []struct{ Type string } `json:"formats"`
	}
	must(t, json.Unmarshal(body, &vids))
	if res.IsError || len(vids.Formats) == 0 {
		t.Fatalf("video formats: %s", body)
	}
	for _, f := range vids.Formats {
		if f.Type != "video" {
			t.Errorf("type filter let through a %s format", f.Type)
		}
	}
	if res, body = call(t, anon, "list_creative_formats", map[string]any{"type": "hologram"}); !res.IsError || !strings.Contains(string(body), `"field":"type"`) {
		t.Errorf("unknown type: %s", body)
	}

	// A protected tool without credentials is an HTTP 401 the client sees.
	if _, err := anon.CallTool(context.Background(), &mcp.CallToolParams{Name: "list_creatives", Arguments: map[string]any{}}); err == nil {
		t.Error("list_creatives without a key succeeded")
	}

	cs := s.mcpSession(s.key)
	req := syncReq(banner("m1"))
	res, body = call(t, cs, "sync_creatives", req)
	if res.IsError || !strings.Contains(string(body), `"action":"created"`) || !strings.Contains(string(body), `"status":"completed"`) {
		t.Fatalf("sync over MCP: %s", body)
	}
	adcptest.Validate(t, "creative/sync-creatives-response.json", body)
	res, body = call(t, cs, "sync_creatives", req)
	if res.IsError || !strings.Contains(string(body), `"replayed":true`) {
		t.Errorf("replay over MCP: %s", body)
	}
	res, body = call(t, cs, "list_creatives", map[string]any{"filters": map[string]any{"creative_ids": []string{"m1"}}, "context": map[string]any{"correlation_id": "l"}})
	adcptest.Validate(t, "creative/list-creatives-response.json", body)
	if res.IsError || !strings.Contains(string(body), `"creative_id":"m1"`) || !strings.Contains(string(body), `"correlation_id":"l"`) {
		t.Errorf("list over MCP: %s", body)
	}

	// Errors are isError results carrying adcp_error and the errors branch.
	bad := syncReq(banner("m2"))
	delete(bad, "idempotency_key")
	res, body = call(t, cs, "sync_creatives", bad)
	if !res.IsError || !strings.Contains(string(body), `"adcp_error":{"code":"INVALID_REQUEST"`) || !strings.Contains(string(body), `"correlation_id":"test-ctx"`) {
		t.Errorf("error over MCP: %s", body)
	}
	// Encodings that cannot be stored are refused as the caller's mistake.
	good := jsonOf(syncReq(banner("m3")))
	for name, args := range map[string]string{
		"NUL":            strings.Replace(string(good), "Banner m3", `Banner \u0000`, 1),
		"duplicate key":  strings.Replace(string(good), `"creative_id":"m3"`, `"creative_id":"m3","creative_id":"m4"`, 1),
		"lone surrogate": strings.Replace(string(good), "Banner m3", `\udfff`, 1),
	} {
		res, body = call(t, cs, "sync_creatives", json.RawMessage(args))
		if !res.IsError || !strings.Contains(string(body), `"adcp_error":{"code":"INVALID_REQUEST"`) || !strings.Contains(string(body), `"recovery":"correctable"`) {
			t.Errorf("%s over MCP: %s", name, body)
		}
	}
	res, body = call(t, cs, "tasks/get", map[string]any{"task_id": "task_unknown"})
	if !res.IsError || !strings.Contains(string(body), "REFERENCE_NOT_FOUND") {
		t.Errorf("unknown task: %s", body)
	}
}
