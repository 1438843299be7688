// Package sysinfo describes the machine a benchmark ran on, and how busy it
// was, so that figures are never quoted without it.
package sysinfo

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Describe returns e.g. "2 CPUs (AMD EPYC 7B13), 24 GiB RAM, linux/amd64, go1.26.8".
func Describe() string {
	model := cpuModel()
	if model != "" {
		model = " (" + model + ")"
	}
	mem := ""
	if kib := memTotalKiB(); kib > 0 {
		mem = fmt.Sprintf(", %.0f GiB RAM", float64(kib)/(1<<20))
	}
	return fmt.Sprintf("%d CPUs%s%s, %s/%s, %s", runtime.NumCPU(), model, mem, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

// Load returns the 1-minute load average and the share of the last 10 s in
// which some task waited for a CPU (Linux PSI): on a machine shared with
// other work the figures are then seen to be pessimistic. "" when unknown.
func Load() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return ""
	}
	s := "load average " + f[0]
	if p, ok := cpuPressure(); ok {
		s += fmt.Sprintf(", CPU pressure %s%%", p)
	}
	return s
}

func cpuModel() string {
	v, _ := procField("/proc/cpuinfo", "model name")
	return strings.Join(strings.Fields(v), " ")
}

func memTotalKiB() int64 {
	v, _ := procField("/proc/meminfo", "MemTotal")
	n, _ := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
	return n
}

// procField returns the value of the first "key: value" line of a /proc file.
func procField(path, key string) (string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// cpuPressure reads avg10 of the "some" line of /proc/pressure/cpu.
func cpuPressure() (string, bool) {
	data, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return "", false
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 || fields[0] != "some" {
			continue
		}
		for _, fl := range fields[1:] {
			if v, ok := strings.CutPrefix(fl, "avg10="); ok {
				return v, true
			}
		}
	}
	return "", false
}

// WaitIdle waits until the machine's CPUs were at least minIdle idle (0–1)
// over a window, or until limit passes, and returns the last idle share
// seen. Benchmarks call it after heavy setup (an API server compiling the
// OpenAPI of a hundred new CRDs keeps the cores busy for a while) so that
// they measure the tools, not the setup's tail.
func WaitIdle(ctx context.Context, minIdle float64, window, limit time.Duration) (float64, error) {
	deadline := time.Now().Add(limit)
	for {
		idle1, total1, err := cpuTimes()
		if err != nil {
			return 0, err
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(window):
		}
		idle2, total2, err := cpuTimes()
		if err != nil {
			return 0, err
		}
		share := 0.0
		if total2 > total1 {
			share = float64(idle2-idle1) / float64(total2-total1)
		}
		if share >= minIdle || time.Now().After(deadline) {
			return share, nil
		}
	}
}

// cpuTimes returns the idle (idle + iowait) and total jiffies of all CPUs.
func cpuTimes() (idle, total uint64, err error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, fmt.Errorf("read CPU times: %w", err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	fields := strings.Fields(line)
	if len(fields) < 6 || fields[0] != "cpu" {
		return 0, 0, fmt.Errorf("read CPU times: unexpected /proc/stat")
	}
	for i, f := range fields[1:] {
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("read CPU times: %w", err)
		}
		total += n
		if i == 3 || i == 4 {
			idle += n
		}
	}
	return idle, total, nil
}
