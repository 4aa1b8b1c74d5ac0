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

// planSync plans cmd for principal p on account acct. inputs are the
// request's creatives after validation: ok[i] says whether input i passed.
func planSync(p Principal, acct Account, catalog *Registry, cmd SyncCommand, results []SyncResult, ok []bool, st SyncState, env planEnv) SyncPlan {
	var (
		w        SyncWrites
		blocked  []Error
		waiting  = map[int]int64{} // position -> revision review will decide
		inSync   = make(map[string]bool, len(cmd.Creatives))
		statusOf = map[string]string{}
	)
	for i, in := range cmd.Creatives {
		inSync[in.CreativeID] = true
		if !ok[i] {
			continue
		}
		r := &results[i]
		old, exists := st.Current[in.CreativeID]
		merged, hash := in.Body, in.ContentHash
		if exists {
			// A partial update keeps the stored fields it does not name.
			merged = mergeBody(old.Body, in.Body)
			if len(merged) != len(in.Body) {
				var err error
				if hash, err = CanonicalHash(merged); err != nil {
					*r = SyncResult{CreativeID: in.CreativeID, Action: ActionFailed, Errors: []Error{{Code: CodeValidation,
						Field: fmt.Sprintf("creatives[%d]", in.Index), Message: "creative cannot be canonicalised: " + err.Error(), Recovery: "correctable"}}}
					continue
				}
			}
		}
		if exists && old.ArchivedAt == nil && old.ContentHash == hash {
			r.Action, r.Status, r.PlatformID = ActionUnchanged, old.Status, old.PlatformID
			statusOf[in.CreativeID] = old.Status
			continue
		}
		if pk := st.Active[in.CreativeID]; exists && len(pk) > 0 {
			e := Error{Code: CodeInvalidState, Field: fmt.Sprintf("creatives[%d]", in.Index), Recovery: "correctable",
				Message: fmt.Sprintf("creative %s is assigned to active package(s) %s and cannot change while they deliver; pause them or sync under a new creative_id", in.CreativeID, strings.Join(pk, ", "))}
			*r = SyncResult{CreativeID: in.CreativeID, Action: ActionFailed, Errors: []Error{e}}
			blocked = append(blocked, e)
			continue
		}
		c := Creative{
			AccountID: acct.ID, CreativeID: in.CreativeID, Name: in.Name, FormatID: in.FormatID,
			Body: merged, Tags: in.Tags, ContentHash: hash, Status: StatusPendingReview,
			CreatedAt: env.Now, UpdatedAt: env.Now, PlatformID: env.NewID("crv_"), Revision: 1,
		}
		if exists {
			c.PlatformID, c.CreatedAt, c.Revision = old.PlatformID, old.CreatedAt, old.Revision+1
			if in.Tags == nil {
				c.Tags = old.Tags
			}
			r.Action, r.Changes = ActionUpdated, changedFields(old.Body, merged)
			if old.ArchivedAt != nil {
				r.Changes = append(r.Changes, "status")
			}
		} else {
			r.Action = ActionCreated
		}
		r.Status, r.PlatformID = c.Status, c.PlatformID
		statusOf[in.CreativeID] = c.Status
		if cmd.DryRun {
			continue
		}
		w.Upserts = append(w.Upserts, c)
		w.Events = append(w.Events, syncedEvent(p, catalog, c, r.Action, env))
		waiting[i] = c.Revision
	}
	w.Assignments = planAssignments(acct, cmd, results, st.Packages, statusOf)
	if cmd.DeleteMissing {
		for _, id := range sortedKeys(st.Library) {
			if inSync[id] {
				continue
			}
			if pk := st.Active[id]; len(pk) > 0 {
				e := Error{Code: CodeInvalidState, Recovery: "correctable",
					Message: fmt.Sprintf("creative %s is assigned to active package(s) %s and was not archived; pause them first", id, strings.Join(pk, ", "))}
				results = append(results, SyncResult{CreativeID: id, Action: ActionFailed, Errors: []Error{e}})
				blocked = append(blocked, e)
				continue
			}
			results = append(results, SyncResult{CreativeID: id, Action: ActionDeleted})
			if cmd.DryRun {
				continue
			}
			rev := st.Library[id] + 1
			w.Archives = append(w.Archives, Archive{AccountID: acct.ID, CreativeID: id, Revision: rev, At: env.Now})
			w.Events = append(w.Events, &events.CreativeArchivedV1{
				Header:    events.Header{EventID: env.NewEventID(), CorrelationID: env.CorrelationID, OccurredAt: env.Now},
				AccountID: acct.ID, CreativeID: id, Revision: rev, Reason: "delete_missing",
			})
		}
	}
	if cmd.DryRun {
		w = SyncWrites{}
	}
	plan := SyncPlan{Writes: w, Blocked: blocked}
	if cmd.Push == nil || cmd.DryRun || len(waiting) == 0 {
		plan.Response = SyncResponse{Status: "completed", Creatives: &results, DryRun: cmd.DryRun}
		return plan
	}
	// The task's final result lists every creative of the sync, as a
	// synchronous answer would: items that wait for review, plus the
	// unchanged, failed and archived ones, settled from the start.
	taskID := env.NewID("task_")
	plan.Writes.Task = &Task{ID: taskID, PrincipalID: p.ID, AccountID: acct.ID, Type: "sync_creatives", Status: "submitted",
		Context: cmd.Context, Push: cmd.Push, CreatedAt: env.Now, UpdatedAt: env.Now}
	plan.Writes.TaskItems = make([]TaskItem, len(results))
	for j, r := range results {
		rev, wait := waiting[j]
		plan.Writes.TaskItems[j] = TaskItem{TaskID: taskID, AccountID: acct.ID, CreativeID: r.CreativeID, Revision: rev,
			Position: j, Outcome: r, Decided: !wait}
	}
	for _, ev := range plan.Writes.Events {
		if e, ok := ev.(*events.CreativeSyncedV1); ok {
			e.TaskID = taskID
		}
	}
	plan.Response = SyncResponse{Status: "submitted", TaskID: taskID,
		Message: fmt.Sprintf("%d creative(s) queued for review; the result is delivered to push_notification_config.url and via tasks/get", len(waiting))}
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
	if f, ok := catalog.Lookup(c.FormatID.ID); ok {
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
