package creative

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// AgentFormats holds the formats of the outside creative agents this seller
// trusts (a configured list), as last learned from each agent's
// list_creative_formats. It is shared by every catalog and refreshed in the
// background; an agent that stops answering keeps its last known formats,
// so buyers are not refused because a creative agent had a bad minute.
type AgentFormats struct {
	// agents and order are fixed by NewAgentFormats and read without the
	// lock; mu guards each agentState's formats, fetchedAt and lastErr.
	mu     sync.RWMutex
	agents map[string]*agentState // by canonical URL
	order  []string
}

type agentState struct {
	url       string // as configured
	formats   map[string]Format
	fetchedAt time.Time
	lastErr   error
}

// NewAgentFormats trusts the given creative agent URLs; none is known to
// have formats until Update.
func NewAgentFormats(urls []string) *AgentFormats {
	a := &AgentFormats{agents: map[string]*agentState{}}
	for _, u := range urls {
		c := CanonicalAgentURL(u)
		if _, dup := a.agents[c]; dup {
			continue
		}
		a.agents[c] = &agentState{url: u, lastErr: fmt.Errorf("formats not fetched yet")}
		a.order = append(a.order, c)
	}
	return a
}

// URLs returns the trusted agents as configured.
func (a *AgentFormats) URLs() []string {
	if a == nil {
		return nil
	}
	out := make([]string, 0, len(a.order))
	for _, c := range a.order {
		out = append(out, a.agents[c].url)
	}
	return out
}

// Trusts reports whether agentURL is a trusted outside agent.
func (a *AgentFormats) Trusts(agentURL string) bool {
	if a == nil {
		return false
	}
	_, ok := a.agents[CanonicalAgentURL(agentURL)]
	return ok
}

// Lookup returns format id of the agent at agentURL.
func (a *AgentFormats) Lookup(agentURL, id string) (Format, bool) {
	if a == nil {
		return Format{}, false
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	st, ok := a.agents[CanonicalAgentURL(agentURL)]
	if !ok {
		return Format{}, false
	}
	f, ok := st.formats[id]
	return f, ok
}

// Update records the outcome of asking agentURL for its formats: on
// success its formats are replaced (an id the agent no longer lists is no
// longer accepted); on failure the last known ones stay and the error is
// reported by Health. Formats another agent owns are skipped with an error:
// each format has exactly one authoritative agent.
func (a *AgentFormats) Update(agentURL string, defs []json.RawMessage, fetchErr error, at time.Time) error {
	c := CanonicalAgentURL(agentURL)
	var formats map[string]Format
	var skipErr error
	if fetchErr == nil {
		formats, skipErr = parseAgentFormats(c, agentURL, defs)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	st, ok := a.agents[c]
	if !ok {
		return fmt.Errorf("creative agent %s is not trusted", agentURL)
	}
	st.lastErr = fetchErr
	if fetchErr == nil {
		st.formats, st.fetchedAt = formats, at
	}
	return skipErr
}

// parseAgentFormats reads the formats agent c listed, skipping (and
// reporting) those it cannot parse or that name another agent.
func parseAgentFormats(c, agentURL string, defs []json.RawMessage) (map[string]Format, error) {
	formats := make(map[string]Format, len(defs))
	var skipped []string
	for _, d := range defs {
		f, err := ParseFormat(d)
		if err != nil {
			skipped = append(skipped, err.Error())
			continue
		}
		var owner struct {
			FormatID FormatID `json:"format_id"`
		}
		if json.Unmarshal(d, &owner) != nil || CanonicalAgentURL(owner.FormatID.AgentURL) != c {
			skipped = append(skipped, fmt.Sprintf("format %s names agent %s", f.ID, owner.FormatID.AgentURL))
			continue
		}
		formats[f.ID] = f
	}
	if len(skipped) > 0 {
		return formats, fmt.Errorf("creative agent %s: %d format(s) skipped: %s", agentURL, len(skipped), strings.Join(skipped, "; "))
	}
	return formats, nil
}

// AgentSnapshot is what an agent listed at FetchedAt, as stored.
type AgentSnapshot struct {
	URL       string
	Defs      []json.RawMessage
	FetchedAt time.Time
}

// Restore installs formats remembered from before (a snapshot the store
// kept), unless the agent is no longer trusted or a newer list is already
// known. The agent's health is left alone: it has not answered yet.
func (a *AgentFormats) Restore(snap AgentSnapshot) error {
	c := CanonicalAgentURL(snap.URL)
	formats, skipErr := parseAgentFormats(c, snap.URL, snap.Defs)
	a.mu.Lock()
	defer a.mu.Unlock()
	st, ok := a.agents[c]
	if !ok || !st.fetchedAt.Before(snap.FetchedAt) {
		return nil
	}
	st.formats, st.fetchedAt = formats, snap.FetchedAt
	return skipErr
}

// Health is nil when every trusted agent answered its last refresh, and
// otherwise names the agents that did not and how many formats each still
// serves from before. Readiness reports it without failing: the seller
// works on with what it knows.
func (a *AgentFormats) Health() error {
	if a == nil {
		return nil
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	var down []string
	for _, c := range a.order {
		st := a.agents[c]
		if st.lastErr != nil {
			down = append(down, fmt.Sprintf("%s: %v (serving %d known formats)", st.url, st.lastErr, len(st.formats)))
		}
	}
	if len(down) == 0 {
		return nil
	}
	slices.Sort(down)
	return fmt.Errorf("creative agents down: %s", strings.Join(down, "; "))
}
