package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"time"

	"example.com/creativesync/infra/internal/stack"
)

// runBaselines measures raw Postgres and JetStream with the services idle.
func runBaselines(ctx context.Context, p *Pipeline, o Options, rep *Report, con *stack.Console) error {
	url, err := p.ScratchDatabase(ctx)
	if err != nil {
		return err
	}
	con.Logf("baseline: raw Postgres, %d writers of 100-row upserts for %s", o.Buyers, o.Baseline)
	pg, err := RunPostgresBaseline(ctx, url, o.Buyers, o.Baseline)
	if err != nil {
		return err
	}
	rep.Baselines.Postgres = &pg
	con.Logf("baseline: JetStream, async publish of %d B messages for %s, then consume", baselineMsgBytes, o.Baseline)
	js, err := RunJetStreamBaseline(ctx, p.Servers.NATS.URL, p.Config.TopicPrefix, o.Baseline)
	if err != nil {
		return err
	}
	rep.Baselines.JetStream = &js
	return nil
}

// stallTimeout ends the drain early when neither a decision nor a webhook
// has come for that long: the pipeline is stuck, and waiting longer only
// delays the report that says so.
const stallTimeout = 60 * time.Second

// drain waits until every accepted task is notified, max passes, the
// pipeline stalls or ctx ends.
func drain(ctx context.Context, tr *Tracker, dec *Decisions, max time.Duration, con *stack.Console) {
	deadline := time.Now().Add(max)
	lastLog, lastMove := time.Now(), time.Now()
	lastOut, lastDec := -1, -1
	for {
		n, d := tr.Outstanding(), dec.Decided()
		if n != lastOut || d != lastDec {
			lastOut, lastDec, lastMove = n, d, time.Now()
		}
		if n == 0 || !time.Now().Before(deadline) {
			return
		}
		if time.Since(lastMove) >= stallTimeout {
			con.Logf("draining: nothing moved for %s; giving up with %d tasks outstanding", stallTimeout, n)
			return
		}
		if time.Since(lastLog) >= 10*time.Second {
			con.Logf("draining: %d tasks outstanding, %d creatives decided", n, d)
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// annotate explains groups whose figures include more than they say.
func annotate(ps []ProcUsage, p *Pipeline) {
	for i := range ps {
		switch ps[i].Group {
		case "load generator":
			if p.Servers.NATS.Embedded() {
				ps[i].Note = "includes the embedded NATS server"
			}
		case "postgres":
			ps[i].Note = "every postgres process on the box, other users' included"
		case "nats-server":
			if p.Servers.NATS.Embedded() {
				ps[i].Note = "not ours: NATS runs embedded in the load generator"
			}
		case machineGroup:
			ps[i].Note = "all busy CPU on the box"
		case interruptGroup:
			ps[i].Note = "charged to no process: loopback networking, disk"
		case stealGroup:
			ps[i].Note = "CPU the hypervisor gave to other VMs"
		}
	}
}

func newRunID() (string, error) {
	var b [2]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	// Lower case, digits and no dots: it names databases, streams and a
	// directory.
	return "load" + time.Now().UTC().Format("0102t150405") + hex.EncodeToString(b[:]), nil
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
