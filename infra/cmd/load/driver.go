package main

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// callTimeout bounds one sync call; a call still unanswered by then is
// counted as failed rather than holding the run open.
const callTimeout = 60 * time.Second

// Driver sends the syncs: closed loop (each buyer sends its next sync when
// the last one is answered) or, with a rate, open loop (syncs leave on a
// fixed schedule whatever ingest does, round robin over the buyers).
type Driver struct {
	RunID       string
	AgentURL    string // ingest's PUBLIC_BASE_URL: the agent_url of its formats
	PerCall     int
	Duration    time.Duration
	Rate        float64 // syncs/s over all buyers; 0 is closed loop
	MCPShare    float64
	MaxInFlight int // open loop: syncs allowed in flight before new ones are skipped
	Buyers      []*Buyer
	Tracker     *Tracker

	seq     atomic.Int64
	skipped atomic.Int64
}

// Run sends syncs for d.Duration and returns once every sync sent has been
// answered (or timed out). ctx ends it early.
func (d *Driver) Run(ctx context.Context) {
	deadline := time.Now().Add(d.Duration)
	if d.Rate > 0 {
		d.openLoop(ctx, deadline)
		return
	}
	var wg sync.WaitGroup
	for _, b := range d.Buyers {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				d.one(ctx, b, time.Time{})
			}
		})
	}
	wg.Wait()
}

func (d *Driver) openLoop(ctx context.Context, deadline time.Time) {
	interval := time.Duration(float64(time.Second) / d.Rate)
	start := time.Now()
	var wg sync.WaitGroup
	var inFlight atomic.Int64
	for i := 0; ; i++ {
		at := start.Add(time.Duration(i) * interval)
		if !at.Before(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-time.After(time.Until(at)):
		}
		if inFlight.Load() >= int64(d.MaxInFlight) {
			d.skipped.Add(1)
			continue
		}
		inFlight.Add(1)
		b := d.Buyers[i%len(d.Buyers)]
		wg.Go(func() {
			defer inFlight.Add(-1)
			// The schedule is the send time, so a generator that falls
			// behind shows up as latency instead of hiding it.
			d.one(ctx, b, at)
		})
	}
	wg.Wait()
}

// Skipped is how many scheduled syncs the open loop dropped because
// MaxInFlight were outstanding.
func (d *Driver) Skipped() int64 { return d.skipped.Load() }

// one sends one sync for b; sent is its scheduled time (zero: now).
func (d *Driver) one(ctx context.Context, b *Buyer, sent time.Time) {
	k := d.seq.Add(1) - 1
	id := d.RunID + "-b" + strconv.Itoa(b.N) + "-" + strconv.FormatInt(k, 10)
	proto := "rest"
	if useMCP(k, d.MCPShare) {
		proto = "mcp"
	}
	body := syncRequest(id, b.Account, d.AgentURL, b.WebhookURL, d.PerCall)
	if sent.IsZero() {
		sent = time.Now()
	}
	d.Tracker.Sent(&Call{ID: id, Buyer: b.N, Proto: proto, Creatives: d.PerCall, Sent: sent})
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var taskID, errMsg string
	if proto == "mcp" {
		taskID, errMsg = b.syncMCP(ctx, body)
	} else {
		taskID, errMsg = b.syncREST(ctx, body)
	}
	d.Tracker.Answered(id, taskID, errMsg, time.Now())
}
