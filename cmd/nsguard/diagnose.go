package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/nsguard/nsguard/diagnose"
	"github.com/nsguard/nsguard/inventory"
	"github.com/nsguard/nsguard/policies"
	"github.com/nsguard/nsguard/policies/catalog"
)

type diagnoseOptions struct {
	output     string
	color      colorFlag
	timeout    time.Duration
	workers    int
	cacheDir   string
	verbosity  int
	policyDirs []string
	dataFiles  []string
	// kubectl's connection flags, bound the way kubectl binds them (its
	// genericclioptions.ConfigFlags wraps these same clientcmd overrides;
	// using them directly spares the binary cli-runtime's printers and
	// kustomize).
	loading   *clientcmd.ClientConfigLoadingRules
	overrides *clientcmd.ConfigOverrides
}

func newDiagnoseCommand(s *streams) *cobra.Command {
	o := &diagnoseOptions{loading: clientcmd.NewDefaultClientConfigLoadingRules(), overrides: &clientcmd.ConfigOverrides{}}
	cmd := &cobra.Command{
		Use:   "diagnose NAMESPACE",
		Short: "Explain what blocks the deletion of a namespace, or what would block it",
		Long: `Diagnose reads a live cluster and explains why a namespace is stuck in
Terminating, or, for a namespace that is still Active, what would block its
deletion if it were deleted now (a pre-flight check).

The report gives the namespace's state and conditions, each object left with
its finalizers, the controller responsible for each finalizer with its
liveness and the evidence, the root cause in plain words, and an ordered fix
plan with the exact commands, safe steps first. It says which finalizers are
unsafe to remove by hand and what would leak.

Diagnose only reads (get and list); see docs/diagnose.md for the read-only
RBAC it needs. It never needs kubectl proxy, anonymous access or
cluster-admin. Installed as kubectl-nsguard it runs as "kubectl nsguard
diagnose NAMESPACE".

Exit codes: 0 nothing blocks, 1 something blocks (findings of severity deny),
2 usage or connection error, 3 nothing that was checked blocks but the
report is incomplete (what was not checked is listed; do not read it as
safe).`,
		Example: `  # Why is namespace "shop" stuck in Terminating?
  nsguard diagnose shop

  # Would anything block the deletion of "shop" now? (same command)
  kubectl nsguard diagnose shop --context prod

  # For scripts
  nsguard diagnose shop -o json --timeout 10s`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDiagnose(cmd.Context(), s, o, args)
		},
	}
	f := cmd.Flags()
	o.color.register(cmd)
	f.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	f.DurationVar(&o.timeout, "timeout", 30*time.Second, "time allowed for reading the cluster; after it the report is printed, marked incomplete")
	f.IntVar(&o.workers, "workers", inventory.DefaultClusterWorkers, "API requests in flight at once")
	f.StringVar(&o.cacheDir, "cache-dir", inventory.DefaultCacheDir(), `directory of the per-cluster CRD cache (CRDs without their schemas, checked against a metadata-only LIST on every run); "" reads every CRD in full`)
	f.IntVarP(&o.verbosity, "verbose", "v", 0, "log level on standard error: 1 shows the inventory's progress and timing")
	f.StringArrayVar(&o.policyDirs, "policy", nil, "directory or file of additional Rego policies (repeatable)")
	f.StringArrayVar(&o.dataFiles, "data", nil, "JSON or YAML data file for the policies, e.g. finalizer catalog entries (repeatable)")
	f.StringVar(&o.loading.ExplicitPath, clientcmd.RecommendedConfigPathFlag, "", "path to the kubeconfig file (default $KUBECONFIG or ~/.kube/config)")
	clientcmd.BindOverrideFlags(o.overrides, f, clientcmd.RecommendedConfigOverrideFlags(""))
	f.Lookup(clientcmd.FlagNamespace).Usage = "the namespace to diagnose, as an alternative to the argument"
	return cmd
}

func runDiagnose(ctx context.Context, s *streams, o *diagnoseOptions, args []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	namespace, err := o.namespace(args)
	if err != nil {
		return withCode(exitUsage, err)
	}
	if err := o.color.validate(); err != nil {
		return err
	}
	renderer, err := diagnose.NewRenderer(o.output, o.color.enabled(s.Out))
	if err != nil {
		return withCode(exitUsage, err)
	}
	if o.workers < 1 {
		return withCode(exitUsage, fmt.Errorf("--workers must be at least 1"))
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(o.loading, o.overrides).ClientConfig()
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("load kubeconfig: %w", err))
	}
	batchGC()
	engine, err := compileWhileListing(ctx, policies.Options{PolicyDirs: o.policyDirs, DataFiles: o.dataFiles})
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("load policies: %w", err))
	}
	res, err := diagnose.Run(ctx, cfg, namespace, engine, diagnose.RunOptions{
		Timeout: o.timeout,
		Cluster: inventory.ClusterOptions{Workers: o.workers, Logger: o.logger(s.ErrOut), CacheDir: o.cacheDir, NoCache: o.cacheDir == ""},
	})
	if err != nil {
		if errors.Is(err, inventory.ErrNamespaceNotFound) {
			return withCode(exitUsage, fmt.Errorf("namespace %q not found", namespace))
		}
		return withCode(exitUsage, err)
	}
	if err := renderer.Render(s.Out, res.Report); err != nil {
		return withCode(exitUsage, fmt.Errorf("write report: %w", err))
	}
	switch {
	case res.Report.Blocked:
		return withCode(exitFindings, nil)
	case !res.Report.Complete:
		return withCode(exitIncomplete, nil)
	}
	return nil
}

// namespace is the argument, or kubectl's -n when given instead.
func (o *diagnoseOptions) namespace(args []string) (string, error) {
	return namespaceArg(args, o.overrides.Context.Namespace, "diagnose")
}

func (o *diagnoseOptions) logger(w io.Writer) logr.Logger {
	if o.verbosity <= 0 {
		return logr.Discard()
	}
	return funcr.New(func(prefix, args string) {
		fmt.Fprintln(w, prefix, args)
	}, funcr.Options{Verbosity: o.verbosity})
}

// lazyEngine compiles the policies in the background: the inventory needs
// only the finalizer catalog, so the tens of milliseconds of compilation
// overlap with the cluster's answers.
type lazyEngine struct {
	catalog *catalog.Catalog
	done    chan struct{}
	engine  *policies.Engine
	err     error
}

func compileWhileListing(ctx context.Context, opts policies.Options) (*lazyEngine, error) {
	cat, err := policies.LoadCatalog(opts.DataFiles)
	if err != nil {
		return nil, err
	}
	l := &lazyEngine{catalog: cat, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		l.engine, l.err = policies.New(ctx, opts)
	}()
	return l, nil
}

func (l *lazyEngine) Catalog() *catalog.Catalog { return l.catalog }

func (l *lazyEngine) Evaluate(ctx context.Context, s *inventory.Snapshot) ([]policies.Finding, error) {
	<-l.done
	if l.err != nil {
		return nil, fmt.Errorf("load policies: %w", l.err)
	}
	return l.engine.Evaluate(ctx, s)
}
