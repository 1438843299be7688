package measure

import (
	"context"
	"os"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	s, out, err := Run(context.Background(), Cmd{Path: "sh", Args: []string{"-c", "echo hi; exit 1"}, OKCodes: []int{0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "hi\n" || s.ExitCode != 1 || s.Wall <= 0 || s.MaxRSS <= 0 {
		t.Fatalf("got %q, %+v", out, s)
	}
	if _, _, err := Run(context.Background(), Cmd{Path: "sh", Args: []string{"-c", "echo oops >&2; exit 3"}}); err == nil {
		t.Fatal("exit code 3 was not an error")
	}
}

func TestSeries(t *testing.T) {
	s := Series{{Wall: 3 * time.Second, MaxRSS: 10}, {Wall: time.Second, MaxRSS: 30}, {Wall: 2 * time.Second, MaxRSS: 20}}
	if s.Best().Wall != time.Second || s.Median() != 2*time.Second || s.PeakRSS() != 30 {
		t.Fatalf("best %v, median %v, peak %d", s.Best().Wall, s.Median(), s.PeakRSS())
	}
}

func TestGroup(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -52000: "-52,000"} {
		if got := Group(n); got != want {
			t.Errorf("Group(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestProc(t *testing.T) {
	cpu, err := ProcCPU(os.Getpid())
	if err != nil || cpu < 0 {
		t.Fatalf("ProcCPU: %v, %v", cpu, err)
	}
	m, err := ProcMemory(os.Getpid())
	if err != nil || m.RSS <= 0 || m.Peak < m.RSS {
		t.Fatalf("ProcMemory: %+v, %v", m, err)
	}
	got, err := parseStatCPU("42 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 150 25 0 0")
	if err != nil || got != 1750*time.Millisecond {
		t.Fatalf("parseStatCPU = %v, %v; want 1.75s", got, err)
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[float64]time.Duration{50: 50 * time.Millisecond, 99: 99 * time.Millisecond, 100: 100 * time.Millisecond, 0: time.Millisecond} {
		if got := Percentile(ds, p); got != want {
			t.Errorf("Percentile(%v) = %v, want %v", p, got, want)
		}
	}
	if ds[0] != 100*time.Millisecond {
		t.Fatal("Percentile sorted its input")
	}
	if Percentile(nil, 50) != 0 || Mean(ds) != 50500*time.Microsecond {
		t.Fatalf("Mean = %v", Mean(ds))
	}
}
