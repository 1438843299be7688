package measure

import (
	"context"
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
