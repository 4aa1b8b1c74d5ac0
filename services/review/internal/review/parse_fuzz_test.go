package review

import (
	"encoding/json"
	"testing"

	"example.com/creativesync/events"
)

// A creative_synced_v1 payload is outside input relayed by ingest: whatever
// it holds, parsing answers a creative or an error, never a panic.
func FuzzParseCreative(f *testing.F) {
	f.Add([]byte(`{"event_id":"e","account_id":"a","creative_id":"c","revision":1,"name":"n","format_id":{"agent_url":"https://s","id":"f"},"assets":{"image":{"asset_type":"image","url":"https://c/a.png","width":300,"height":250,"provenance":{"digital_source_type":"trained_algorithmic_model"}}},"provenance":{"disclosure":{}}}`))
	f.Add([]byte(`{"assets":{"x":{"asset_type":"text","content":"Vote","alt_text":"y"}},"tags":["a"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev events.CreativeSyncedV1
		if json.Unmarshal(b, &ev) != nil {
			return
		}
		c, err := ParseCreative(&ev)
		if err != nil {
			return
		}
		for id, a := range c.Assets {
			if a.Declared.Width < 0 || a.Declared.Height < 0 || a.Declared.DurationMS < 0 {
				t.Fatalf("asset %s declared negative sizes: %+v", id, a.Declared)
			}
		}
	})
}
