package creative

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"example.com/creativesync/events"
)

// This file plans a sync as pure code: given the request, the account's
// catalog and the current state of every creative the request touches, it
// decides every per-creative action and the exact writes and events that
// carry them out. Nothing here touches a database, so the rules are table
// tested directly (plan_test.go), and the store commits a plan with a
// constant number of statements whatever its size.

// SyncState is what a sync reads, under lock, before planning.
type SyncState struct {
	// Current holds the stored creatives the request names (archived ones
	// included), by creative_id.
	Current map[string]Creative
	// Library holds, for delete_missing, every unarchived creative of the
	// account by id with its revision.
	Library map[string]int64
	// Active lists, per creative, the active packages it is assigned to
	// (for the request's creatives and the library's).
	Active map[string][]string
	// Packages are the account's packages the assignments name.
	Packages map[string]Package
}

// SyncWrites is what committing a plan writes, all in one transaction.
type SyncWrites struct {
	Upserts     []Creative
	Archives    []Archive
	Assignments []Assignment
	Task        *Task
	TaskItems   []TaskItem
	Events      []events.Event
}

// Archive moves a creative out of the active library at a new revision.
type Archive struct {
	AccountID  string
	CreativeID string
	Revision   int64
	At         time.Time
}

// SyncPlan is a planned sync: the response and the writes behind it.
type SyncPlan struct {
	Response SyncResponse
	Writes   SyncWrites
	// Blocked are the errors of creatives active delivery holds; in strict
	// mode any of them refuses the whole request.
	Blocked []Error
}

// planEnv is what planning needs from the world besides state: time, fresh
// ids and the request's correlation id. Tests make it deterministic.
type planEnv struct {
	Now           time.Time
	NewID         func(prefix string) string
	NewEventID    func() string
	CorrelationID string
}

// planner holds one sync's inputs while planSync works through them.
type planner struct {
	p       Principal
	acct    Account
	catalog *Registry
	cmd     SyncCommand
	st      SyncState
	env     planEnv

	results  []SyncResult
	writes   SyncWrites
	blocked  []Error
	waiting  map[int]int64 // result position -> revision review will decide
	statusOf map[string]string
}

// planSync plans cmd for principal p on account acct. results and ok come
// from validateInputs: ok[i] says whether creative i may be applied.
func planSync(p Principal, acct Account, catalog *Registry, cmd SyncCommand, results []SyncResult, ok []bool, st SyncState, env planEnv) SyncPlan {
	pl := &planner{p: p, acct: acct, catalog: catalog, cmd: cmd, st: st, env: env, results: results,
		waiting: map[int]int64{}, statusOf: map[string]string{}}
	for i, in := range cmd.Creatives {
		if ok[i] {
			pl.creative(i, in)
		}
	}
	pl.writes.Assignments = planAssignments(acct, cmd, pl.results, st.Packages, pl.statusOf)
	if cmd.DeleteMissing {
		pl.deleteMissing()
	}
	return pl.finish()
}

