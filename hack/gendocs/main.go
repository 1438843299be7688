// Command gendocs writes docs/rules.md from the metadata of the built-in
// rules; with -check it fails when the file is stale instead.
//
//	go run ./hack/gendocs [-check] [-o docs/rules.md]
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/nsguard/nsguard/policies"
)

func main() {
	check := flag.Bool("check", false, "fail when the file is stale instead of writing it")
	out := flag.String("o", "docs/rules.md", "the file to write")
	flag.Parse()
	if err := run(*out, *check); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(out string, check bool) error {
	e, err := policies.New(context.Background(), policies.Options{})
	if err != nil {
		return fmt.Errorf("load built-in rules: %w", err)
	}
	want := policies.RulesMarkdown(e.Rules())
	if check {
		got, err := os.ReadFile(out)
		if err != nil {
			return fmt.Errorf("read rule reference: %w", err)
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("%s is stale: run make docs", out)
		}
		return nil
	}
	if err := os.WriteFile(out, want, 0o644); err != nil {
		return fmt.Errorf("write rule reference: %w", err)
	}
	return nil
}
