package main

import (
	"os"
	"testing"
)

func TestParseProcStat(t *testing.T) {
	t.Parallel()
	// A name with a space and a ')' must not shift the fields.
	line := "4242 (we (ir)d name) S 1 4242 4242 0 -1 4194560 1000 0 0 0 150 25 0 0 20 0 8 0 123 456 789\n"
	st, err := parseProcStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if st.Comm != "we (ir)d name" || st.Ticks != 175 {
		t.Errorf("parseProcStat = %+v; want comm %q, 175 ticks", st, "we (ir)d name")
	}
	if _, err := parseProcStat([]byte("4242 (short) S 1 2")); err == nil {
		t.Error("a truncated line parsed")
	}
}

func TestParseProcStatus(t *testing.T) {
	t.Parallel()
	hwm, rss := parseProcStatus([]byte("Name:\tingest\nVmPeak:\t  900000 kB\nVmHWM:\t   40960 kB\nVmRSS:\t   30720 kB\n"))
	if hwm != 40960 || rss != 30720 {
		t.Errorf("hwm %d rss %d; want 40960 30720", hwm, rss)
	}
}

func TestParseMachineStat(t *testing.T) {
	t.Parallel()
	// user nice system idle iowait irq softirq steal guest guest_nice
	m, err := parseMachineStat([]byte("cpu  100 5 50 1000 20 3 2 1 7 0\ncpu0 1 2 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (machineTimes{Busy: 160, Interrupts: 5, Steal: 1}); m != want {
		t.Errorf("parseMachineStat = %+v; want %+v (guest is inside user)", m, want)
	}
	if _, err := parseMachineStat([]byte("cpu 1 2 3\n")); err == nil {
		t.Error("a short line parsed")
	}
}

func TestReadOwnProcess(t *testing.T) {
	t.Parallel()
	st, err := readProcStat(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if st.Comm == "" {
		t.Error("own process has no name")
	}
	hwm, rss, err := readProcStatus(os.Getpid())
	if err != nil || hwm == 0 || rss == 0 {
		t.Errorf("own status: hwm %d rss %d err %v", hwm, rss, err)
	}
}
