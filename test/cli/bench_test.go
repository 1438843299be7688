package cli

import (
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/nsguard/nsguard/hack/bench/corpus"
)

// BenchmarkLint runs the built binary end to end (start, compile the
// policies, read, evaluate, write JSON) on the generated corpus of 10,000
// objects in 500 files, and reports objects per second and peak memory.
//
//	go test ./test/cli -run XXX -bench Lint -benchtime 10x
func BenchmarkLint(b *testing.B) {
	dir := b.TempDir()
	st, err := corpus.Write(dir, corpus.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Bytes)
	var maxRSS int64
	var elapsed time.Duration
	for b.Loop() {
		cmd := exec.Command(binary, "lint", "-o", "json", "--fail-on", "never", "-n", "apps", dir)
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, out[:min(len(out), 2000)])
		}
		elapsed += time.Since(start)
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			maxRSS = max(maxRSS, ru.Maxrss)
		}
	}
	b.ReportMetric(float64(st.Objects)*float64(b.N)/elapsed.Seconds(), "objects/s")
	b.ReportMetric(float64(maxRSS)/1024, "peak-MB")
}
