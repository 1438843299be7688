package main

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill the remediator if the benchmark dies
// without stopping it (SIGKILL, a crash): it would otherwise outlive the
// control plane.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
