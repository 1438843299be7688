// Package recipe is the manual recipe people use to see what is left in a
// namespace, the baseline of the cluster benchmarks:
//
//	kubectl api-resources --verbs=list --namespaced -o name |
//	  xargs -n 1 kubectl get --show-kind --ignore-not-found -n NS
package recipe

import (
	"bufio"
	"bytes"
	"os"
	"strings"

	"github.com/nsguard/nsguard/hack/bench/internal/measure"
)

// Env is the environment the recipe runs in: the kubectl of kubectlDir
// first on PATH, the kubeconfig, and a discovery cache of its own in
// cacheDir (warm after a first run, as it is on the machine of anyone who
// uses kubectl).
func Env(kubectlDir, kubeconfig, cacheDir string) []string {
	return append(os.Environ(),
		"PATH="+kubectlDir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"KUBECONFIG="+kubeconfig,
		"KUBECACHEDIR="+cacheDir,
	)
}

// Cmd is the recipe exactly as people type it, for namespace ns (xargs
// exits non-zero when a kubectl call fails).
func Cmd(ns string, env []string) measure.Cmd {
	return measure.Cmd{
		Path: "bash",
		Args: []string{"-c", "kubectl api-resources --verbs=list --namespaced -o name | xargs -n 1 kubectl get --show-kind --ignore-not-found -n " + ns},
		Env:  env,
	}
}

// Count counts the objects and the non-empty resource types in the
// recipe's output: each type prints a header line (NAME ...) and a line
// per object.
func Count(b []byte) (objects, types int) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case strings.HasPrefix(line, "NAME ") || line == "NAME":
			types++
		default:
			objects++
		}
	}
	return objects, types
}
