package httpapi

import (
	"encoding/json"
	"io/fs"
	"strings"
	"testing"

	"example.com/creativesync/platform/adcpschema"
)

// Generic MCP clients drop arguments a tool's inputSchema does not declare,
// so every field of each AdCP 3.0 request schema, deprecated ones included,
// must be declared by the tool.
func TestToolSchemasDeclareEveryRequestField(t *testing.T) {
	var tools map[string]struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(toolSchemas, &tools); err != nil {
		t.Fatal(err)
	}
	for tool, schemas := range map[string][]string{
		"sync_creatives":        {"creative/sync-creatives-request.json"},
		"list_creatives":        {"creative/list-creatives-request.json"},
		"list_creative_formats": {"creative/list-creative-formats-request.json", "media-buy/list-creative-formats-request.json"},
		"get_adcp_capabilities": {"protocol/get-adcp-capabilities-request.json"},
		"tasks/get":             {"core/tasks-get-request.json"},
		"sync_accounts":         {"3.0.6/account/sync-accounts-request.json"},
		"list_accounts":         {"3.0.6/account/list-accounts-request.json"},
	} {
		declared := tools[tool].Properties
		if declared == nil {
			t.Errorf("%s: no inputSchema", tool)
			continue
		}
		for _, name := range schemas {
			tree, rel := adcpschema.FS(), name
			if r, ok := strings.CutPrefix(name, adcpschema.AccountsVersion+"/"); ok {
				tree, rel = adcpschema.AccountsFS(), r
			}
			b, err := fs.ReadFile(tree, rel)
			if err != nil {
				t.Fatal(err)
			}
			var sch struct {
				Properties map[string]json.RawMessage `json:"properties"`
			}
			if err := json.Unmarshal(b, &sch); err != nil {
				t.Fatal(err)
			}
			if len(sch.Properties) == 0 {
				t.Fatalf("%s has no properties", name)
			}
			for field := range sch.Properties {
				if _, ok := declared[field]; !ok {
					t.Errorf("%s inputSchema does not declare %s (from %s)", tool, field, name)
				}
			}
		}
	}
}
