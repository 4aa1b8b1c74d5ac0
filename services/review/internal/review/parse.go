package review

import (
	"bytes"
	"encoding/json"
	"strings"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/apperr"
)

// textAssetTypes carry prose a person reads; their content is matched
// against the category keywords. Script and style content is not prose and
// would only produce false positives.
var textAssetTypes = map[string]bool{"text": true, "markdown": true, "html": true}

// textFields are asset fields holding prose in any asset type.
var textFields = []string{"alt_text", "description", "headline", "title"}

// ParseCreative turns a creative_synced_v1 event into what the rules judge.
// An event that breaks the contract (no ids, a manifest that is not an
// object of objects) is an INVALID_EVENT error: retrying cannot fix it.
func ParseCreative(ev *events.CreativeSyncedV1) (Creative, error) {
	k := Key{AccountID: ev.AccountID, CreativeID: ev.CreativeID, Revision: ev.Revision}
	switch {
	case strings.TrimSpace(k.AccountID) == "":
		return Creative{}, invalidEvent("account_id", "account_id is empty")
	case strings.TrimSpace(k.CreativeID) == "":
		return Creative{}, invalidEvent("creative_id", "creative_id is empty")
	case k.Revision < 1:
		return Creative{}, invalidEvent("revision", "revision must be at least 1, got %d", k.Revision)
	}
	assets, err := ParseAssets(ev.Assets)
	if err != nil {
		return Creative{}, err
	}
	prov, err := parseProvenance(ev.Provenance, "provenance")
	if err != nil {
		return Creative{}, err
	}
	return Creative{
		Key:        k,
		Name:       ev.Name,
		FormatID:   ev.FormatID,
		Format:     ev.Format,
		Assets:     assets,
		Tags:       ev.Tags,
		Provenance: prov,
	}, nil
}

// SnapshotOf keeps what a reviewer needs to see of the event.
func SnapshotOf(ev *events.CreativeSyncedV1) Snapshot {
	s := Snapshot{
		Name:       ev.Name,
		FormatID:   ev.FormatID,
		Assets:     ev.Assets,
		Tags:       ev.Tags,
		Provenance: ev.Provenance,
	}
	if ev.Format != nil {
		s.FormatName = ev.Format.Name
		for _, fa := range ev.Format.Assets {
			s.FormatAssets = append(s.FormatAssets, fa.AssetID)
		}
	}
	if isNull(s.Assets) {
		s.Assets = json.RawMessage(`{}`)
	}
	if isNull(s.Provenance) {
		s.Provenance = nil
	}
	return s
}

// ParseAssets reads an AdCP manifest: an object keyed by asset_id whose
// values are asset objects discriminated by asset_type.
func ParseAssets(raw json.RawMessage) (map[string]Asset, error) {
	out := map[string]Asset{}
	if isNull(raw) {
		return out, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, invalidEvent("assets", "assets must be an object keyed by asset_id: %v", err)
	}
	for id, v := range fields {
		a, err := parseAsset(id, v)
		if err != nil {
			return nil, err
		}
		out[id] = a
	}
	return out, nil
}

func parseAsset(id string, raw json.RawMessage) (Asset, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return Asset{}, invalidEvent("assets."+id, "asset %q must be an object", id)
	}
	a := Asset{Type: stringField(obj, "asset_type"), URLs: map[string]string{}}
	for k, v := range obj {
		if k == "url" || strings.HasSuffix(k, "_url") {
			if s, ok := asString(v); ok {
				a.URLs[k] = s
			}
		}
	}
	var text []string
	if textAssetTypes[a.Type] {
		if s := stringField(obj, "content"); s != "" {
			text = append(text, s)
		}
	}
	for _, f := range textFields {
		if s := stringField(obj, f); s != "" {
			text = append(text, s)
		}
	}
	a.Text = strings.Join(text, "\n")
	for name, dst := range map[string]*int{"width": &a.Declared.Width, "height": &a.Declared.Height, "duration_ms": &a.Declared.DurationMS} {
		var n float64
		if v, ok := obj[name]; ok && json.Unmarshal(v, &n) == nil && n > 0 && n == float64(int(n)) {
			*dst = int(n)
		}
	}
	p, err := parseProvenance(obj["provenance"], "assets."+id+".provenance")
	if err != nil {
		return Asset{}, err
	}
	a.Provenance = p
	return a, nil
}

func parseProvenance(raw json.RawMessage, field string) (*Provenance, error) {
	if isNull(raw) {
		return nil, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, invalidEvent(field, "%s must be an object", field)
	}
	return &Provenance{
		DigitalSourceType: stringField(obj, "digital_source_type"),
		Disclosed:         present(obj["disclosure"]),
	}, nil
}

// present reports whether a JSON value says something: not absent, null,
// an empty string or an empty object.
func present(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	if isNull(t) {
		return false
	}
	switch string(t) {
	case `""`, `{}`, `[]`:
		return false
	}
	return true
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

func stringField(obj map[string]json.RawMessage, key string) string {
	s, _ := asString(obj[key])
	return s
}

func asString(raw json.RawMessage) (string, bool) {
	var s string
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

func invalidEvent(field, format string, args ...any) error {
	return apperr.Newf(CodeInvalidEvent, format, args...).WithField(field).WithRecovery(apperr.Terminal)
}