// creative plans input i: unchanged, refused (held by active delivery),
// or created/updated at the next revision.
func (pl *planner) creative(i int, in Input) {
	r := &pl.results[i]
	old, exists := pl.st.Current[in.CreativeID]
	merged, hash := in.Body, in.ContentHash
	if exists {
		// A partial update keeps the stored fields it does not name.
		merged = mergeBody(old.Body, in.Body)
		if len(merged) != len(in.Body) {
			var err error
			if hash, err = CanonicalHash(merged); err != nil {
				*r = SyncResult{CreativeID: in.CreativeID, Action: ActionFailed, Errors: []Error{{Code: CodeValidation,
					Field: fmt.Sprintf("creatives[%d]", in.Index), Message: "creative cannot be canonicalised: " + err.Error(), Recovery: "correctable"}}}
				return
			}
		}
	}
	if exists && old.ArchivedAt == nil && old.ContentHash == hash {
		r.Action, r.Status, r.PlatformID = ActionUnchanged, old.Status, old.PlatformID
		pl.statusOf[in.CreativeID] = old.Status
		return
	}
	if pk := pl.st.Active[in.CreativeID]; exists && len(pk) > 0 {
		e := Error{Code: CodeInvalidState, Field: fmt.Sprintf("creatives[%d]", in.Index), Recovery: "correctable",
			Message: fmt.Sprintf("creative %s is assigned to active package(s) %s and cannot change while they deliver; pause them or sync under a new creative_id", in.CreativeID, strings.Join(pk, ", "))}
		*r = SyncResult{CreativeID: in.CreativeID, Action: ActionFailed, Errors: []Error{e}}
		pl.blocked = append(pl.blocked, e)
		return
	}
	now := pl.env.Now
	c := Creative{
		AccountID: pl.acct.ID, CreativeID: in.CreativeID, Name: in.Name, FormatID: in.FormatID,
		Body: merged, Tags: in.Tags, ContentHash: hash, Status: StatusPendingReview,
		CreatedAt: now, UpdatedAt: now, PlatformID: pl.env.NewID("crv_"), Revision: 1,
	}
	r.Action = ActionCreated
	if exists {
		c.PlatformID, c.CreatedAt, c.Revision = old.PlatformID, old.CreatedAt, old.Revision+1
		if in.Tags == nil {
			c.Tags = old.Tags
		}
		r.Action, r.Changes = ActionUpdated, changedFields(old.Body, merged)
		if old.ArchivedAt != nil {
			r.Changes = append(r.Changes, "status")
		}
	}
	r.Status, r.PlatformID = c.Status, c.PlatformID
	pl.statusOf[in.CreativeID] = c.Status
	pl.writes.Upserts = append(pl.writes.Upserts, c)
	pl.writes.Events = append(pl.writes.Events, syncedEvent(pl.p, pl.catalog, c, r.Action, pl.env))
	pl.waiting[i] = c.Revision
}

// deleteMissing archives the library creatives this sync left out, except
// those active delivery holds.
func (pl *planner) deleteMissing() {
	inSync := make(map[string]bool, len(pl.cmd.Creatives))
	for _, in := range pl.cmd.Creatives {
		inSync[in.CreativeID] = true
	}
	for _, id := range pl.cmd.KeepIDs {
		inSync[id] = true
	}
	for _, id := range sortedKeys(pl.st.Library) {
		if inSync[id] {
			continue
		}
		if pk := pl.st.Active[id]; len(pk) > 0 {
			e := Error{Code: CodeInvalidState, Recovery: "correctable",
				Message: fmt.Sprintf("creative %s is assigned to active package(s) %s and was not archived; pause them first", id, strings.Join(pk, ", "))}
			pl.results = append(pl.results, SyncResult{CreativeID: id, Action: ActionFailed, Errors: []Error{e}})
			pl.blocked = append(pl.blocked, e)
			continue
		}
		pl.results = append(pl.results, SyncResult{CreativeID: id, Action: ActionDeleted})
		rev := pl.st.Library[id] + 1
		pl.writes.Archives = append(pl.writes.Archives, Archive{AccountID: pl.acct.ID, CreativeID: id, Revision: rev, At: pl.env.Now})
		pl.writes.Events = append(pl.writes.Events, &events.CreativeArchivedV1{
			Header:    events.Header{EventID: pl.env.NewEventID(), CorrelationID: pl.env.CorrelationID, OccurredAt: pl.env.Now},
			AccountID: pl.acct.ID, CreativeID: id, Revision: rev, Reason: "delete_missing",
		})
	}
}

// finish decides the answer: completed at once, or submitted with a task
// when the buyer asked for push notifications and review has work to do.
// A dry run answers like a real one and writes nothing.
func (pl *planner) finish() SyncPlan {
	if pl.cmd.DryRun {
		pl.writes, pl.waiting = SyncWrites{}, nil
	}
	plan := SyncPlan{Writes: pl.writes, Blocked: pl.blocked}
	if pl.cmd.Push == nil || len(pl.waiting) == 0 {
		plan.Response = SyncResponse{Status: "completed", Creatives: &pl.results, DryRun: pl.cmd.DryRun}
		return plan
	}
	// The task's final result lists every creative of the sync, as a
	// synchronous answer would: items that wait for review, plus the
	// unchanged, failed and archived ones, settled from the start.
	taskID := pl.env.NewID("task_")
	now := pl.env.Now
	plan.Writes.Task = &Task{ID: taskID, PrincipalID: pl.p.ID, AccountID: pl.acct.ID, Type: "sync_creatives", Status: "submitted",
		Context: pl.cmd.Context, Push: pl.cmd.Push, CreatedAt: now, UpdatedAt: now, MajorVersion: pl.cmd.MajorVersion}
	plan.Writes.TaskItems = make([]TaskItem, len(pl.results))
	for j, r := range pl.results {
		rev, wait := pl.waiting[j]
		plan.Writes.TaskItems[j] = TaskItem{TaskID: taskID, AccountID: pl.acct.ID, CreativeID: r.CreativeID, Revision: rev,
			Position: j, Outcome: r, Decided: !wait}
	}
	for _, ev := range plan.Writes.Events {
		if e, ok := ev.(*events.CreativeSyncedV1); ok {
			e.TaskID = taskID
		}
	}
	plan.Response = SyncResponse{Status: "submitted", TaskID: taskID,
		Message: fmt.Sprintf("%d creative(s) queued for review; the result is delivered to push_notification_config.url and via tasks/get", len(pl.waiting))}
	return plan
}

