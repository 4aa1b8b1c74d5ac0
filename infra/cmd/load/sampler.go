package main

import (
	"context"
	"os"
	"sort"
	"sync"
	"time"
)

// Sampler reads the CPU time of the services, of the load generator and of
// the Postgres and NATS server processes every second, and the machine's
// busy time, so the report can say where the CPU went and whether something
// else on the box took part of it.
type Sampler struct {
	fixed map[string]int    // group → pid: the services and this process
	comms map[string]string // process name → group: servers we did not start

	mu          sync.Mutex
	start, last time.Time
	lastTicks   map[int]uint64
	lastMachine machineTimes
	cpu         map[string]float64 // CPU seconds per group since start
	peakRSS     map[string]uint64  // kB: sampled sum of VmRSS for scanned groups
	multi       map[string]bool    // scanned groups seen with more than one process
	series      []CPUPoint
}

// CPUPoint is the cores each group used over one sampling interval.
type CPUPoint struct {
	T     float64            `json:"t_s"`
	Cores map[string]float64 `json:"cores"`
}

// Groups read from /proc/stat rather than from processes.
const (
	machineGroup   = "machine"          // the whole box's busy time, others' work included
	interruptGroup = "kernel irq"       // irq and softirq time, charged to no process
	stealGroup     = "hypervisor steal" // not busy time: CPU this VM wanted and did not get
)

// NewSampler samples the given pids and every process named in comms.
func NewSampler(fixed map[string]int, comms map[string]string) *Sampler {
	return &Sampler{fixed: fixed, comms: comms, lastTicks: map[int]uint64{}, cpu: map[string]float64{}, peakRSS: map[string]uint64{},
		multi: map[string]bool{}}
}

// Run samples every interval until ctx ends, then once more.
func (s *Sampler) Run(ctx context.Context, every time.Duration) {
	s.sample()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.sample()
			return
		case <-t.C:
			s.sample()
		}
	}
}

// sample reads everything once. The time is taken when /proc/stat is read,
// not when the tick fired: on a saturated box the goroutine may run late,
// and dividing by the tick's interval would show more cores than exist.
func (s *Sampler) sample() {
	ticks := map[int]uint64{}
	group := map[int]string{}
	for g, pid := range s.fixed {
		if st, err := readProcStat(pid); err == nil {
			ticks[pid], group[pid] = st.Ticks, g
		}
	}
	names := map[string]bool{}
	for c := range s.comms {
		names[c] = true
	}
	// A failed scan leaves those groups out of this sample only.
	scanned, _ := pidsByComm(names)
	rss := map[string]uint64{}
	procs := map[string]int{}
	for pid, comm := range scanned {
		if st, err := readProcStat(pid); err == nil {
			g := s.comms[comm]
			ticks[pid], group[pid] = st.Ticks, g
			procs[g]++
			if _, r, err := readProcStatus(pid); err == nil {
				rss[g] += r
			}
		}
	}
	var machine machineTimes
	now := time.Now()
	if data, err := os.ReadFile("/proc/stat"); err == nil {
		// Unreadable, the machine groups are left out of this sample.
		machine, _ = parseMachineStat(data)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for g, r := range rss {
		s.peakRSS[g] = max(s.peakRSS[g], r)
	}
	for g, n := range procs {
		s.multi[g] = s.multi[g] || n > 1
	}
	if s.start.IsZero() {
		s.start, s.last, s.lastTicks, s.lastMachine = now, now, ticks, machine
		return
	}
	elapsed := now.Sub(s.last).Seconds()
	if elapsed <= 0 {
		return
	}
	delta := map[string]float64{}
	for pid, t := range ticks {
		// A process first seen now started after the last sample (or is a
		// reused pid): all of its CPU time falls in this interval.
		prev := s.lastTicks[pid]
		if t >= prev {
			delta[group[pid]] += float64(t-prev) / userHZ
		}
	}
	if prev := s.lastMachine; prev.Busy > 0 && machine.Busy >= prev.Busy {
		delta[machineGroup] = float64(machine.Busy-prev.Busy) / userHZ
		delta[interruptGroup] = float64(machine.Interrupts-prev.Interrupts) / userHZ
		delta[stealGroup] = float64(machine.Steal-prev.Steal) / userHZ
	}
	pt := CPUPoint{T: now.Sub(s.start).Seconds(), Cores: map[string]float64{}}
	for g, d := range delta {
		s.cpu[g] += d
		pt.Cores[g] = d / elapsed
	}
	s.series = append(s.series, pt)
	// Pids missing from this sample keep their last reading: one that
	// failed to read now must not count its whole lifetime when it is back.
	for pid, t := range ticks {
		s.lastTicks[pid] = t
	}
	s.last, s.lastMachine = now, machine
}

// ProcUsage is one group's share of the run.
type ProcUsage struct {
	Group      string  `json:"group"`
	Pid        int     `json:"pid,omitempty"`
	CPUSeconds float64 `json:"cpu_seconds"`
	Cores      float64 `json:"avg_cores"` // CPU seconds over the sampled wall time
	PeakRSSMB  float64 `json:"peak_rss_mb,omitempty"`
	Note       string  `json:"note,omitempty"`
}

// Usage reports each group's CPU and peak memory over the sampled window:
// VmHWM for a single process of ours (its lifetime peak), the largest
// sampled sum of VmRSS for the scanned servers.
func (s *Sampler) Usage() ([]ProcUsage, []CPUPoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wall := s.last.Sub(s.start).Seconds()
	var out []ProcUsage
	add := func(g string, pid int, rssKB uint64) {
		u := ProcUsage{Group: g, Pid: pid, CPUSeconds: round(s.cpu[g], 2), PeakRSSMB: round(float64(rssKB)/1024, 1)}
		if wall > 0 {
			u.Cores = round(s.cpu[g]/wall, 2)
		}
		out = append(out, u)
	}
	for g, pid := range s.fixed {
		// The process may be gone by now; then its peak is unknown (0).
		hwm, _, _ := readProcStatus(pid)
		add(g, pid, hwm)
	}
	groups := map[string]bool{}
	for _, g := range s.comms {
		groups[g] = true
	}
	for g := range groups {
		// Summed RSS of a multi-process server (Postgres) counts its shared
		// buffers once per process, so only a lone process gets a figure.
		rss := s.peakRSS[g]
		if s.multi[g] {
			rss = 0
		}
		add(g, 0, rss)
	}
	for _, g := range []string{machineGroup, interruptGroup, stealGroup} {
		add(g, 0, 0)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CPUSeconds > out[j].CPUSeconds })
	return out, append([]CPUPoint(nil), s.series...)
}
