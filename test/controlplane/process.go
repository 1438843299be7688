package controlplane

import (
	"os"
	"os/exec"
	"time"
)

// Interrupt stops a process a test or benchmark started: SIGINT first, so
// that it shuts down as it would in production (releasing its Lease,
// draining its servers), then SIGKILL if it is still running after grace.
// done must be closed once cmd.Wait has returned.
func Interrupt(cmd *exec.Cmd, done <-chan struct{}, grace time.Duration) {
	select {
	case <-done:
		return
	default:
	}
	if cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case <-done:
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-done
	}
}
