// Command policycheck does what `opa fmt --list` and `opa check --strict` do
// for the project's Rego files, through the OPA Go packages, so that the
// lint target needs no opa binary.
//
//	go run ./hack/policycheck [-w] DIR...
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/format"
)

func main() {
	write := flag.Bool("w", false, "rewrite unformatted files instead of failing")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: policycheck [-w] DIR...")
		os.Exit(2)
	}
	if err := check(flag.Args(), *write); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func check(dirs []string, write bool) error {
	var files []string
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(path, ".rego") {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("walk %s: %w", dir, err)
		}
	}
	sort.Strings(files)
	var problems []string
	modules := map[string]*ast.Module{}
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read policy: %w", err)
		}
		formatted, err := format.SourceWithOpts(path, src, format.Opts{RegoVersion: ast.RegoV1})
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if !bytes.Equal(src, formatted) {
			if write {
				if err := os.WriteFile(path, formatted, 0o644); err != nil {
					return fmt.Errorf("write policy: %w", err)
				}
			} else {
				problems = append(problems, path+": not formatted (run: go run ./hack/policycheck -w "+filepath.Dir(path)+")")
			}
		}
		m, err := ast.ParseModuleWithOpts(path, string(src), ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		modules[path] = m
	}
	if len(problems) == 0 {
		c := ast.NewCompiler().WithStrict(true).WithEnablePrintStatements(false)
		if c.Compile(modules); c.Failed() {
			for _, e := range c.Errors {
				problems = append(problems, e.Error())
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d problem(s) in %d policy file(s):\n  %s", len(problems), len(files), strings.Join(problems, "\n  "))
	}
	fmt.Printf("%d policy files formatted and compiled (strict)\n", len(files))
	return nil
}