// planAssignments records assignment outcomes on results and returns the
// assignment rows to write. Assignments may only name creatives of this
// sync: the result has nowhere else to report them.
func planAssignments(acct Account, cmd SyncCommand, results []SyncResult, pkgs map[string]Package, statusOf map[string]string) []Assignment {
	if len(cmd.Assignments) == 0 {
		return nil
	}
	index := make(map[string]int, len(results))
	for i, r := range results {
		index[r.CreativeID] = i
	}
	var out []Assignment
	for _, a := range cmd.Assignments {
		i, inReq := index[a.CreativeID]
		if !inReq || results[i].Action == ActionFailed {
			continue
		}
		r := &results[i]
		fail := func(msg string) {
			if r.AssignmentErrors == nil {
				r.AssignmentErrors = map[string]string{}
			}
			r.AssignmentErrors[a.PackageID] = msg
		}
		if _, ok := pkgs[a.PackageID]; !ok {
			fail(CodePackageNotFound + ": package " + a.PackageID + " does not exist in this account")
			continue
		}
		if statusOf[a.CreativeID] == StatusRejected {
			fail("CREATIVE_REJECTED: a rejected creative cannot be assigned")
			continue
		}
		a.AccountID = acct.ID
		out = append(out, a)
		if !slices.Contains(r.AssignedTo, a.PackageID) {
			r.AssignedTo = append(r.AssignedTo, a.PackageID)
		}
	}
	return out
}

func syncedEvent(p Principal, catalog *Registry, c Creative, action string, env planEnv) *events.CreativeSyncedV1 {
	ev := &events.CreativeSyncedV1{
		Header:      events.Header{EventID: env.NewEventID(), CorrelationID: env.CorrelationID, OccurredAt: c.UpdatedAt},
		AccountID:   c.AccountID,
		PrincipalID: p.ID,
		CreativeID:  c.CreativeID,
		Revision:    c.Revision,
		Action:      action,
		ContentHash: c.ContentHash,
		Name:        c.Name,
		FormatID:    events.FormatID(c.FormatID),
		Assets:      c.Body["assets"],
		Tags:        c.Tags,
		Provenance:  c.Body["provenance"],
	}
	if f, ok := catalog.Resolve(c.FormatID); ok {
		ev.Format = f.snapshot()
	}
	return ev
}

// sellerOwnedFields are stripped from the stored body: status is ours to set.
var sellerOwnedFields = []string{"status"}

func mergeBody(old, in map[string]json.RawMessage) map[string]json.RawMessage {
	merged := make(map[string]json.RawMessage, len(old)+len(in))
	for k, v := range old {
		merged[k] = v
	}
	for k, v := range in {
		if !slices.Contains(sellerOwnedFields, k) {
			merged[k] = v
		}
	}
	return merged
}

func changedFields(old, merged map[string]json.RawMessage) []string {
	var changes []string
	for _, k := range sortedKeys(merged) {
		if !jsonEqual(old[k], merged[k]) {
			changes = append(changes, k)
		}
	}
	return changes
}

func jsonEqual(a, b json.RawMessage) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if bytes.Equal(a, b) {
		return true
	}
	ca, err1 := canonical(a)
	cb, err2 := canonical(b)
	if err1 != nil || err2 != nil {
		return false // the decoder only lets valid JSON in, so this is unreachable
	}
	return bytes.Equal(ca, cb)
}
