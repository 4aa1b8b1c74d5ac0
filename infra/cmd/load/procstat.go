package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// userHZ is the unit of the CPU times in /proc: USER_HZ, which Linux fixes
// at 100 for every user-space ABI regardless of the kernel's own HZ.
const userHZ = 100

// procStat is what one /proc/<pid>/stat line tells us.
type procStat struct {
	Comm  string
	Ticks uint64 // utime + stime, in 1/userHZ s
}

// parseProcStat reads /proc/<pid>/stat. The command name sits in
// parentheses and may itself hold spaces or ')', so fields are counted from
// the last ')'.
func parseProcStat(data []byte) (procStat, error) {
	open, end := bytes.IndexByte(data, '('), bytes.LastIndexByte(data, ')')
	if open < 0 || end < open {
		return procStat{}, fmt.Errorf("malformed stat line %.80q", data)
	}
	f := strings.Fields(string(data[end+1:]))
	// After the name: state(3) ppid(4) … utime(14) stime(15) in proc(5)'s
	// numbering, so utime is f[11] and stime f[12].
	if len(f) < 13 {
		return procStat{}, fmt.Errorf("stat line has %d fields after the name", len(f))
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return procStat{}, fmt.Errorf("stat utime %q stime %q", f[11], f[12])
	}
	return procStat{Comm: string(data[open+1 : end]), Ticks: ut + st}, nil
}

// parseProcStatus returns VmHWM (peak resident set) and VmRSS in kB from
// /proc/<pid>/status.
func parseProcStatus(data []byte) (hwmKB, rssKB uint64) {
	for line := range strings.SplitSeq(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		var dst *uint64
		switch k {
		case "VmHWM":
			dst = &hwmKB
		case "VmRSS":
			dst = &rssKB
		default:
			continue
		}
		// A malformed number stays 0, which the report shows as unknown.
		*dst, _ = strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
	}
	return hwmKB, rssKB
}

// machineTimes are the CPU ticks of all cores together, from /proc/stat.
type machineTimes struct {
	Busy       uint64 // user, nice, system, irq and softirq
	Interrupts uint64 // irq and softirq: no process is charged for them (loopback TCP's receive side, for one)
	Steal      uint64 // time the hypervisor gave this VM's CPUs to someone else
}

// parseMachineStat reads the first line of /proc/stat: user nice system
// idle iowait irq softirq steal [guest guest_nice].
func parseMachineStat(data []byte) (machineTimes, error) {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return machineTimes{}, fmt.Errorf("malformed /proc/stat line %q", line)
	}
	var v [8]uint64 // guest and guest_nice, if present, are already in user and nice
	for i := range v {
		n, err := strconv.ParseUint(f[i+1], 10, 64)
		if err != nil {
			return machineTimes{}, fmt.Errorf("/proc/stat field %q: %w", f[i+1], err)
		}
		v[i] = n
	}
	return machineTimes{Busy: v[0] + v[1] + v[2] + v[5] + v[6], Interrupts: v[5] + v[6], Steal: v[7]}, nil
}

func readProcStat(pid int) (procStat, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(data)
}

func readProcStatus(pid int) (hwmKB, rssKB uint64, err error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	hwmKB, rssKB = parseProcStatus(data)
	return hwmKB, rssKB, nil
}

// pidsByComm lists the processes whose command name is one of names.
func pidsByComm(names map[string]bool) (map[int]string, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	out := map[int]string{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue // not a process directory
		}
		comm, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if err != nil {
			continue // the process exited while we looked
		}
		if c := strings.TrimSpace(string(comm)); names[c] {
			out[pid] = c
		}
	}
	return out, nil
}
