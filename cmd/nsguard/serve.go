package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/open-policy-agent/cert-controller/pkg/rotator"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/flowcontrol"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/nsguard/nsguard/actions"
	"github.com/nsguard/nsguard/inventory"
	"github.com/nsguard/nsguard/policies"
	"github.com/nsguard/nsguard/remediate"
	"github.com/nsguard/nsguard/webhook"
)

type serveOptions struct {
	components   []string
	mode         string
	configPath   string
	budget       time.Duration
	contents     string
	certDir      string
	webhookHost  string
	webhookPort  int
	metricsAddr  string
	probeAddr    string
	self         []string
	policyDirs   []string
	dataFiles    []string
	verbosity    int
	rotate       bool
	certSecret   string
	serviceName  string
	webhookName  string
	certValidity time.Duration

	remediation         string
	remediationActions  []string
	remediationDefault  string
	stuckAfter          time.Duration
	controllerGoneAfter time.Duration
	allowFinalizers     []string
	stateNamespace      string
	stateName           string
	actionQPS           float32
	recheck             time.Duration
	leaderElect         bool
	leaderElectionID    string
	leaderElectionNS    string

	loading   *clientcmd.ClientConfigLoadingRules
	overrides *clientcmd.ConfigOverrides
}

func newServeCommand(s *streams) *cobra.Command {
	o := &serveOptions{loading: clientcmd.NewDefaultClientConfigLoadingRules(), overrides: &clientcmd.ConfigOverrides{}}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the admission webhook that stops namespace deletions that would hang",
		Long: `Serve runs nsguard in a cluster (or next to one): a validating admission
webhook on namespace DELETE, at ` + webhook.Path + `.

For each deletion it takes a snapshot of the namespace from shared informers
(no API request per decision for the cluster-wide facts), evaluates the same
policies as lint and diagnose, and answers within --decision-budget: allow,
allow with warnings that kubectl prints, or deny with the blocker and the
first safe step. kubectl delete --dry-run=server gets the same answer.

Modes: enforce denies on deny findings; warn turns them into warnings;
dryrun allows, and logs and counts what enforce would do.

A namespace already being deleted, nsguard's own requests (--self) and the
excluded namespaces are allowed at once, with no listing. The annotation
nsguard.io/allow-deletion: "<reason>" lets a deletion through for members of
the configuration's break-glass groups, recorded in an audit annotation, a
log line and a metric.

Certificates come from --cert-dir (tls.crt, tls.key, reloaded when they
change, e.g. written by cert-manager) or, with --cert-rotation, from a CA
that nsguard keeps in a Secret and injects into its
ValidatingWebhookConfiguration. The probes (/healthz, /readyz) and the
metrics have their own ports; /readyz passes once the policies are compiled,
the certificates are in place and the caches have synced.`,
		Example: `  # Next to a cluster, with certificates in ./certs
  nsguard serve --kubeconfig ~/.kube/config --cert-dir ./certs --webhook-port 9443 --mode enforce

  # In a cluster, as the Helm chart runs it
  nsguard serve --cert-rotation --cert-secret nsguard/nsguard-webhook-tls \
    --service-name nsguard-webhook --webhook-configuration nsguard --config /etc/nsguard/config.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return runServe(ctx, s, o)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.components, "components", []string{"webhook", "remediator"}, "what to run: webhook, remediator, or both")
	f.StringVar(&o.mode, "mode", "", "enforce, warn or dryrun (default: the config's, else enforce)")
	f.StringVar(&o.configPath, "config", "", "configuration file: mode, per-rule overrides, exclusions, break-glass groups, waivers (docs/operations.md)")
	f.DurationVar(&o.budget, "decision-budget", webhook.DefaultBudget, "longest time a decision may take; past it the deletion is allowed with a warning (keep it well under the webhook's timeoutSeconds)")
	f.StringVar(&o.contents, "namespace-contents", inventory.ContentsWatch, "how a namespace's objects are read: watch (metadata informers, memory) or list (LISTs at each decision, latency)")
	f.StringVar(&o.certDir, "cert-dir", "", "directory with the serving certificate (tls.crt, tls.key), reloaded when it changes")
	f.StringVar(&o.webhookHost, "webhook-host", "", "address the webhook listens on (default all)")
	f.IntVar(&o.webhookPort, "webhook-port", 9443, "port of the webhook's HTTPS server")
	f.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", `address of the metrics endpoint ("0" disables it)`)
	f.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "address of /healthz and /readyz")
	f.StringSliceVar(&o.self, "self", selfFromEnv(), "user names whose deletions are never checked (nsguard's own service account; default from POD_NAMESPACE and SERVICE_ACCOUNT)")
	f.StringArrayVar(&o.policyDirs, "policy", nil, "directory or file of additional Rego policies (repeatable)")
	f.StringArrayVar(&o.dataFiles, "data", nil, "JSON or YAML data file for the policies (repeatable); nsguard.config in it is configuration too")
	f.IntVarP(&o.verbosity, "verbose", "v", 0, "log level: 0 decisions and errors, 1 inventory, 2 per snapshot")
	f.BoolVar(&o.rotate, "cert-rotation", false, "generate and rotate the serving certificate with a CA kept in --cert-secret, and inject the CA into --webhook-configuration")
	f.StringVar(&o.certSecret, "cert-secret", "", "NAMESPACE/NAME of the Secret that holds the CA and certificate (--cert-rotation)")
	f.StringVar(&o.serviceName, "service-name", "", "name of the webhook's Service, in the Secret's namespace: the certificate is for NAME.NAMESPACE.svc (--cert-rotation)")
	f.StringVar(&o.webhookName, "webhook-configuration", "nsguard", "name of the ValidatingWebhookConfiguration whose caBundle --cert-rotation keeps")
	f.DurationVar(&o.certValidity, "cert-validity", 0, "lifetime of the rotated certificates (default: cert-controller's, 10 years for the CA, refreshed 90 days before expiry)")
	f.StringVar(&o.remediation, "remediation", remediate.ModeDryRun, "remediator mode: off (metrics only), dryrun (Events saying what it would do) or on")
	f.StringSliceVar(&o.remediationActions, "remediation-actions", nil, "action types the remediator may run: remove-finalizer, delete-apiservice, delete-object, delete-webhook-configuration, patch-webhook-failure-policy (default none)")
	f.StringVar(&o.remediationDefault, "remediation-default", remediate.LabelDisabled, "remediation for namespaces without the label nsguard.io/remediation: enabled or disabled")
	f.DurationVar(&o.stuckAfter, "stuck-after", remediate.DefaultStuckAfter, "how long a namespace must be Terminating, with something left, to count as stuck")
	f.DurationVar(&o.controllerGoneAfter, "controller-gone-after", remediate.DefaultControllerGoneAfter, "how long a finalizer's controller must have been proven absent before the finalizer is removed (tracked across restarts)")
	f.StringSliceVar(&o.allowFinalizers, "allow-finalizer", nil, "finalizers (names or catalog ids) that may be removed although the catalog says removing them leaks something, or does not know them")
	f.StringVar(&o.stateNamespace, "state-namespace", os.Getenv("POD_NAMESPACE"), "namespace of the remediator's state ConfigMap and leader-election Lease (default POD_NAMESPACE)")
	f.StringVar(&o.stateName, "state-configmap", "nsguard-remediator-state", "name of the ConfigMap where the remediator remembers since when each controller has been absent")
	f.Float32Var(&o.actionQPS, "remediation-qps", 1, "actions per second across all namespaces")
	f.DurationVar(&o.recheck, "recheck-interval", remediate.DefaultRecheck, "how often a stuck namespace is looked at again")
	f.BoolVar(&o.leaderElect, "leader-elect", true, "elect a leader among replicas: only the leader remediates (the webhook serves on every replica)")
	f.StringVar(&o.leaderElectionID, "leader-election-id", "nsguard-remediator", "name of the leader-election Lease in --state-namespace (one per installation)")
	f.StringVar(&o.loading.ExplicitPath, clientcmd.RecommendedConfigPathFlag, "", "path to the kubeconfig file (default: in-cluster, else $KUBECONFIG or ~/.kube/config)")
	clientcmd.BindOverrideFlags(o.overrides, f, clientcmd.RecommendedConfigOverrideFlags(""))
	return cmd
}

// selfFromEnv is nsguard's own service account, as the chart passes it.
func selfFromEnv() []string {
	ns, sa := os.Getenv("POD_NAMESPACE"), os.Getenv("SERVICE_ACCOUNT")
	if ns == "" || sa == "" {
		return nil
	}
	return []string{"system:serviceaccount:" + ns + ":" + sa}
}

func (o *serveOptions) has(component string) bool {
	for _, c := range o.components {
		if c == component {
			return true
		}
	}
	return false
}

func (o *serveOptions) validate() error {
	var errs []error
	for _, c := range o.components {
		if c != "webhook" && c != "remediator" {
			errs = append(errs, fmt.Errorf("--components: unknown component %q (webhook, remediator)", c))
		}
	}
	if len(o.components) == 0 {
		errs = append(errs, errors.New("--components: nothing to run"))
	}
	if o.has("remediator") {
		switch o.remediation {
		case remediate.ModeOff, remediate.ModeDryRun, remediate.ModeOn:
		default:
			errs = append(errs, fmt.Errorf("--remediation %q: want off, dryrun or on", o.remediation))
		}
		switch o.remediationDefault {
		case remediate.LabelEnabled, remediate.LabelDisabled:
		default:
			errs = append(errs, fmt.Errorf("--remediation-default %q: want enabled or disabled", o.remediationDefault))
		}
		for _, a := range o.remediationActions {
			if _, err := actions.ParseType(a); err != nil {
				errs = append(errs, fmt.Errorf("--remediation-actions: %w", err))
			}
		}
		if o.stateNamespace == "" {
			errs = append(errs, errors.New("the remediator needs --state-namespace (or POD_NAMESPACE)"))
		}
	}
	if !o.has("webhook") {
		return errors.Join(errs...)
	}
	if o.budget <= 0 || o.budget > 30*time.Second {
		errs = append(errs, fmt.Errorf("--decision-budget %s: want more than 0 and at most 30s (the API server's longest webhook timeout)", o.budget))
	}
	if o.rotate {
		if ns, name, ok := strings.Cut(o.certSecret, "/"); !ok || ns == "" || name == "" {
			errs = append(errs, fmt.Errorf("--cert-secret %q: want NAMESPACE/NAME", o.certSecret))
		}
		if o.serviceName == "" {
			errs = append(errs, errors.New("--cert-rotation needs --service-name"))
		}
		if o.certDir == "" {
			errs = append(errs, errors.New("--cert-rotation needs --cert-dir (where the rotated certificate is written)"))
		}
	} else if o.certDir == "" {
		errs = append(errs, errors.New("--cert-dir is required (or --cert-rotation)"))
	}
	return errors.Join(errs...)
}

func runServe(ctx context.Context, s *streams, o *serveOptions) error {
	if err := o.validate(); err != nil {
		return withCode(exitUsage, err)
	}
	log := jsonLogger(s.ErrOut, o.verbosity)
	ctrl.SetLogger(log)

	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(o.loading, o.overrides).ClientConfig()
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("load kubeconfig: %w", err))
	}
	// One rate limiter for every client of the process: the cache, the
	// remediator's writes and state, the manager's.
	cfg = rest.CopyConfig(cfg)
	cfg.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(100, 300)
	conf, err := loadServeConfig(o.configPath, o.dataFiles)
	if err != nil {
		return withCode(exitUsage, err)
	}
	// nsguard's own namespace is never checked: deleting it must not wait
	// on the webhook it runs.
	if own := os.Getenv("POD_NAMESPACE"); own != "" && !slices.Contains(conf.Exclude.Namespaces, own) {
		conf.Exclude.Namespaces = append(conf.Exclude.Namespaces, own)
	}
	engine, err := policies.New(ctx, policies.Options{PolicyDirs: o.policyDirs, DataFiles: o.dataFiles, Data: conf.Data()})
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("load policies: %w", err))
	}
	known := map[string]bool{}
	for _, r := range engine.Rules() {
		known[r.ID] = true
	}
	if err := conf.CheckRules(known); err != nil {
		return withCode(exitUsage, err)
	}

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return fmt.Errorf("scheme: %w", err)
	}
	tlsMin := func(c *tls.Config) { c.MinVersion = tls.VersionTLS12 }
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: o.metricsAddr},
		HealthProbeBindAddress:  o.probeAddr,
		LeaderElection:          o.has("remediator") && o.leaderElect,
		LeaderElectionID:        o.leaderElectionID,
		LeaderElectionNamespace: o.stateNamespace,
		// The remediator stops acting at once when it loses leadership.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}

	cache, err := inventory.NewCache(cfg, inventory.CacheOptions{Contents: o.contents, Catalog: engine.Catalog(), RateLimiter: cfg.RateLimiter, Logger: log.WithName("inventory")})
	if err != nil {
		return withCode(exitUsage, err)
	}
	if err := mgr.Add(cacheRunnable{cache}); err != nil {
		return err
	}
	metrics.Registry.MustRegister(cacheCollector{cache})

	if o.has("remediator") {
		if err := addRemediator(mgr, cfg, o, cache, engine, log.WithName("remediator")); err != nil {
			return err
		}
	}

	certsReady := make(chan struct{})
	var started func(*http.Request) error
	if o.has("webhook") {
		decider, err := webhook.NewDecider(webhook.Options{
			Source: cache, Engine: engine, Config: conf, Mode: o.mode, Budget: o.budget, Self: o.self,
			Catalog: engine.Catalog(), Metrics: webhook.NewMetrics(metrics.Registry), Logger: log.WithName("webhook"),
		})
		if err != nil {
			return withCode(exitUsage, err)
		}
		server := crwebhook.NewServer(crwebhook.Options{
			Host: o.webhookHost, Port: o.webhookPort, CertDir: o.certDir,
			CertName: "tls.crt", KeyName: "tls.key", TLSOpts: []func(*tls.Config){tlsMin},
		})
		server.Register(webhook.Path, webhook.NewWebhook(decider))
		if err := mgr.Add(webhookRunnable{server: server, certsReady: certsReady}); err != nil {
			return err
		}
		started = server.StartedChecker()
		log.Info("webhook", "path", webhook.Path, "port", o.webhookPort, "mode", decider.Mode(), "budget", o.budget,
			"namespaceContents", o.contents, "excluded", conf.Exclude.Namespaces, "breakGlassGroups", conf.BreakGlass.Groups)
	}
	if o.rotate && o.has("webhook") {
		ns, name, _ := strings.Cut(o.certSecret, "/")
		cr := &rotator.CertRotator{
			SecretKey: types.NamespacedName{Namespace: ns, Name: name}, CertDir: o.certDir,
			CAName: "nsguard-ca", CAOrganization: "nsguard", DNSName: o.serviceName + "." + ns + ".svc",
			ExtraDNSNames: []string{o.serviceName, o.serviceName + "." + ns, o.serviceName + "." + ns + ".svc.cluster.local"},
			IsReady:       certsReady, Webhooks: []rotator.WebhookInfo{{Name: o.webhookName, Type: rotator.Validating}},
		}
		if o.certValidity > 0 {
			cr.CaCertDuration, cr.ServerCertDuration = o.certValidity, o.certValidity
		}
		if err := rotator.AddRotator(mgr, cr); err != nil {
			return fmt.Errorf("certificate rotation: %w", err)
		}
	} else {
		close(certsReady)
	}

	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("ready", func(req *http.Request) error {
		select {
		case <-certsReady:
		default:
			return errors.New("serving certificate not ready")
		}
		if !cache.Synced() {
			return errors.New("caches not synced")
		}
		if started != nil {
			return started(req)
		}
		return nil
	}); err != nil {
		return err
	}
	log.Info("serving", "components", o.components, "rules", len(known))
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// addRemediator sets up the reconciler of stuck namespaces.
func addRemediator(mgr ctrl.Manager, cfg *rest.Config, o *serveOptions, cache *inventory.Cache, engine *policies.Engine, log logr.Logger) error {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("remediator client: %w", err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("remediator client: %w", err)
	}
	types := make([]actions.Type, 0, len(o.remediationActions))
	for _, a := range o.remediationActions {
		types = append(types, actions.Type(a))
	}
	r, err := remediate.NewReconciler(remediate.Options{
		Source: cache, Engine: engine,
		Executor: &remediate.Executor{Client: dyn, FieldManager: "nsguard-remediator"},
		State:    &remediate.StateStore{Client: kube, Namespace: o.stateNamespace, Name: o.stateName},
		Recorder: mgr.GetEventRecorder("nsguard-remediator"),
		Mode:     o.remediation, Actions: types, DefaultEnabled: o.remediationDefault == remediate.LabelEnabled,
		StuckAfter: o.stuckAfter, ControllerGoneAfter: o.controllerGoneAfter, Recheck: o.recheck, AllowFinalizers: o.allowFinalizers,
		ClusterQPS: o.actionQPS, Now: cache.Clock().Now, Metrics: remediate.NewMetrics(metrics.Registry), Logger: log,
	})
	if err != nil {
		return withCode(exitUsage, err)
	}
	log.Info("remediator", "mode", o.remediation, "actions", o.remediationActions, "default", o.remediationDefault,
		"stuckAfter", o.stuckAfter, "controllerGoneAfter", o.controllerGoneAfter, "allowFinalizers", o.allowFinalizers)
	return r.SetupWithManager(mgr)
}

// loadServeConfig reads nsguard.config from the data files, then the
// --config file over it.
func loadServeConfig(path string, dataFiles []string) (*webhook.Config, error) {
	fromData, err := policies.ConfigFromData(dataFiles)
	if err != nil {
		return nil, err
	}
	if path == "" && fromData != nil {
		c, err := webhook.ParseConfig(fromData)
		if err != nil {
			return nil, fmt.Errorf("nsguard.config in --data: %w", err)
		}
		return c, nil
	}
	return webhook.LoadConfig(path)
}

// webhookRunnable starts the webhook's HTTPS server once its certificate is
// in place (the rotator writes it after the manager starts), on every
// replica.
type webhookRunnable struct {
	server     crwebhook.Server
	certsReady <-chan struct{}
}

func (r webhookRunnable) Start(ctx context.Context) error {
	select {
	case <-r.certsReady:
	case <-ctx.Done():
		return nil
	}
	return r.server.Start(ctx)
}

func (webhookRunnable) NeedLeaderElection() bool { return false }

// cacheRunnable runs the inventory cache under the manager, on every
// replica (no leader election: every replica answers the API server).
type cacheRunnable struct{ c *inventory.Cache }

func (r cacheRunnable) Start(ctx context.Context) error {
	if err := r.c.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

func (cacheRunnable) NeedLeaderElection() bool { return false }

var _ manager.LeaderElectionRunnable = cacheRunnable{}

// cacheCollector exports the cache's sizes as nsguard_cache_objects.
type cacheCollector struct{ c *inventory.Cache }

var cacheObjectsDesc = prometheus.NewDesc("nsguard_cache_objects", "Objects held by the inventory cache, by resource.", []string{"resource"}, nil)

func (cacheCollector) Describe(ch chan<- *prometheus.Desc) { ch <- cacheObjectsDesc }

func (c cacheCollector) Collect(ch chan<- prometheus.Metric) {
	for r, n := range c.c.Sizes() {
		ch <- prometheus.MustNewConstMetric(cacheObjectsDesc, prometheus.GaugeValue, float64(n), r)
	}
}

// jsonLogger logs one JSON object per line: decisions at level 0.
func jsonLogger(w io.Writer, verbosity int) logr.Logger {
	return funcr.NewJSON(func(obj string) { fmt.Fprintln(w, obj) }, funcr.Options{Verbosity: verbosity, LogTimestamp: true})
}
