package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/nsguard/nsguard/policies"
)

type rulesOptions struct {
	output     string
	policyDirs []string
	dataFiles  []string
}

func newRulesCommand(s *streams) *cobra.Command {
	o := &rulesOptions{}
	cmd := &cobra.Command{
		Use:   "rules [RULE-ID...]",
		Short: "List the rules with their id, severity and description",
		Long: `Rules lists every rule nsguard evaluates: its id (the slug findings and
waivers use), its default severity (deny or warn), whether it is live (needs
facts only a cluster has, so it never fires in lint) and its title. Given
rule ids, it prints those rules in full: what blocks, why, and the fix.

Custom rules from --policy directories are listed with the built-in ones.
The rule reference is docs/rules.md.`,
		Example: `  # Every rule
  nsguard rules

  # One rule in full
  nsguard rules controller-in-namespace

  # Built-in and custom rules, for scripts
  nsguard rules --policy ./policies -o json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRules(cmd.Context(), s, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	f.StringArrayVar(&o.policyDirs, "policy", nil, "directory or file of additional Rego policies (repeatable)")
	f.StringArrayVar(&o.dataFiles, "data", nil, "JSON or YAML data file for the policies (repeatable)")
	return cmd
}

func runRules(ctx context.Context, s *streams, o *rulesOptions, ids []string) error {
	if o.output != "text" && o.output != "json" {
		return withCode(exitUsage, fmt.Errorf("unknown output format %q (want text or json)", o.output))
	}
	if ctx == nil {
		ctx = context.Background()
	}
	e, err := policies.New(ctx, policies.Options{PolicyDirs: o.policyDirs, DataFiles: o.dataFiles})
	if err != nil {
		return withCode(exitUsage, err)
	}
	rules := e.Rules()
	if len(ids) > 0 {
		byID := map[string]policies.Rule{}
		for _, r := range rules {
			byID[r.ID] = r
		}
		rules = rules[:0:0]
		for _, id := range ids {
			r, ok := byID[id]
			if !ok {
				return withCode(exitUsage, fmt.Errorf("unknown rule %q (nsguard rules lists them)", id))
			}
			rules = append(rules, r)
		}
	}

	if o.output == "json" {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Rules []policies.Rule `json:"rules"`
		}{rules})
	}
	if len(ids) > 0 {
		for i, r := range rules {
			if i > 0 {
				fmt.Fprintln(s.Out)
			}
			printRule(s, r)
		}
		return nil
	}
	tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tLIVE\tTITLE")
	for _, r := range rules {
		title := r.Title
		if !r.Builtin {
			title += " (custom: " + r.File + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Severity, yesNo(r.Live), title)
	}
	return tw.Flush()
}

func printRule(s *streams, r policies.Rule) {
	fmt.Fprintf(s.Out, "%s: %s\n", r.ID, r.Title)
	fmt.Fprintf(s.Out, "  severity: %s\n  live:     %s\n  package:  %s (%s)\n  waiver:   ignore.nsguard.io/%s: \"<reason>\"\n",
		r.Severity, yesNo(r.Live), r.Package, r.File, r.ID)
	if r.Description != "" {
		fmt.Fprintln(s.Out)
		for _, line := range wrap(r.Description, 76) {
			fmt.Fprintf(s.Out, "  %s\n", line)
		}
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// wrap breaks text into lines of at most width characters, at spaces.
func wrap(text string, width int) []string {
	var lines []string
	var line strings.Builder
	for _, word := range strings.Fields(text) {
		if line.Len() > 0 && line.Len()+1+len(word) > width {
			lines = append(lines, line.String())
			line.Reset()
		}
		if line.Len() > 0 {
			line.WriteByte(' ')
		}
		line.WriteString(word)
	}
	if line.Len() > 0 {
		lines = append(lines, line.String())
	}
	return lines
}
