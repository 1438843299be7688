package measure

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of /proc/<pid>/stat's CPU times (USER_HZ, 100 on
// every Linux platform Go supports).
const clockTick = 10 * time.Millisecond

// ProcCPU returns the CPU time (user plus system) a running process has
// used so far, from /proc/<pid>/stat: for a long-lived process, where
// wait4's rusage is of no use until it exits.
func ProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read CPU time of process %d: %w", pid, err)
	}
	return parseStatCPU(string(b))
}

// parseStatCPU reads utime and stime, the 14th and 15th fields; the second
// field (the command) may hold spaces and parentheses, so the fields are
// counted from the last ')'.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc stat: no command field")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is the 3rd field (state): utime is f[11], stime f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("parse /proc stat: %d fields", len(f)+2)
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse /proc stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// Memory is a running process's resident memory, from /proc/<pid>/status.
type Memory struct {
	// RSS is the resident set now (VmRSS), Peak the largest it has been
	// (VmHWM), both in bytes.
	RSS, Peak int64
}

// ProcMemory reads a running process's resident memory.
func ProcMemory(pid int) (Memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, fmt.Errorf("read memory of process %d: %w", pid, err)
	}
	return parseStatus(string(b))
}

func parseStatus(status string) (Memory, error) {
	var m Memory
	found := 0
	for line := range strings.SplitSeq(status, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return m, fmt.Errorf("parse /proc status %s: %w", k, err)
		}
		if k == "VmRSS" {
			m.RSS = kib << 10
		} else {
			m.Peak = kib << 10
		}
		found++
	}
	if found != 2 {
		return m, fmt.Errorf("parse /proc status: no VmRSS or VmHWM")
	}
	return m, nil
}

// Percentile returns the p-th percentile (0–100) of ds by the nearest-rank
// method: the smallest value that at least p % of the values do not
// exceed. ds is not modified; 0 when it is empty.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// Mean returns the mean of ds (0 when it is empty).
func Mean(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}

// Millis formats a duration in milliseconds, with a precision that suits
// its size.
func Millis(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms < 10:
		return fmt.Sprintf("%.2f ms", ms)
	case ms < 100:
		return fmt.Sprintf("%.1f ms", ms)
	default:
		return fmt.Sprintf("%.0f ms", ms)
	}
}
