package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes shared by every command.
const (
	exitOK       = 0 // nothing at or above the failure threshold
	exitFindings = 1 // findings at or above the failure threshold
	exitUsage    = 2 // usage error, unreadable or malformed input
	// exitIncomplete: diagnose could not check everything and nothing it
	// saw blocks; scripts must not read that as "safe to delete".
	exitIncomplete = 3
)

// streams are where a command reads and writes; tests replace them.
type streams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

func newStreams() *streams {
	return &streams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
}

// exitError carries an exit code out of a command without printing twice.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// withCode wraps err so that run exits with code; a nil err with a non-zero
// code exits silently (the command already reported).
func withCode(code int, err error) error { return &exitError{code: code, err: err} }

func newRootCommand(s *streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "nsguard",
		Short: "Keep Kubernetes namespaces from getting stuck in Terminating",
		Long: `nsguard keeps Kubernetes namespaces from getting stuck in Terminating, and
explains the ones that still do. One set of Rego policies drives every command:

  nsguard lint       finds, in manifests, what would make a namespace hang when deleted
  nsguard diagnose   explains what blocks a namespace (or would block it) on a live cluster
  nsguard serve      runs the admission webhook that stops deletions that would hang
  nsguard remediate  un-sticks a namespace stuck in Terminating, with the remediator's safety rules
  nsguard delete     deletes a namespace safely: the pre-flight plan's safe steps first, then watches it go
  nsguard rules      lists the rules
  nsguard policy     tests built-in and custom policies`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// Installed as kubectl-nsguard, kubectl runs it as a plugin: help and
	// usage then say "kubectl nsguard".
	if strings.HasPrefix(filepath.Base(os.Args[0]), "kubectl-") {
		root.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl nsguard"}
	}
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.ErrOut)
	root.AddCommand(
		newLintCommand(s),
		newServeCommand(s),
		newDiagnoseCommand(s),
		newRemediateCommand(s),
		newDeleteCommand(s),
		newRulesCommand(s),
		newPolicyCommand(s),
		newVersionCommand(s),
	)
	return root
}

// batchHeap is the heap size up to which a batch command does not collect
// garbage at all.
const batchHeap = 512 << 20

// batchGC tunes the garbage collector for a short batch run that allocates
// mostly what it keeps until the end (lint's objects, diagnose's snapshot).
// Nothing is collected until the heap reaches batchHeap, so the diagnosis of
// a namespace or the lint of a few thousand objects finishes without a
// single collection. From the first collection on (a larger input) the
// collector paces at GOGC=400, which still saves about a sixth of lint's CPU
// time against the default, for about a third more peak memory. GOGC or
// GOMEMLIMIT, when set, win.
func batchGC() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(batchHeap)
	// The sentinel is garbage at once: its cleanup runs after the first
	// collection, which only the memory limit can start.
	sentinel := &struct{ _ *byte }{}
	runtime.AddCleanup(sentinel, func(struct{}) {
		debug.SetGCPercent(400)
		debug.SetMemoryLimit(math.MaxInt64)
	}, struct{}{})
}

// run executes the command line and returns the process exit code.
func run(args []string, s *streams) int {
	root := newRootCommand(s)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(s.ErrOut, "Error: %v\n", ee.err)
		}
		return ee.code
	}
	// Anything cobra itself reports (unknown flag, bad arguments) is usage.
	fmt.Fprintf(s.ErrOut, "Error: %v\nRun '%s --help' for usage.\n", err, root.CommandPath())
	return exitUsage
}
