package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nsguard/nsguard/policies"
)

func newPolicyCommand(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Work with nsguard's Rego policies",
		Long: `Policy groups the commands for the Rego policies: the built-in rules and
your own (see docs/policy-input.md for how to write one).`,
		Example: `  nsguard policy test ./policies`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(newPolicyTestCommand(s))
	return cmd
}

type policyTestOptions struct {
	dataFiles []string
	verbose   bool
	run       string
	builtin   bool
}

func newPolicyTestCommand(s *streams) *cobra.Command {
	o := &policyTestOptions{}
	cmd := &cobra.Command{
		Use:   "test [DIR...]",
		Short: "Run the Rego unit tests of the built-in and your policies",
		Long: `Test runs the Rego unit tests (test_ rules, usually in _test.rego files) of
the built-in policies and of the given directories or files, with OPA's test
runner built in: no opa binary is needed. Your tests see the built-in rules
and libraries, including data.nsguard.lib.testing, whose snapshot() builds
a policy input from plain manifests, and data.nsguard.catalog, the finalizer
catalog (extended with --data).

Exit codes: 0 every test passed, 1 a test failed, 2 a policy does not compile
(the error names the file and line) or a usage error.`,
		Example: `  # The built-in tests and those of ./policies
  nsguard policy test ./policies

  # Only your tests, verbose, with extra data
  nsguard policy test --builtin=false -v --data catalog.yaml ./policies

  # Tests whose name matches a pattern
  nsguard policy test --run 'team_finalizer' ./policies`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPolicyTest(cmd.Context(), s, o, args)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.dataFiles, "data", nil, "JSON or YAML data file merged into data (repeatable)")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "print every test, not only the failures")
	f.StringVar(&o.run, "run", "", "run only the tests whose full name (data.package.test_name) matches this regular expression")
	f.BoolVar(&o.builtin, "builtin", true, "run the tests of the built-in policies too")
	return cmd
}

func runPolicyTest(ctx context.Context, s *streams, o *policyTestOptions, dirs []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	results, err := policies.RunTests(ctx, policies.TestOptions{
		PolicyDirs: dirs,
		DataFiles:  o.dataFiles,
		Builtin:    o.builtin,
		Filter:     o.run,
	})
	if err != nil {
		var ce *policies.CompileError
		if errors.As(err, &ce) {
			return withCode(exitUsage, fmt.Errorf("policies do not compile:\n%w", err))
		}
		return withCode(exitUsage, err)
	}
	if len(results) == 0 {
		fmt.Fprintln(s.Out, "no tests found")
		return nil
	}
	ok, err := policies.ReportTests(s.Out, results, o.verbose)
	if err != nil {
		return withCode(exitUsage, err)
	}
	if !ok {
		return withCode(exitFindings, nil)
	}
	return nil
}
