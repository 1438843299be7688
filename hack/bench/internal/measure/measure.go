// Package measure runs commands and records what they cost: wall time, CPU
// time and peak resident memory, the figures make bench reports.
package measure

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Sample is one run of a command.
type Sample struct {
	Wall time.Duration
	// User and Sys are the CPU time of the process (and of the children it
	// waited for).
	User, Sys time.Duration
	// MaxRSS is the peak resident set size in bytes (Linux reports KiB).
	MaxRSS   int64
	ExitCode int
}

// CPU is user plus system time.
func (s Sample) CPU() time.Duration { return s.User + s.Sys }

// Cmd describes a command to measure.
type Cmd struct {
	Path string
	Args []string
	// Env is the whole environment; nil means the current one.
	Env []string
	Dir string
	// OKCodes are the exit codes that mean success; empty means only 0.
	// (Linters exit 1 when they find something.)
	OKCodes []int
}

func (c Cmd) String() string {
	return strings.Join(append([]string{c.Path}, c.Args...), " ")
}

// Run runs c once and returns its cost and its standard output. Standard
// error is kept for the error message when the exit code is not expected.
func Run(ctx context.Context, c Cmd) (Sample, []byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, c.Path, c.Args...)
	cmd.Env = c.Env
	cmd.Dir = c.Dir
	cmd.Stdout = &stdout
	cmd.Stderr = &limitedWriter{w: &stderr, n: 64 << 10}
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var s Sample
	s.Wall = wall
	if cmd.ProcessState == nil {
		return s, nil, fmt.Errorf("run %s: %w", c.Path, err)
	}
	s.ExitCode = cmd.ProcessState.ExitCode()
	s.User = cmd.ProcessState.UserTime()
	s.Sys = cmd.ProcessState.SystemTime()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.MaxRSS = int64(ru.Maxrss) * 1024
	}
	okCodes := c.OKCodes
	if len(okCodes) == 0 {
		okCodes = []int{0}
	}
	if !slices.Contains(okCodes, s.ExitCode) {
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			return s, stdout.Bytes(), fmt.Errorf("run %s: %w", c, err)
		}
		return s, stdout.Bytes(), fmt.Errorf("run %s: exit code %d: %s", c, s.ExitCode, strings.TrimSpace(tail(stderr.String(), 2000)))
	}
	return s, stdout.Bytes(), nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// limitedWriter keeps the first n bytes and discards the rest, so that a
// chatty command cannot grow the benchmark's own memory.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		if _, err := l.w.Write(p[:k]); err != nil {
			return 0, err
		}
		l.n -= k
	}
	return len(p), nil
}

// Series is the runs of one command.
type Series []Sample

// Best is the fastest run: the least disturbed by the rest of the machine.
func (s Series) Best() Sample {
	best := s[0]
	for _, x := range s[1:] {
		if x.Wall < best.Wall {
			best = x
		}
	}
	return best
}

// Median is the median wall time.
func (s Series) Median() time.Duration {
	w := make([]time.Duration, len(s))
	for i, x := range s {
		w[i] = x.Wall
	}
	slices.Sort(w)
	if len(w)%2 == 1 {
		return w[len(w)/2]
	}
	return (w[len(w)/2-1] + w[len(w)/2]) / 2
}

// PeakRSS is the largest peak resident set size of all runs.
func (s Series) PeakRSS() int64 {
	var m int64
	for _, x := range s {
		m = max(m, x.MaxRSS)
	}
	return m
}

// MiB formats bytes as mebibytes.
func MiB(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// Seconds formats a duration in seconds with three decimals.
func Seconds(d time.Duration) string { return fmt.Sprintf("%.3f s", d.Seconds()) }

// Group formats n with thousands separators.
func Group(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + Group(-n)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// WriteJSON writes a benchmark's figures to path as indented JSON,
// creating its directory.
func WriteJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode figures: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create figures directory: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write figures: %w", err)
	}
	return nil
}
