package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lib/pq"

	"example.com/creativesync/services/ingest/internal/creative"
)

// sortColumns maps list_creatives sort fields to SQL expressions. The value
// is rendered as text in cursors, so each has a text form that sorts the
// same way (timestamps as fixed-width ISO strings).
var sortColumns = map[string]struct{ expr, text string }{
	"created_date":     {"c.created_at", "to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"},
	"updated_date":     {"c.updated_at", "to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"},
	"name":             {"c.name", "c.name"},
	"status":           {"c.status", "c.status"},
	"assignment_count": {"lpad(ac.n::text, 10, '0')", "lpad(ac.n::text, 10, '0')"},
}

// ListCreatives pages through the principal's creatives with keyset
// pagination on (sort value, account_id, creative_id), which stays correct
// while rows are inserted between pages.
func (s *Store) ListCreatives(ctx context.Context, q creative.ListQuery) (creative.ListPage, error) {
	var (
		where []string
		args  []any
	)
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	where = append(where, "a.principal_id = "+arg(q.PrincipalID))
	if len(q.AccountIDs) > 0 {
		where = append(where, "c.account_id = ANY("+arg(pq.Array(q.AccountIDs))+")")
	}
	if len(q.CreativeIDs) > 0 {
		where = append(where, "c.creative_id = ANY("+arg(pq.Array(q.CreativeIDs))+")")
	}
	if len(q.Statuses) > 0 {
		where = append(where, "c.status = ANY("+arg(pq.Array(q.Statuses))+")")
	}
	if !q.IncludeArchived {
		where = append(where, "c.archived_at IS NULL")
	}
	if len(q.FormatIDs) > 0 {
		where = append(where, "c.format_id = ANY("+arg(pq.Array(q.FormatIDs))+")")
	}
	if len(q.Tags) > 0 {
		where = append(where, "c.tags @> "+arg(pq.Array(q.Tags)))
	}
	if len(q.TagsAny) > 0 {
		where = append(where, "c.tags && "+arg(pq.Array(q.TagsAny)))
	}
	if q.NameContains != "" {
		where = append(where, "c.name ILIKE '%' || "+arg(escapeLike(q.NameContains))+" || '%'")
	}
	timeFilter := func(col, op string, t *time.Time) {
		if t != nil {
			where = append(where, col+" "+op+" "+arg(*t))
		}
	}
	timeFilter("c.created_at", ">", q.CreatedAfter)
	timeFilter("c.created_at", "<", q.CreatedBefore)
	timeFilter("c.updated_at", ">", q.UpdatedAfter)
	timeFilter("c.updated_at", "<", q.UpdatedBefore)

	sc, ok := sortColumns[q.SortField]
	if !ok {
		sc = sortColumns["created_date"]
	}
	from := `creatives c JOIN accounts a USING (account_id)
LEFT JOIN LATERAL (SELECT count(*) AS n FROM creative_assignments x WHERE x.account_id = c.account_id AND x.creative_id = c.creative_id) ac ON true`
	filter := strings.Join(where, " AND ")

	// Totals cover the whole match, not the page.
	counts := map[string]int{}
	total := 0
	rows, err := s.db.QueryContext(ctx, "SELECT c.status, count(*) FROM "+from+" WHERE "+filter+" GROUP BY c.status", args...)
	if err != nil {
		return creative.ListPage{}, fmt.Errorf("counting creatives: %w", err)
	}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			rows.Close()
			return creative.ListPage{}, err
		}
		counts[st] = n
		total += n
	}
	rows.Close()

	dir, cmp := "ASC", ">"
	if q.SortDesc {
		dir, cmp = "DESC", "<"
	}
	pageWhere := filter
	if q.After != nil {
		pageWhere += fmt.Sprintf(" AND (%s, c.account_id, c.creative_id) %s (%s, %s, %s)", sc.text, cmp,
			arg(q.After.Value), arg(q.After.AccountID), arg(q.After.CreativeID))
	}
	limit := q.Limit
	query := fmt.Sprintf(`SELECT %s, %s AS sort_value FROM %s WHERE %s ORDER BY %s %s, c.account_id %s, c.creative_id %s LIMIT %s`,
		prefixed(creativeColumns, "c."), sc.text, from, pageWhere, sc.text, dir, dir, dir, arg(limit+1))
	var page []struct {
		creativeRow
		SortValue string `db:"sort_value"`
	}
	if err := s.db.SelectContext(ctx, &page, query, args...); err != nil {
		return creative.ListPage{}, fmt.Errorf("listing creatives: %w", err)
	}
	out := creative.ListPage{Total: total, StatusCounts: counts}
	if len(page) > limit {
		out.HasMore = true
		page = page[:limit]
		last := page[len(page)-1]
		out.Next = &creative.Cursor{Value: last.SortValue, AccountID: last.AccountID, CreativeID: last.CreativeID}
	}
	for _, r := range page {
		c, err := r.domain()
		if err != nil {
			return creative.ListPage{}, err
		}
		out.Creatives = append(out.Creatives, c)
	}
	if q.IncludeAssignments && len(out.Creatives) > 0 {
		if err := s.attachAssignments(ctx, out.Creatives); err != nil {
			return creative.ListPage{}, err
		}
	}
	return out, nil
}

const assignmentsOf = `
SELECT account_id, creative_id, package_id, weight, placement_ids, created_at FROM creative_assignments
WHERE (account_id, creative_id) IN (SELECT * FROM unnest($1::text[], $2::text[])) ORDER BY created_at, package_id`

func (s *Store) attachAssignments(ctx context.Context, cs []creative.Creative) error {
	idx := map[string]int{}
	accounts := make([]string, len(cs))
	ids := make([]string, len(cs))
	for i, c := range cs {
		accounts[i], ids[i] = c.AccountID, c.CreativeID
		idx[c.AccountID+"\x00"+c.CreativeID] = i
	}
	rows, err := s.db.QueryContext(ctx, assignmentsOf, pq.Array(accounts), pq.Array(ids))
	if err != nil {
		return fmt.Errorf("loading assignments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a creative.Assignment
		var placements pq.StringArray
		if err := rows.Scan(&a.AccountID, &a.CreativeID, &a.PackageID, &a.Weight, &placements, &a.CreatedAt); err != nil {
			return err
		}
		a.PlacementIDs = placements
		i := idx[a.AccountID+"\x00"+a.CreativeID]
		cs[i].Assignments = append(cs[i].Assignments, a)
	}
	return rows.Err()
}

func prefixed(cols, p string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
