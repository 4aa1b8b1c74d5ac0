package creative

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"example.com/creativesync/events"
)

// The planner is pure: these tables state the sync rules of AdCP 3.0
// against in-memory state, without a database.

var planNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func testEnv() planEnv {
	n := 0
	return planEnv{
		Now:           planNow,
		NewID:         func(p string) string { n++; return fmt.Sprintf("%s%d", p, n) },
		NewEventID:    func() string { n++; return fmt.Sprintf("ev%d", n) },
		CorrelationID: "corr",
	}
}

func testCatalog(t *testing.T) *Registry {
	t.Helper()
	defs, err := StandardFormats("https://s.example")
	if err != nil {
		t.Fatal(err)
	}
	var fs []Format
	for _, d := range defs {
		f, err := ParseFormat(d)
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	return NewRegistry(fs, []string{"https://s.example"})
}

// input builds a valid banner input; name varies its content.
func input(t *testing.T, i int, id, name string) Input {
	t.Helper()
	body := map[string]json.RawMessage{
		"creative_id": json.RawMessage(`"` + id + `"`),
		"name":        json.RawMessage(`"` + name + `"`),
		"format_id":   json.RawMessage(`{"agent_url":"https://s.example","id":"display_300x250"}`),
		"assets":      json.RawMessage(`{"image":{"asset_type":"image","url":"https://c.example/a.png","width":300,"height":250}}`),
	}
	h, err := CanonicalHash(body)
	if err != nil {
		t.Fatal(err)
	}
	var assets map[string]json.RawMessage
	if err := json.Unmarshal(body["assets"], &assets); err != nil {
		t.Fatal(err)
	}
	return Input{Index: i, CreativeID: id, Name: name, FormatID: FormatID{AgentURL: "https://s.example", ID: "display_300x250"},
		Assets: assets, Body: body, ContentHash: h}
}

// stored is what the store would hold after syncing in at revision rev.
func stored(in Input, rev int64, status string, archived bool) Creative {
	c := Creative{AccountID: "acct", CreativeID: in.CreativeID, PlatformID: "crv_" + in.CreativeID, Name: in.Name,
		FormatID: in.FormatID, Body: in.Body, ContentHash: in.ContentHash, Revision: rev, Status: status,
		CreatedAt: planNow.Add(-time.Hour), UpdatedAt: planNow.Add(-time.Hour)}
	if archived {
		at := planNow.Add(-time.Minute)
		c.ArchivedAt = &at
	}
	return c
}

func TestPlanSync(t *testing.T) {
	cat := testCatalog(t)
	p, acct := Principal{ID: "buyer"}, Account{ID: "acct", PrincipalID: "buyer"}
	a1, a1b, b1 := input(t, 0, "a", "A"), input(t, 0, "a", "A renamed"), input(t, 1, "b", "B")
	push := &PushConfig{URL: "https://buyer.example/hook"}

	type want struct {
		actions   []string // per result, "id:action[:status]"
		upserts   []string // "id@revision"
		archives  []string // "id@revision"
		assigned  []string // "creative>package"
		events    []string // event names
		blocked   int
		task      bool
		waitItems int
	}
	cases := []struct {
		name  string
		cmd   SyncCommand
		state SyncState
		want  want
	}{
		{
			name: "new creatives are created at revision 1 and go to review",
			cmd:  SyncCommand{Creatives: []Input{a1, b1}},
			want: want{actions: []string{"a:created:pending_review", "b:created:pending_review"}, upserts: []string{"a@1", "b@1"},
				events: []string{"creative_synced_v1", "creative_synced_v1"}},
		},
		{
			name:  "same content is unchanged and keeps its status; nothing is written",
			cmd:   SyncCommand{Creatives: []Input{a1}},
			state: SyncState{Current: map[string]Creative{"a": stored(a1, 3, StatusApproved, false)}},
			want:  want{actions: []string{"a:unchanged:approved"}},
		},
		{
			name:  "changed content is updated at the next revision and re-reviewed",
			cmd:   SyncCommand{Creatives: []Input{a1b}},
			state: SyncState{Current: map[string]Creative{"a": stored(a1, 3, StatusApproved, false)}},
			want:  want{actions: []string{"a:updated:pending_review"}, upserts: []string{"a@4"}, events: []string{"creative_synced_v1"}},
		},
		{
			name:  "an archived creative synced again comes back as updated",
			cmd:   SyncCommand{Creatives: []Input{a1}},
			state: SyncState{Current: map[string]Creative{"a": stored(a1, 2, StatusArchived, true)}},
			want:  want{actions: []string{"a:updated:pending_review"}, upserts: []string{"a@3"}, events: []string{"creative_synced_v1"}},
		},
		{
			name: "a change to a creative on an active package is refused and blocks strict mode",
			cmd:  SyncCommand{Creatives: []Input{a1b, b1}},
			state: SyncState{Current: map[string]Creative{"a": stored(a1, 1, StatusApproved, false)},
				Active: map[string][]string{"a": {"pkg_live"}}},
			want: want{actions: []string{"a:failed", "b:created:pending_review"}, upserts: []string{"b@1"},
				events: []string{"creative_synced_v1"}, blocked: 1},
		},
		{
			name:  "dry run plans the same answer and writes nothing",
			cmd:   SyncCommand{Creatives: []Input{a1b, b1}, DryRun: true, Push: push},
			state: SyncState{Current: map[string]Creative{"a": stored(a1, 1, StatusApproved, false)}},
			want:  want{actions: []string{"a:updated:pending_review", "b:created:pending_review"}},
		},
		{
			name: "delete_missing archives the library creatives the sync left out, except those delivering",
			cmd:  SyncCommand{Creatives: []Input{a1}, DeleteMissing: true},
			state: SyncState{Current: map[string]Creative{"a": stored(a1, 1, StatusApproved, false)},
				Library: map[string]int64{"a": 1, "old": 4, "live": 2}, Active: map[string][]string{"live": {"pkg"}}},
			want: want{actions: []string{"a:unchanged:approved", "live:failed", "old:deleted"}, archives: []string{"old@5"},
				events: []string{"creative_archived_v1"}, blocked: 1},
		},
		{
			name: "assignments: unknown packages and rejected creatives are reported, the rest written",
			cmd: SyncCommand{Creatives: []Input{a1, b1}, Assignments: []Assignment{
				{CreativeID: "a", PackageID: "p1"}, {CreativeID: "a", PackageID: "nope"}, {CreativeID: "b", PackageID: "p1"},
				{CreativeID: "not_in_sync", PackageID: "p1"}}},
			state: SyncState{Current: map[string]Creative{"a": stored(a1, 1, StatusRejected, false)},
				Packages: map[string]Package{"p1": {ID: "p1", Status: "active"}}},
			want: want{actions: []string{"a:unchanged:rejected", "b:created:pending_review"}, upserts: []string{"b@1"},
				assigned: []string{"b>p1"}, events: []string{"creative_synced_v1"}},
		},
		{
			name:  "push config makes a task waiting on the creatives review must decide",
			cmd:   SyncCommand{Creatives: []Input{a1, b1}, Push: push},
			state: SyncState{Current: map[string]Creative{"a": stored(a1, 1, StatusApproved, false)}},
			want: want{actions: []string{"a:unchanged:approved", "b:created:pending_review"}, upserts: []string{"b@1"},
				events: []string{"creative_synced_v1"}, task: true, waitItems: 1},
		},
		{
			name:  "push config without anything to review answers at once",
			cmd:   SyncCommand{Creatives: []Input{a1}, Push: push},
			state: SyncState{Current: map[string]Creative{"a": stored(a1, 1, StatusApproved, false)}},
			want:  want{actions: []string{"a:unchanged:approved"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			results, ok, invalid := validateInputs(cat, tc.cmd)
			if len(invalid) > 0 {
				t.Fatalf("inputs invalid: %v", invalid)
			}
			st := tc.state
			if st.Current == nil {
				st.Current = map[string]Creative{}
			}
			plan := planSync(p, acct, cat, tc.cmd, results, ok, st, testEnv())
			var got want
			var rs []SyncResult
			if plan.Response.Creatives != nil {
				rs = *plan.Response.Creatives
			} else {
				for _, it := range plan.Writes.TaskItems {
					rs = append(rs, it.Outcome)
				}
			}
			for _, r := range rs {
				s := r.CreativeID + ":" + r.Action
				if r.Status != "" {
					s += ":" + r.Status
				}
				got.actions = append(got.actions, s)
			}
			for _, c := range plan.Writes.Upserts {
				got.upserts = append(got.upserts, fmt.Sprintf("%s@%d", c.CreativeID, c.Revision))
			}
			for _, a := range plan.Writes.Archives {
				got.archives = append(got.archives, fmt.Sprintf("%s@%d", a.CreativeID, a.Revision))
			}
			for _, a := range plan.Writes.Assignments {
				got.assigned = append(got.assigned, a.CreativeID+">"+a.PackageID)
			}
			for _, e := range plan.Writes.Events {
				got.events = append(got.events, e.EventName())
			}
			got.blocked = len(plan.Blocked)
			got.task = plan.Writes.Task != nil
			for _, it := range plan.Writes.TaskItems {
				if !it.Decided {
					got.waitItems++
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("\n got %+v\nwant %+v", got, tc.want)
			}
			if got.task != (plan.Response.Status == "submitted") {
				t.Errorf("response status %s with task %v", plan.Response.Status, got.task)
			}
		})
	}
}

func TestPlanEventsCarryRevisionHashAndTask(t *testing.T) {
	cat := testCatalog(t)
	in := input(t, 0, "a", "A")
	cmd := SyncCommand{Creatives: []Input{in}, Push: &PushConfig{URL: "https://b.example/h"}}
	results, ok, _ := validateInputs(cat, cmd)
	plan := planSync(Principal{ID: "buyer"}, Account{ID: "acct"}, cat, cmd, results, ok, SyncState{Current: map[string]Creative{}}, testEnv())
	ev, isSynced := plan.Writes.Events[0].(*events.CreativeSyncedV1)
	if !isSynced {
		t.Fatalf("event %T", plan.Writes.Events[0])
	}
	if ev.Revision != 1 || ev.ContentHash != in.ContentHash || ev.TaskID != plan.Writes.Task.ID || ev.Format == nil ||
		ev.CorrelationID != "corr" || ev.PrincipalID != "buyer" || !strings.Contains(string(ev.Assets), "a.png") {
		t.Fatalf("event %+v", ev)
	}
}

func TestValidateInputsScopesAndChecksFormats(t *testing.T) {
	cat := testCatalog(t)
	good, other := input(t, 0, "a", "A"), input(t, 1, "b", "B")
	unknown := input(t, 2, "c", "C")
	unknown.FormatID.ID = "nope"
	foreign := input(t, 3, "d", "D")
	foreign.FormatID.AgentURL = "https://elsewhere.example"
	cmd := SyncCommand{Creatives: []Input{good, other, unknown, foreign}, CreativeIDs: []string{"a", "c", "d"}}
	results, ok, invalid := validateInputs(cat, cmd)
	if !slices.Equal(ok, []bool{true, false, false, false}) {
		t.Fatalf("ok %v", ok)
	}
	if results[1].Errors[0].Code != CodeInvalidRequest || results[2].Errors[0].Field != "creatives[2].format_id.id" ||
		results[3].Errors[0].Field != "creatives[3].format_id.agent_url" {
		t.Fatalf("results %+v", results)
	}
	// Out-of-scope creatives are skipped, not invalid: strict mode does not
	// refuse the request for them.
	if len(invalid) != 2 {
		t.Fatalf("invalid %v", invalid)
	}
}
