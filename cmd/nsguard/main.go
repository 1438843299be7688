// Command nsguard keeps Kubernetes namespaces from getting stuck in
// Terminating: it lints manifests in CI, diagnoses stuck namespaces and, when
// switched on, remediates them.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], newStreams()))
}
