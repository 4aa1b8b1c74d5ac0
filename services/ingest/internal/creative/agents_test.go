package creative

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAgentFormatsKeepTheLastKnownWhenAnAgentFails(t *testing.T) {
	a := NewAgentFormats([]string{"https://Creative.Example.com/", "https://creative.example.com"})
	if got := a.URLs(); len(got) != 1 {
		t.Fatalf("one agent, two spellings: %q", got)
	}
	if err := a.Health(); err == nil || !strings.Contains(err.Error(), "not fetched yet") {
		t.Errorf("before the first refresh: %v", err)
	}
	def := func(agent, id string) json.RawMessage {
		return json.RawMessage(`{"format_id":{"agent_url":"` + agent + `","id":"` + id + `"},"name":"` + id + `"}`)
	}
	err := a.Update("https://creative.example.com", []json.RawMessage{
		def("https://creative.example.com", "v30"), def("https://other.example", "stolen"), json.RawMessage(`{"name":"no id"}`),
	}, nil, time.Now())
	if err == nil || !strings.Contains(err.Error(), "2 format(s) skipped") {
		t.Errorf("formats another agent owns or without an id: %v", err)
	}
	if _, ok := a.Lookup("https://creative.example.com:443/", "v30"); !ok {
		t.Error("v30 not found under an equivalent spelling of the agent URL")
	}
	if _, ok := a.Lookup("https://creative.example.com", "stolen"); ok {
		t.Error("a format naming another agent was accepted")
	}
	if err := a.Health(); err != nil {
		t.Errorf("after a good refresh: %v", err)
	}
	if err := a.Update("https://creative.example.com", nil, errors.New("connection refused"), time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Lookup("https://creative.example.com", "v30"); !ok {
		t.Error("a failed refresh dropped the last known formats")
	}
	if err := a.Health(); err == nil || !strings.Contains(err.Error(), "connection refused (serving 1 known formats)") {
		t.Errorf("health while down: %v", err)
	}
	if err := a.Update("https://untrusted.example", nil, nil, time.Now()); err == nil {
		t.Error("an untrusted agent was updated")
	}
	var none *AgentFormats
	if none.Trusts("https://creative.example.com") || none.Health() != nil {
		t.Error("no agents configured")
	}
}
