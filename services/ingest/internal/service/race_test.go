package service_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/servicetest"
)

// Two buyers' first syncs of the same new creative_id race. Whatever the
// interleaving, every stored revision is unique and has its own
// creative_synced_v1 event (so review sees every content that was ever
// stored), exactly one answer says created, and every platform_id the
// buyers were given exists.
func TestConcurrentFirstSyncsOfOneCreativeSerialize(t *testing.T) {
	s := startIngest(t)
	const races = 15
	for i := 0; i < races; i++ {
		id := fmt.Sprintf("race_%d", i)
		clean, sensitive := banner(id), banner(id)
		clean["name"], sensitive["name"] = "Spring sale", "Vote in the election"
		var wg sync.WaitGroup
		answers := make([]map[string]any, 2)
		for j, c := range []map[string]any{clean, sensitive} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b := jsonOf(syncReq(c))
				st, out := s.do("POST", "/api/v1/creatives/sync", s.key, b)
				if st != 200 {
					t.Errorf("%s: %d %s", id, st, out)
					return
				}
				if err := json.Unmarshal(out, &answers[j]); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		actions := map[string]int{}
		for _, a := range answers {
			it := items(t, a)[0]
			actions[it["action"].(string)]++
			if n := s.count(`SELECT count(*) FROM creatives WHERE platform_id = $1`, it["platform_id"]); n != 1 {
				t.Errorf("%s: platform_id %v given to the buyer does not exist", id, it["platform_id"])
			}
		}
		if actions["created"] != 1 || actions["updated"] != 1 {
			t.Errorf("%s: actions %v, want one created and one updated", id, actions)
		}
		if rev := s.count(`SELECT revision FROM creatives WHERE creative_id = $1`, id); rev != 2 {
			t.Errorf("%s: stored revision %d, want 2", id, rev)
		}
	}
	// One event per stored revision: 2 per race, revisions 1 and 2.
	servicetest.EventuallyTrue(t, within, "every revision's event relayed", func() bool { return s.bk.Count("creative_synced_v1") == 2*races })
	seen := map[string]bool{}
	for seq := uint64(1); seq <= 2*races; seq++ {
		msg, err := s.bk.JS.GetMsg(s.bk.Topic("creative_synced_v1"), seq)
		must(t, err)
		var ev events.CreativeSyncedV1
		must(t, json.Unmarshal(msg.Data, &ev))
		k := fmt.Sprintf("%s@%d", ev.CreativeID, ev.Revision)
		if seen[k] {
			t.Errorf("revision %s published twice", k)
		}
		seen[k] = true
	}
	for i := 0; i < races; i++ {
		for rev := 1; rev <= 2; rev++ {
			if k := fmt.Sprintf("race_%d@%d", i, rev); !seen[k] {
				t.Errorf("no event for %s", k)
			}
		}
	}
}
