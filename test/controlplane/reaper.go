package controlplane

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// A reaper is a small shell process that outlives this one: it learns the
// process IDs of the control plane's children and its directories through
// a pipe, and when the pipe closes without a "done" line (this process
// died without calling Stop: a test time-out, a signal, os.Exit), it kills
// the children's process groups and removes the directories. Stop disarms
// it. The components' logs are left in place for a post-mortem.
type reaper struct {
	mu sync.Mutex
	w  *os.File // nil when no reaper could be started
}

const reaperScript = `trap '' INT HUP
pids=
while read -r kind arg; do
	case $kind in
	pid) pids="$pids $arg" ;;
	dir) set -- "$@" "$arg" ;;
	done) exit 0 ;;
	esac
done
for p in $pids; do kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null; done
if [ $# -gt 0 ]; then rm -rf -- "$@"; fi
`

// startReaper starts a reaper. Failing to start one is not an error: it
// only guards against leaks when this process dies abnormally.
func startReaper() *reaper {
	r, w, err := os.Pipe()
	if err != nil {
		return &reaper{}
	}
	defer r.Close()
	cmd := exec.Command("/bin/sh", "-c", reaperScript, "nsguard-controlplane-reaper")
	cmd.Stdin = r
	// Out of the terminal's process group: a Ctrl-C that kills the tests
	// must not kill the reaper too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return &reaper{}
	}
	go func() { _ = cmd.Wait() }()
	return &reaper{w: w}
}

// watchPID tells the reaper about a child process (the leader of its own
// process group).
func (r *reaper) watchPID(pid int) { r.send("pid " + strconv.Itoa(pid)) }

// watchDir tells the reaper about a directory to remove.
func (r *reaper) watchDir(dir string) {
	if dir != "" && !strings.ContainsAny(dir, "\n") {
		r.send("dir " + dir)
	}
}

// disarm lets the reaper exit without killing anything.
func (r *reaper) disarm() {
	r.send("done")
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.w != nil {
		_ = r.w.Close()
		r.w = nil
	}
}

func (r *reaper) send(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.w != nil {
		_, _ = r.w.WriteString(line + "\n")
	}
}

// childPIDs returns the process IDs of this process's children by name
// (Linux /proc; empty elsewhere).
func childPIDs() map[int]string {
	self := os.Getpid()
	out := map[int]string{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may contain spaces and parentheses.
		s := string(stat)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < open {
			continue
		}
		fields := strings.Fields(s[closing+1:])
		if len(fields) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(fields[1]); err == nil && ppid == self {
			out[pid] = s[open+1 : closing]
		}
	}
	return out
}

// newChildPIDs returns the children named one of names that are not in
// before.
func newChildPIDs(before map[int]string, names ...string) []int {
	var pids []int
	for pid, comm := range childPIDs() {
		if _, old := before[pid]; old {
			continue
		}
		for _, n := range names {
			if comm == n {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}
