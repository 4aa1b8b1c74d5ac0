package events_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"example.com/creativesync/events"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func header(id string) events.Header {
	return events.Header{
		EventID:       id,
		CorrelationID: "corr-7f3a",
		OccurredAt:    time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC),
	}
}

func samples() []events.Event {
	decision := events.Decision{
		AccountID: "acct_demo", CreativeID: "banner_1", Revision: 2, Score: 0.95,
		Reasons:   []events.Reason{{Code: "FORMAT_OK", Message: "all required assets present"}},
		DecidedBy: events.DecidedByAuto,
	}
	return []events.Event{
		&events.CreativeSyncedV1{
			Header: header("0b8e5a52-1c1d-4c55-9d5e-5f4fd1f1a001"), AccountID: "acct_demo", PrincipalID: "prn_demo",
			CreativeID: "banner_1", Revision: 2, Action: "updated", ContentHash: "sha256:4f2a",
			Name:     "Holiday banner",
			FormatID: events.FormatID{AgentURL: "https://seller.example.com", ID: "display_300x250"},
			Format: &events.FormatSnapshot{Name: "Medium rectangle", Assets: []events.FormatAsset{
				{AssetID: "image", AssetType: "image", Required: true},
				{AssetID: "click_url", AssetType: "url", Required: false},
			}},
			Assets:     json.RawMessage(`{"image":{"asset_type":"image","url":"https://cdn.example.com/b.png","width":300,"height":250}}`),
			Tags:       []string{"q4"},
			Provenance: json.RawMessage(`{"digital_source_type":"digital_creation"}`),
			TaskID:     "task_01",
		},
		&events.CreativeArchivedV1{Header: header("0b8e5a52-1c1d-4c55-9d5e-5f4fd1f1a002"), AccountID: "acct_demo",
			CreativeID: "old_1", Revision: 4, Reason: "delete_missing"},
		&events.CreativeReviewRequestedV1{Header: header("0b8e5a52-1c1d-4c55-9d5e-5f4fd1f1a003"), AccountID: "acct_demo",
			CreativeID: "banner_1", Revision: 2, Score: 0.5,
			Reasons: []events.Reason{{Code: "AI_DISCLOSURE_MISSING", Message: "AI-generated without disclosure", Field: "provenance.disclosure"}}},
		&events.CreativeApprovedV1{Header: header("0b8e5a52-1c1d-4c55-9d5e-5f4fd1f1a004"), Decision: decision},
		&events.CreativeRejectedV1{Header: header("0b8e5a52-1c1d-4c55-9d5e-5f4fd1f1a005"), Decision: events.Decision{
			AccountID: "acct_demo", CreativeID: "banner_9", Revision: 1, Score: 0,
			Reasons:   []events.Reason{{Code: "REQUIRED_ASSET_MISSING", Message: "asset image is required", Field: "assets.image"}},
			DecidedBy: events.DecidedByHuman, Reviewer: "reviewer@seller.example.com"}},
		&events.CreativeSyncFileRequestedV1{Header: header("0b8e5a52-1c1d-4c55-9d5e-5f4fd1f1a007"), JobID: "job_abc123def456",
			AccountID: "acct_demo", Position: 3},
		&events.NotificationRequestedV1{Header: header("0b8e5a52-1c1d-4c55-9d5e-5f4fd1f1a006"),
			IdempotencyKey: "whk_0b8e5a521c1d4c55", AccountID: "acct_demo", TaskID: "task_01", Kind: "task_status",
			URL: "https://buyer.example.com/hooks", Token: "buyer-token-0123456789",
			Auth:    &events.WebhookAuth{Scheme: "HMAC-SHA256", Credentials: "0123456789abcdef0123456789abcdef"},
			Payload: json.RawMessage(`{"task_id":"task_01","status":"completed"}`)},
	}
}

func TestGoldenWireFormat(t *testing.T) {
	got := map[string]bool{}
	for _, ev := range samples() {
		name := ev.EventName()
		got[name] = true
		t.Run(name, func(t *testing.T) {
			b, err := json.MarshalIndent(ev, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			b = append(b, '\n')
			path := filepath.Join("testdata", name+".json")
			if *update {
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("golden file missing (run go test -update): %v", err)
			}
			if !bytes.Equal(b, want) {
				t.Fatalf("wire format of %s changed:\n got: %s\nwant: %s", name, b, want)
			}
			// Decoding the golden file must give back the same value.
			back := reflect.New(reflect.TypeOf(ev).Elem()).Interface()
			if err := json.Unmarshal(want, back); err != nil {
				t.Fatal(err)
			}
			again, _ := json.MarshalIndent(back, "", "  ")
			if !bytes.Equal(append(again, '\n'), want) {
				t.Fatalf("round trip of %s lost data:\n%s", name, again)
			}
		})
	}
	for _, topic := range events.Topics() {
		if !got[topic] {
			t.Errorf("event %s has no golden sample", topic)
		}
	}
}

func TestTopicNamesAreValidStreamNames(t *testing.T) {
	seen := map[string]bool{}
	for _, topic := range events.Topics() {
		if seen[topic] {
			t.Errorf("duplicate topic %s", topic)
		}
		seen[topic] = true
		for _, r := range topic {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
				t.Errorf("topic %q has %q; stream names must be [a-z0-9_]", topic, r)
			}
		}
		if len(topic) < 4 || topic[len(topic)-3:len(topic)-1] != "_v" {
			t.Errorf("topic %q lacks a _vN suffix", topic)
		}
	}
}
