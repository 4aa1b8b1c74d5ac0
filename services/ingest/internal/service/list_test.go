package service_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"example.com/creativesync/services/ingest/internal/adcptest"
)

func TestListPaginatesFiltersAndSorts(t *testing.T) {
	s := startIngest(t)
	var cs []map[string]any
	for i := 0; i < 7; i++ {
		c := banner(fmt.Sprintf("c%d", i))
		if i%2 == 0 {
			c["tags"] = []string{"even"}
		}
		cs = append(cs, c)
	}
	s.sync(syncReq(cs...))

	type page struct {
		QuerySummary struct {
			TotalMatching  int      `json:"total_matching"`
			Returned       int      `json:"returned"`
			FiltersApplied []string `json:"filters_applied"`
		} `json:"query_summary"`
		Pagination struct {
			HasMore    bool   `json:"has_more"`
			Cursor     string `json:"cursor"`
			TotalCount int    `json:"total_count"`
		} `json:"pagination"`
		Creatives []struct {
			CreativeID string `json:"creative_id"`
		} `json:"creatives"`
	}
	get := func(q string) page {
		t.Helper()
		st, body := s.do("GET", "/api/v1/creatives?"+q, s.key, nil)
		if st != 200 {
			t.Fatalf("%s: %d %s", q, st, body)
		}
		adcptest.Validate(t, "creative/list-creatives-response.json", body)
		var p page
		must(t, json.Unmarshal(body, &p))
		return p
	}
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		q := "max_results=3&sort=name&direction=asc"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		p := get(q)
		total := 7
		if pages > 0 {
			total = 8 // one creative was added after the first page
		}
		if p.Pagination.HasMore != (p.Pagination.Cursor != "") || p.Pagination.TotalCount != total || p.QuerySummary.TotalMatching != total {
			t.Fatalf("page %d: %+v", pages, p)
		}
		for _, c := range p.Creatives {
			seen = append(seen, c.CreativeID)
		}
		// A creative added between pages must not shift or repeat the walk.
		if pages == 0 {
			s.sync(syncReq(banner("a_new_first")))
		}
		if !p.Pagination.HasMore {
			break
		}
		cursor = p.Pagination.Cursor
	}
	if strings.Join(seen, ",") != "c0,c1,c2,c3,c4,c5,c6" {
		t.Errorf("walk: %v", seen)
	}
	if p := get("tags=even"); p.QuerySummary.TotalMatching != 4 || p.QuerySummary.FiltersApplied[0] != "tags" {
		t.Errorf("tag filter: %+v", p)
	}
	if p := get("creative_ids=c1,c2&statuses=pending_review,approved"); len(p.Creatives) != 2 {
		t.Errorf("multi-value filters: %+v", p)
	}
	if p := get("format_ids=video_30s"); p.QuerySummary.TotalMatching != 0 {
		t.Errorf("format filter: %+v", p)
	}
	if st, body := s.do("GET", "/api/v1/creatives?cursor=garbage", s.key, nil); st != 400 || !strings.Contains(string(body), "pagination.cursor") {
		t.Errorf("bad cursor: %d %s", st, body)
	}
	if st, body := s.do("GET", "/api/v1/creatives?max_results=500", s.key, nil); st != 400 {
		t.Errorf("max_results 500: %d %s", st, body)
	}
}

func TestSalesAgentMediaBuyRouteAndV2Assignments(t *testing.T) {
	s := startIngest(t)
	s.seedPackage("acct_1", "mb_1", "pkg_a", "paused")
	s.seedPackage("acct_1", "mb_1", "pkg_b", "paused")
	// The sales-agent route's flat display payload.
	flat := func(id string) map[string]any {
		return map[string]any{"creative_id": id, "name": "Banner " + id,
			"format_id": map[string]any{"agent_url": agentURL, "id": "display_300x250"},
			"assets":    map[string]any{"url": "https://cdn.example.com/" + id + ".png", "width": 300, "height": 250}}
	}
	body := jsonOf(map[string]any{"creatives": []any{flat("s1"), flat("s2")}})
	st, out := s.do("POST", "/api/v1/media-buys/mb_1/creatives", s.key, body)
	if st != 200 {
		t.Fatalf("%d %s", st, out)
	}
	var resp struct {
		Created, Updated, Deleted int
		Results                   []struct {
			CreativeID string `json:"creative_id"`
			Status     string `json:"status"`
			Errors     []any  `json:"errors"`
		}
	}
	must(t, json.Unmarshal(out, &resp))
	if resp.Created != 2 || len(resp.Results) != 2 || resp.Results[0].Status != "processing" || resp.Results[0].Errors == nil {
		t.Errorf("sales-agent response: %s", out)
	}
	if n := s.count(`SELECT count(*) FROM creative_assignments`); n != 4 {
		t.Errorf("%d assignments, want 4", n)
	}
	other := s.provision("other", "acct_other")
	if st, out := s.do("POST", "/api/v1/media-buys/mb_1/creatives", other, body); st != 404 {
		t.Errorf("foreign media buy: %d %s", st, out)
	}

	req := syncReq(banner("v2"))
	req["adcp_major_version"] = 2
	req["assignments"] = map[string]any{"v2": []string{"pkg_a"}}
	st, m, raw := s.sync(req)
	if st != 200 || !sameStrings(items(t, m)[0]["assigned_to"], "pkg_a") {
		t.Errorf("v2 assignments: %d %s", st, raw)
	}
}
