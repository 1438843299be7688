package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nsguard/nsguard/internal/version"
	"github.com/nsguard/nsguard/inventory"
	"github.com/nsguard/nsguard/lint"
	"github.com/nsguard/nsguard/policies"
)

const (
	projectURI = "https://github.com/nsguard/nsguard"
	rulesURI   = projectURI + "/blob/main/docs/rules.md"
)

type lintOptions struct {
	output      string
	failOn      string
	namespace   string
	kubeVersion string
	color       colorFlag
	policyDirs  []string
	dataFiles   []string
}

func newLintCommand(s *streams) *cobra.Command {
	o := &lintOptions{}
	cmd := &cobra.Command{
		Use:   "lint [PATH|-]...",
		Short: "Find what would make a namespace hang in Terminating, in manifests",
		Long: `Lint reads rendered Kubernetes manifests and reports, before anything
reaches a cluster, what would make a namespace hang in Terminating when it is
deleted: an operator running in the namespace whose resources it finalizes,
a conversion or admission webhook or an APIService served from a namespace
that can be deleted, finalizers set by hand, and more (nsguard rules lists
them all). It runs the same Rego policies as nsguard diagnose.

PATH is a file, a directory (read recursively for .yaml, .yml and .json
files; hidden files and directories are skipped) or - for standard input. Files may
hold several YAML documents and kind: List objects. Everything given is one
bundle, so rules see how objects relate across files.

Objects that set no namespace land in --namespace, as with kubectl apply -n.

Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it,
2 usage error or unreadable or malformed input (the error names the file and
line; the findings of everything that could be read are still reported).`,
		Example: `  # Lint a directory of manifests
  nsguard lint deploy/

  # Lint a Helm chart as it will be installed (objects without a namespace
  # land in the release namespace)
  helm template my-release ./chart -n shop | nsguard lint -n shop -

  # Lint a kustomize overlay, failing on warnings too
  kustomize build overlays/prod | nsguard lint --fail-on warn -

  # Reason about an older cluster (pods are deleted first since 1.34)
  nsguard lint --kube-version 1.33 deploy/

  # Add your own policies and finalizer catalog entries
  nsguard lint --policy policies/ --data catalog.yaml deploy/

  # Upload findings to GitHub code scanning (GitHub Actions):
  #   - run: nsguard lint -o sarif deploy/ > nsguard.sarif
  #   - uses: github/codeql-action/upload-sarif@v3
  #     if: always()
  #     with:
  #       sarif_file: nsguard.sarif
  nsguard lint -o sarif deploy/ > nsguard.sarif

  # JUnit XML for CI test reports
  nsguard lint -o junit deploy/ > nsguard-junit.xml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), s, args)
		},
	}
	f := cmd.Flags()
	o.color.register(cmd)
	f.StringVarP(&o.output, "output", "o", "text", "output format: "+strings.Join(lint.Formats, ", "))
	f.StringVar(&o.failOn, "fail-on", string(lint.FailOnDeny), "lowest severity that makes the exit code 1: deny, warn or never")
	f.StringVarP(&o.namespace, "namespace", "n", "default", "namespace of namespaced objects that set none (like kubectl apply -n)")
	f.StringVar(&o.kubeVersion, "kube-version", fmt.Sprintf("%d.%d", inventory.LatestKubeVersion.Major, inventory.LatestKubeVersion.Minor), "Kubernetes version the rules reason about (e.g. 1.33 or v1.33.2)")
	f.StringArrayVar(&o.policyDirs, "policy", nil, "directory or file of extra Rego policies (repeatable)")
	f.StringArrayVar(&o.dataFiles, "data", nil, "JSON or YAML data file for the policies, e.g. finalizer catalog entries (repeatable)")
	return cmd
}

func (o *lintOptions) run(ctx context.Context, s *streams, args []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	// Check every flag before doing any work: a usage error must not
	// depend on the input.
	if err := o.color.validate(); err != nil {
		return err
	}
	formatter, err := lint.NewFormatter(o.output, lint.FormatOptions{Color: o.color.enabled(s.Out)})
	if err != nil {
		return withCode(exitUsage, err)
	}
	failOn, err := lint.ParseFailOn(o.failOn)
	if err != nil {
		return withCode(exitUsage, err)
	}
	kv, err := inventory.ParseKubeVersion(o.kubeVersion)
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("--kube-version: %w", err))
	}

	batchGC()

	// Compiling the policies and reading the manifests take tens of
	// milliseconds each: do both at once.
	type compiled struct {
		engine *policies.Engine
		err    error
	}
	engineCh := make(chan compiled, 1)
	go func() {
		e, err := policies.New(ctx, policies.Options{PolicyDirs: o.policyDirs, DataFiles: o.dataFiles})
		engineCh <- compiled{e, err}
	}()
	read, err := lint.Read(ctx, args, lint.ReadOptions{Stdin: s.In})
	c := <-engineCh
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("read manifests: %w", err))
	}
	if c.err != nil {
		return withCode(exitUsage, fmt.Errorf("load policies: %w", c.err))
	}

	snap, err := inventory.FromManifests(read.Objects, inventory.ManifestOptions{
		DefaultNamespace: o.namespace,
		KubeVersion:      kv,
		Catalog:          c.engine.Catalog(),
	})
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("--namespace: %w", err))
	}
	findings, err := c.engine.Evaluate(ctx, snap)
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("evaluate policies: %w", err))
	}

	report := newLintReport(c.engine.Rules(), findings, snap, read)
	// Input errors go to standard error whatever the format, so that they
	// show in CI logs even when the report goes to a file.
	for _, e := range report.Errors {
		fmt.Fprintf(s.ErrOut, "error: %s\n", e.Error())
	}
	if err := formatter.Format(s.Out, report); err != nil {
		return withCode(exitUsage, fmt.Errorf("write report: %w", err))
	}
	if code := lint.ExitCode(report, failOn); code != lint.ExitOK {
		return withCode(code, nil)
	}
	return nil
}

// newLintReport translates the engine's findings into the lint report: each
// finding gets the file and line of its object.
func newLintReport(rules []policies.Rule, findings []policies.Finding, snap *inventory.Snapshot, read *lint.ReadResult) *lint.Report {
	r := &lint.Report{
		Tool:   lint.Tool{Name: "nsguard", Version: version.Get().Version, InformationURI: projectURI, RulesURI: rulesURI},
		Files:  read.Files,
		Errors: read.Errors,
	}
	for _, ru := range rules {
		r.Rules = append(r.Rules, lint.Rule{ID: ru.ID, Severity: ru.Severity, Title: ru.Title, Description: ru.Description, Live: ru.Live})
	}
	r.Objects = make([]lint.Object, 0, len(snap.Objects))
	for _, o := range snap.Objects {
		lo := lint.Object{APIVersion: o.Ref.APIVersion, Kind: o.Ref.Kind, Namespace: o.Ref.Namespace, Name: o.Ref.Name}
		if o.Position != nil {
			lo.File, lo.Line = o.Position.File, o.Position.Line
		}
		r.Objects = append(r.Objects, lo)
	}
	// Rules return the refs the snapshot gave them; a ref built by hand
	// (ID -1) is matched by identity.
	byRef := map[inventory.ObjectRef]*inventory.Object{}
	lookup := func(ref inventory.ObjectRef) *inventory.Object {
		if ref.ID >= 0 && ref.ID < len(snap.Objects) {
			return snap.Objects[ref.ID]
		}
		if len(byRef) == 0 {
			for _, o := range snap.Objects {
				k := o.Ref
				k.ID, k.Resource = 0, ""
				byRef[k] = o
			}
		}
		ref.ID, ref.Resource = 0, ""
		return byRef[ref]
	}
	r.Findings = make([]lint.Finding, 0, len(findings))
	for _, f := range findings {
		lf := lint.Finding{
			Rule:            f.Rule,
			Severity:        f.Severity,
			Summary:         f.Summary,
			Message:         f.Message,
			Actions:         f.Actions,
			Commands:        f.Commands(),
			APIVersion:      f.Object.APIVersion,
			Kind:            f.Object.Kind,
			Name:            f.Object.Name,
			Namespace:       f.Namespace,
			ObjectNamespace: f.Object.Namespace,
		}
		if lf.Namespace == "" {
			lf.Namespace = f.Object.Namespace
		}
		if o := lookup(f.Object); o != nil && o.Position != nil {
			lf.File, lf.Line = o.Position.File, o.Position.Line
		}
		r.Findings = append(r.Findings, lf)
	}
	r.Sort()
	return r
}
