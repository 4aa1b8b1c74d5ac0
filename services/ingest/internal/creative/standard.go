package creative

import (
	_ "embed"
	"encoding/json"
	"fmt"
)

//go:embed standard_formats.json
var standardFormats []byte

// StandardFormats returns the formats every deployment serves, with
// format_id.agent_url set to agentURL (this seller's own agent).
func StandardFormats(agentURL string) ([]json.RawMessage, error) {
	var defs []map[string]any
	if err := json.Unmarshal(standardFormats, &defs); err != nil {
		return nil, fmt.Errorf("standard formats: %w", err)
	}
	out := make([]json.RawMessage, len(defs))
	for i, d := range defs {
		d["format_id"].(map[string]any)["agent_url"] = agentURL
		b, err := json.Marshal(d)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}
