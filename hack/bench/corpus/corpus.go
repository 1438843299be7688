// Package corpus generates the manifest corpus of make bench-lint: the
// shape of what `helm template`, kustomize and `kubectl get -o json` produce
// for a few hundred applications. Most files are multi-document YAML; some
// are `kind: List` documents and some are JSON. Objects are full, not
// trimmed: Deployments with pod templates, ConfigMaps with configuration
// files, Secrets, RBAC, CRDs with large OpenAPI schemas, and custom resources,
// some of which carry finalizers so that every linter has something to find.
//
// Generation is deterministic for a given Options.
package corpus

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Options size the corpus.
type Options struct {
	// Files is the number of files, one application each. Default 500.
	Files int
	// Seed makes the corpus reproducible. Default 1.
	Seed uint64
}

func (o *Options) defaults() {
	if o.Files <= 0 {
		o.Files = 500
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
}

// Stats describe a generated corpus.
type Stats struct {
	Files     int            `json:"files"`
	YAMLFiles int            `json:"yamlFiles"`
	ListFiles int            `json:"listFiles"` // YAML files holding one kind: List
	JSONFiles int            `json:"jsonFiles"` // JSON files holding one kind: List
	Documents int            `json:"documents"` // top-level documents (a List is one)
	Objects   int            `json:"objects"`   // Kubernetes objects (List items counted one by one)
	Bytes     int64          `json:"bytes"`
	ByKind    map[string]int `json:"byKind"`
	// WithFinalizers counts the objects that set metadata.finalizers; the
	// finalizers are never one of Kubernetes' own, so any rule that flags
	// hard-coded finalizers should flag exactly these.
	WithFinalizers int `json:"withFinalizers"`
	// Namespaces is the number of distinct namespaces the objects live in.
	Namespaces int `json:"namespaces"`
}

// Write generates the corpus into dir, after removing the corpus files an
// earlier run left there, and returns what it wrote. Nothing but corpus
// files is written to dir: the linters read all of it.
func Write(dir string, opts Options) (Stats, error) {
	opts.defaults()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Stats{}, fmt.Errorf("create corpus directory: %w", err)
	}
	old, err := filepath.Glob(filepath.Join(dir, "app-*"))
	if err != nil {
		return Stats{}, fmt.Errorf("list old corpus files: %w", err)
	}
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return Stats{}, fmt.Errorf("remove old corpus file: %w", err)
		}
	}
	st := Stats{ByKind: map[string]int{}}
	namespaces := map[string]bool{}
	for i := range opts.Files {
		f := File(i, opts)
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
			return st, fmt.Errorf("write corpus file: %w", err)
		}
		st.Files++
		switch f.Format {
		case FormatYAML:
			st.YAMLFiles++
		case FormatList:
			st.ListFiles++
		case FormatJSON:
			st.JSONFiles++
		}
		st.Documents += f.Documents
		st.Bytes += int64(len(f.Data))
		for _, o := range f.Objects {
			st.Objects++
			st.ByKind[o.Kind]++
			if o.Finalizers {
				st.WithFinalizers++
			}
			if o.Namespace != "" {
				namespaces[o.Namespace] = true
			}
		}
	}
	st.Namespaces = len(namespaces)
	return st, nil
}

// Formats of a corpus file.
const (
	FormatYAML = "yaml" // multi-document YAML
	FormatList = "list" // one YAML kind: List
	FormatJSON = "json" // one JSON kind: List
)

// GeneratedFile is one file of the corpus.
type GeneratedFile struct {
	Name      string
	Format    string
	Data      []byte
	Documents int
	Objects   []ObjectInfo
}

// ObjectInfo is what the benchmark needs to know of a generated object.
type ObjectInfo struct {
	Kind       string
	Namespace  string
	Name       string
	Finalizers bool
}

// File returns the i-th file of the corpus.
func File(i int, opts Options) GeneratedFile {
	opts.defaults()
	g := &gen{
		r:   rand.New(rand.NewPCG(opts.Seed, uint64(i))),
		i:   i,
		app: appNames[i%len(appNames)] + fmt.Sprintf("-%03d", i),
		ns:  fmt.Sprintf("team-%02d", i%teams),
	}
	objs := g.objects()
	f := GeneratedFile{Objects: make([]ObjectInfo, 0, len(objs))}
	for _, o := range objs {
		md, _ := o.Get("metadata").(M)
		info := ObjectInfo{Kind: o.Get("kind").(string)}
		info.Name, _ = md.Get("name").(string)
		info.Namespace, _ = md.Get("namespace").(string)
		info.Finalizers = md.Get("finalizers") != nil
		f.Objects = append(f.Objects, info)
	}
	var b strings.Builder
	switch {
	case i%20 == 7:
		f.Format, f.Name, f.Documents = FormatList, fmt.Sprintf("app-%03d-list.yaml", i), 1
		b.WriteString("# kubectl get all,cm,secret,sa,role,rolebinding -o yaml\n")
		writeYAML(&b, list(objs), 0)
	case i%20 == 13:
		f.Format, f.Name, f.Documents = FormatJSON, fmt.Sprintf("app-%03d.json", i), 1
		writeJSON(&b, list(objs), 0)
		b.WriteByte('\n')
	default:
		f.Format, f.Name, f.Documents = FormatYAML, fmt.Sprintf("app-%03d.yaml", i), len(objs)
		for j, o := range objs {
			if j > 0 {
				b.WriteString("---\n")
			}
			fmt.Fprintf(&b, "# Source: %s/templates/%s.yaml\n", g.app, strings.ToLower(o.Get("kind").(string)))
			writeYAML(&b, o, 0)
		}
	}
	f.Data = []byte(b.String())
	return f
}

func list(objs []M) M {
	items := make(L, len(objs))
	for i, o := range objs {
		items[i] = o
	}
	return M{{"apiVersion", "v1"}, {"kind", "List"}, {"metadata", M{{"resourceVersion", ""}}}, {"items", items}}
}

const teams = 40

var appNames = []string{
	"checkout", "payments", "catalog", "search", "inventory", "shipping",
	"accounts", "gateway", "notifications", "reports", "billing", "ledger",
	"recommender", "media", "auth", "profile", "orders", "pricing",
}

// crdKinds are the custom resource kinds that the corpus defines (one CRD
// every crdEvery files) and uses.
var crdKinds = []struct{ group, kind, plural string }{
	{"databases.example.io", "PostgresCluster", "postgresclusters"},
	{"databases.example.io", "RedisFailover", "redisfailovers"},
	{"messaging.example.io", "KafkaTopic", "kafkatopics"},
	{"messaging.example.io", "KafkaUser", "kafkausers"},
	{"storage.example.io", "Bucket", "buckets"},
	{"storage.example.io", "BackupSchedule", "backupschedules"},
	{"certs.example.io", "Certificate", "certificates"},
	{"certs.example.io", "Issuer", "issuers"},
	{"secrets.example.io", "ExternalSecret", "externalsecrets"},
	{"secrets.example.io", "SecretStore", "secretstores"},
	{"gitops.example.io", "Application", "applications"},
	{"gitops.example.io", "Kustomization", "kustomizations"},
	{"monitoring.example.io", "ServiceMonitor", "servicemonitors"},
	{"monitoring.example.io", "PrometheusRule", "prometheusrules"},
	{"networking.example.io", "VirtualService", "virtualservices"},
	{"networking.example.io", "DestinationRule", "destinationrules"},
	{"infra.example.io", "DNSRecord", "dnsrecords"},
	{"infra.example.io", "LoadBalancer", "loadbalancers"},
	{"queues.example.io", "Queue", "queues"},
	{"queues.example.io", "Consumer", "consumers"},
}

const crdEvery = 25

// finalizers are what operators put on their objects; none of them is one
// of Kubernetes' own.
var finalizers = []string{
	"databases.example.io/finalizer",
	"messaging.example.io/topic-cleanup",
	"storage.example.io/delete-bucket",
	"certs.example.io/revoke",
	"secrets.example.io/cleanup",
	"gitops.example.io/resources-finalizer",
	"infra.example.io/dns-cleanup",
	"queues.example.io/drain",
}

type gen struct {
	r   *rand.Rand
	i   int
	app string
	ns  string
}

// objects returns the objects of the file: about 20 per application, plus
// the team's Namespace in its first file, a CRD every crdEvery files and
// cluster RBAC, webhooks and APIServices now and then.
func (g *gen) objects() []M {
	var objs []M
	add := func(o M) { objs = append(objs, o) }
	if g.i < teams {
		add(g.namespace())
	}
	if g.i%crdEvery == 0 && g.i/crdEvery < len(crdKinds) {
		add(g.crd(crdKinds[g.i/crdEvery]))
	}
	operator := g.i%10 == 3
	add(g.serviceAccount())
	add(g.role(operator))
	add(g.roleBinding())
	if operator {
		add(g.clusterRole())
		add(g.clusterRoleBinding())
	}
	add(g.deployment(g.app+"-server", 8080))
	add(g.deployment(g.app+"-worker", 9000))
	add(g.service(g.app+"-server", 8080))
	add(g.service(g.app+"-metrics", 9090))
	add(g.configMap(g.app+"-config", 1+g.r.IntN(3), 30))
	add(g.envConfigMap(g.app + "-env"))
	add(g.configMap(g.app+"-dashboards", 2+g.r.IntN(4), 40))
	add(g.configMap(g.app+"-scripts", 1, 20))
	add(g.secret(g.app + "-credentials"))
	add(g.tlsSecret(g.app + "-tls"))
	for k := range 3 {
		add(g.customResource(k))
	}
	add(g.hpa())
	add(g.pdb())
	add(g.networkPolicy())
	add(g.ingress())
	if g.i%50 == 25 {
		add(g.webhook())
	}
	if g.i%100 == 50 {
		add(g.apiService())
	}
	return objs
}

func (g *gen) labels(component string) M {
	return M{
		{"app.kubernetes.io/name", g.app},
		{"app.kubernetes.io/instance", g.app},
		{"app.kubernetes.io/component", component},
		{"app.kubernetes.io/part-of", g.ns},
		{"app.kubernetes.io/managed-by", "Helm"},
		{"helm.sh/chart", fmt.Sprintf("%s-1.%d.%d", g.app, g.r.IntN(10), g.r.IntN(30))},
	}
}

func (g *gen) meta(name, component string, extra ...F) M {
	md := M{{"name", name}, {"namespace", g.ns}, {"labels", g.labels(component)}}
	return append(md, extra...)
}

func header(apiVersion, kind string, md M, rest ...F) M {
	return append(M{{"apiVersion", apiVersion}, {"kind", kind}, {"metadata", md}}, rest...)
}

func (g *gen) word() string {
	return words[g.r.IntN(len(words))]
}

func (g *gen) sentence(n int) string {
	ws := make([]string, n)
	for i := range ws {
		ws[i] = g.word()
	}
	return strings.Join(ws, " ")
}

var words = strings.Fields(`the controller reconciles each object and records its status in conditions
when replicas are not ready the operator retries with exponential backoff after a failed
update of the backing resource in the cloud provider account for this namespace cluster
endpoint address port protocol timeout seconds minimum maximum default value must be set`)

func (g *gen) namespace() M {
	return header("v1", "Namespace", M{
		{"name", g.ns},
		{"labels", M{{"kubernetes.io/metadata.name", g.ns}, {"team", g.ns}, {"pod-security.kubernetes.io/enforce", "restricted"}}},
		{"annotations", M{{"owner", g.ns + "@example.com"}, {"scheduler.alpha.kubernetes.io/node-selector", "pool=apps"}}},
	})
}

func (g *gen) serviceAccount() M {
	return header("v1", "ServiceAccount", g.meta(g.app, "rbac"), F{"automountServiceAccountToken", false})
}

func rule(groups, resources, verbs L) M {
	return M{{"apiGroups", groups}, {"resources", resources}, {"verbs", verbs}}
}

var readVerbs = L{"get", "list", "watch"}
var writeVerbs = L{"get", "list", "watch", "create", "update", "patch", "delete"}

func (g *gen) role(operator bool) M {
	rules := L{
		rule(L{""}, L{"configmaps", "secrets", "services", "endpoints"}, readVerbs),
		rule(L{"apps"}, L{"deployments", "statefulsets"}, readVerbs),
		rule(L{"coordination.k8s.io"}, L{"leases"}, L{"get", "create", "update"}),
	}
	if operator {
		// Operators manage their custom resources in the namespace they run
		// in: here the kind of the file's first custom resource.
		ck := crdKinds[(g.i*3)%len(crdKinds)]
		rules = append(rules, rule(L{ck.group}, L{ck.plural, ck.plural + "/status", ck.plural + "/finalizers"}, writeVerbs))
	}
	return header("rbac.authorization.k8s.io/v1", "Role", g.meta(g.app, "rbac"), F{"rules", rules})
}

func (g *gen) roleBinding() M {
	return header("rbac.authorization.k8s.io/v1", "RoleBinding", g.meta(g.app, "rbac"),
		F{"roleRef", M{{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "Role"}, {"name", g.app}}},
		F{"subjects", L{M{{"kind", "ServiceAccount"}, {"name", g.app}, {"namespace", g.ns}}}})
}

func (g *gen) clusterRole() M {
	ck := crdKinds[(g.i*3+1)%len(crdKinds)]
	return header("rbac.authorization.k8s.io/v1", "ClusterRole", M{{"name", g.app + "-manager"}, {"labels", g.labels("rbac")}},
		F{"rules", L{
			rule(L{ck.group}, L{ck.plural, ck.plural + "/status", ck.plural + "/finalizers"}, writeVerbs),
			rule(L{""}, L{"events"}, L{"create", "patch"}),
			rule(L{""}, L{"namespaces"}, readVerbs),
		}})
}

func (g *gen) clusterRoleBinding() M {
	return header("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", M{{"name", g.app + "-manager"}, {"labels", g.labels("rbac")}},
		F{"roleRef", M{{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "ClusterRole"}, {"name", g.app + "-manager"}}},
		F{"subjects", L{M{{"kind", "ServiceAccount"}, {"name", g.app}, {"namespace", g.ns}}}})
}

func (g *gen) container(name string, port int) M {
	env := L{}
	for e := range 8 + g.r.IntN(10) {
		env = append(env, M{{"name", fmt.Sprintf("%s_%s_%d", strings.ToUpper(g.word()), strings.ToUpper(g.word()), e)}, {"value", fmt.Sprintf("%s-%d", g.word(), g.r.IntN(10000))}})
	}
	env = append(env,
		M{{"name", "POD_NAMESPACE"}, {"valueFrom", M{{"fieldRef", M{{"fieldPath", "metadata.namespace"}}}}}},
		M{{"name", "DB_PASSWORD"}, {"valueFrom", M{{"secretKeyRef", M{{"name", g.app + "-credentials"}, {"key", "password"}}}}}},
	)
	probe := func(path string) M {
		return M{{"httpGet", M{{"path", path}, {"port", "http"}}}, {"initialDelaySeconds", 5 + g.r.IntN(20)}, {"periodSeconds", 10}, {"failureThreshold", 3}}
	}
	return M{
		{"name", name},
		{"image", fmt.Sprintf("registry.example.com/%s/%s:v%d.%d.%d", g.ns, name, 1+g.r.IntN(3), g.r.IntN(40), g.r.IntN(10))},
		{"imagePullPolicy", "IfNotPresent"},
		{"args", L{fmt.Sprintf("--port=%d", port), "--metrics-bind-address=:9090", "--leader-elect", "--zap-log-level=info"}},
		{"env", env},
		{"envFrom", L{M{{"configMapRef", M{{"name", g.app + "-env"}}}}}},
		{"ports", L{M{{"name", "http"}, {"containerPort", port}, {"protocol", "TCP"}}, M{{"name", "metrics"}, {"containerPort", 9090}, {"protocol", "TCP"}}}},
		{"livenessProbe", probe("/healthz")},
		{"readinessProbe", probe("/readyz")},
		{"resources", M{{"requests", M{{"cpu", fmt.Sprintf("%dm", 50*(1+g.r.IntN(8)))}, {"memory", fmt.Sprintf("%dMi", 64*(1+g.r.IntN(8)))}}}, {"limits", M{{"memory", fmt.Sprintf("%dMi", 256*(1+g.r.IntN(4)))}}}}},
		{"securityContext", M{{"allowPrivilegeEscalation", false}, {"readOnlyRootFilesystem", true}, {"runAsNonRoot", true}, {"capabilities", M{{"drop", L{"ALL"}}}}}},
		{"volumeMounts", L{M{{"name", "config"}, {"mountPath", "/etc/" + g.app}, {"readOnly", true}}, M{{"name", "tmp"}, {"mountPath", "/tmp"}}}},
	}
}

func (g *gen) deployment(name string, port int) M {
	sel := M{{"app.kubernetes.io/name", g.app}, {"app.kubernetes.io/component", name}}
	containers := L{g.container(strings.TrimPrefix(name, g.app+"-"), port)}
	if g.r.IntN(3) == 0 {
		containers = append(containers, g.container("sidecar", port+1))
	}
	tmplLabels := append(M{}, sel...)
	tmplLabels = append(tmplLabels, F{"version", fmt.Sprintf("v%d", g.r.IntN(5))})
	return header("apps/v1", "Deployment", g.meta(name, "server", F{"annotations", M{{"deployment.kubernetes.io/revision", fmt.Sprint(1 + g.r.IntN(20))}}}),
		F{"spec", M{
			{"replicas", 1 + g.r.IntN(5)},
			{"revisionHistoryLimit", 5},
			{"selector", M{{"matchLabels", sel}}},
			{"strategy", M{{"type", "RollingUpdate"}, {"rollingUpdate", M{{"maxSurge", "25%"}, {"maxUnavailable", 0}}}}},
			{"template", M{
				{"metadata", M{{"labels", tmplLabels}, {"annotations", M{{"checksum/config", fmt.Sprintf("%016x%016x", g.r.Uint64(), g.r.Uint64())}, {"prometheus.io/scrape", "true"}}}}},
				{"spec", M{
					{"serviceAccountName", g.app},
					{"securityContext", M{{"runAsNonRoot", true}, {"fsGroup", 65532}, {"seccompProfile", M{{"type", "RuntimeDefault"}}}}},
					{"affinity", M{{"podAntiAffinity", M{{"preferredDuringSchedulingIgnoredDuringExecution", L{M{
						{"weight", 100},
						{"podAffinityTerm", M{{"topologyKey", "kubernetes.io/hostname"}, {"labelSelector", M{{"matchLabels", sel}}}}},
					}}}}}}},
					{"tolerations", L{M{{"key", "dedicated"}, {"operator", "Equal"}, {"value", "apps"}, {"effect", "NoSchedule"}}}},
					{"containers", containers},
					{"volumes", L{
						M{{"name", "config"}, {"configMap", M{{"name", g.app + "-config"}}}},
						M{{"name", "tmp"}, {"emptyDir", M{}}},
					}},
				}},
			}},
		}},
		F{"status", M{{"observedGeneration", 3}, {"replicas", 2}, {"readyReplicas", 2}, {"availableReplicas", 2}, {"updatedReplicas", 2}}},
	)
}

func (g *gen) service(name string, port int) M {
	return header("v1", "Service", g.meta(name, "server"),
		F{"spec", M{
			{"type", "ClusterIP"},
			{"selector", M{{"app.kubernetes.io/name", g.app}, {"app.kubernetes.io/component", g.app + "-server"}}},
			{"ports", L{M{{"name", "http"}, {"port", 80}, {"targetPort", port}, {"protocol", "TCP"}}}},
		}})
}

// configFile is a configuration file of about lines lines, like the ones
// charts put in ConfigMaps.
func (g *gen) configFile(lines int) string {
	var b strings.Builder
	b.WriteString("# Generated by the chart; edit values.yaml instead.\n")
	section := ""
	for l := range lines {
		if l%12 == 0 {
			section = g.word()
			fmt.Fprintf(&b, "[%s.%s]\n", section, g.word())
		}
		fmt.Fprintf(&b, "%s_%s = %q # %s\n", g.word(), g.word(), fmt.Sprintf("%s-%d", g.word(), g.r.IntN(100000)), g.sentence(4+g.r.IntN(6)))
	}
	return b.String()
}

// configMap holds configuration files of up to maxLines lines each.
func (g *gen) configMap(name string, files, maxLines int) M {
	data := M{}
	for f := range files {
		data = append(data, F{fmt.Sprintf("%s-%d.conf", g.word(), f), g.configFile(5 + g.r.IntN(maxLines))})
	}
	md := g.meta(name, "config")
	if g.r.IntN(40) == 0 {
		// Some charts protect shared configuration from deletion.
		md = append(md, F{"finalizers", L{finalizers[g.r.IntN(len(finalizers))]}})
	}
	return header("v1", "ConfigMap", md, F{"data", data})
}

// envConfigMap holds settings read as environment variables.
func (g *gen) envConfigMap(name string) M {
	data := M{}
	for e := range 10 + g.r.IntN(20) {
		data = append(data, F{fmt.Sprintf("%s_%s_%d", strings.ToUpper(g.word()), strings.ToUpper(g.word()), e), fmt.Sprintf("%s-%d", g.word(), g.r.IntN(100000))})
	}
	return header("v1", "ConfigMap", g.meta(name, "config"), F{"data", data})
}

const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

func (g *gen) base64(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = b64[g.r.IntN(len(b64))]
	}
	return string(b)
}

func (g *gen) secret(name string) M {
	return header("v1", "Secret", g.meta(name, "config"),
		F{"type", "Opaque"},
		F{"data", M{{"username", g.base64(16)}, {"password", g.base64(44)}, {"api-token", g.base64(88)}}})
}

func (g *gen) tlsSecret(name string) M {
	return header("v1", "Secret", g.meta(name, "config"),
		F{"type", "kubernetes.io/tls"},
		F{"data", M{{"ca.crt", g.base64(1500)}, {"tls.crt", g.base64(1500)}, {"tls.key", g.base64(2200)}}})
}

func (g *gen) customResource(k int) M {
	ck := crdKinds[(g.i*3+k)%len(crdKinds)]
	md := g.meta(fmt.Sprintf("%s-%s-%d", g.app, strings.ToLower(ck.kind), k), "custom")
	if g.r.IntN(3) == 0 {
		md = append(md, F{"finalizers", L{finalizers[g.r.IntN(len(finalizers))]}})
	}
	spec := M{}
	for f := range 6 + g.r.IntN(10) {
		spec = append(spec, F{fmt.Sprintf("%s%d", g.word(), f), fmt.Sprintf("%s-%d", g.word(), g.r.IntN(1000))})
	}
	spec = append(spec, F{"parameters", M{{"size", fmt.Sprintf("%dGi", 1+g.r.IntN(100))}, {"replicas", 1 + g.r.IntN(3)}, {"tier", g.word()}}})
	return header(ck.group+"/v1", ck.kind, md, F{"spec", spec},
		F{"status", M{{"conditions", L{M{{"type", "Ready"}, {"status", "True"}, {"reason", "Reconciled"}, {"lastTransitionTime", "2025-01-02T03:04:05Z"}}}}}})
}

func (g *gen) hpa() M {
	return header("autoscaling/v2", "HorizontalPodAutoscaler", g.meta(g.app+"-server", "server"),
		F{"spec", M{
			{"scaleTargetRef", M{{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", g.app + "-server"}}},
			{"minReplicas", 2}, {"maxReplicas", 10},
			{"metrics", L{M{{"type", "Resource"}, {"resource", M{{"name", "cpu"}, {"target", M{{"type", "Utilization"}, {"averageUtilization", 70}}}}}}}},
		}})
}

func (g *gen) pdb() M {
	return header("policy/v1", "PodDisruptionBudget", g.meta(g.app+"-server", "server"),
		F{"spec", M{{"minAvailable", 1}, {"selector", M{{"matchLabels", M{{"app.kubernetes.io/name", g.app}}}}}}})
}

func (g *gen) networkPolicy() M {
	return header("networking.k8s.io/v1", "NetworkPolicy", g.meta(g.app, "network"),
		F{"spec", M{
			{"podSelector", M{{"matchLabels", M{{"app.kubernetes.io/name", g.app}}}}},
			{"policyTypes", L{"Ingress"}},
			{"ingress", L{M{{"from", L{M{{"namespaceSelector", M{{"matchLabels", M{{"kubernetes.io/metadata.name", "ingress-nginx"}}}}}}}}, {"ports", L{M{{"port", 8080}, {"protocol", "TCP"}}}}}}},
		}})
}

func (g *gen) ingress() M {
	host := g.app + ".apps.example.com"
	return header("networking.k8s.io/v1", "Ingress", g.meta(g.app, "network", F{"annotations", M{{"cert-manager.io/cluster-issuer", "letsencrypt"}}}),
		F{"spec", M{
			{"ingressClassName", "nginx"},
			{"tls", L{M{{"hosts", L{host}}, {"secretName", g.app + "-tls"}}}},
			{"rules", L{M{{"host", host}, {"http", M{{"paths", L{M{{"path", "/"}, {"pathType", "Prefix"}, {"backend", M{{"service", M{{"name", g.app + "-server"}, {"port", M{{"number", 80}}}}}}}}}}}}}}},
		}})
}

func (g *gen) webhook() M {
	return header("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", M{{"name", g.app + "-validator"}, {"labels", g.labels("webhook")}},
		F{"webhooks", L{M{
			{"name", "validate." + g.app + ".example.io"},
			{"admissionReviewVersions", L{"v1"}},
			{"sideEffects", "None"},
			{"failurePolicy", "Fail"},
			{"clientConfig", M{{"service", M{{"name", g.app + "-server"}, {"namespace", g.ns}, {"path", "/validate"}, {"port", 443}}}, {"caBundle", g.base64(1400)}}},
			{"rules", L{M{{"apiGroups", L{"*"}}, {"apiVersions", L{"*"}}, {"operations", L{"CREATE", "UPDATE", "DELETE"}}, {"resources", L{"*"}}}}},
		}}})
}

func (g *gen) apiService() M {
	return header("apiregistration.k8s.io/v1", "APIService", M{{"name", "v1beta1.metrics." + g.app + ".example.io"}, {"labels", g.labels("api")}},
		F{"spec", M{
			{"group", "metrics." + g.app + ".example.io"}, {"version", "v1beta1"},
			{"groupPriorityMinimum", 100}, {"versionPriority", 100},
			{"service", M{{"name", g.app + "-server"}, {"namespace", g.ns}, {"port", 443}}},
			{"insecureSkipTLSVerify", true},
		}})
}

// crd returns a CustomResourceDefinition whose schema is as large as the
// ones real operators ship (hundreds of documented properties).
func (g *gen) crd(ck struct{ group, kind, plural string }) M {
	schema := g.crdSchema(ck.kind, ck.plural)
	singular := strings.ToLower(ck.kind)
	md := M{{"name", ck.plural + "." + ck.group}, {"labels", g.labels("crd")}, {"annotations", M{{"controller-gen.kubebuilder.io/version", "v0.17.2"}}}}
	return header("apiextensions.k8s.io/v1", "CustomResourceDefinition", md,
		F{"spec", M{
			{"group", ck.group},
			{"names", M{{"kind", ck.kind}, {"listKind", ck.kind + "List"}, {"plural", ck.plural}, {"singular", singular}}},
			{"scope", "Namespaced"},
			{"versions", L{M{
				{"name", "v1"}, {"served", true}, {"storage", true},
				{"schema", M{{"openAPIV3Schema", schema}}},
				{"subresources", M{{"status", M{}}}},
				{"additionalPrinterColumns", L{M{{"name", "Ready"}, {"type", "string"}, {"jsonPath", ".status.conditions[?(@.type==\"Ready\")].status"}}}},
			}}},
		}})
}

func (g *gen) crdSchema(kind, plural string) M {
	return M{{"type", "object"}, {"description", kind + " is the Schema for the " + plural + " API."}, {"properties", M{
		{"apiVersion", M{{"type", "string"}, {"description", "APIVersion defines the versioned schema of this representation of an object."}}},
		{"kind", M{{"type", "string"}, {"description", "Kind is a string value representing the REST resource this object represents."}}},
		{"metadata", M{{"type", "object"}}},
		{"spec", g.schemaObject(3, 10)},
		{"status", g.schemaObject(2, 6)},
	}}}
}

func (g *gen) schemaObject(depth, width int) M {
	width = max(width, 2)
	props := M{}
	names := map[string]bool{}
	for len(props) < width {
		name := g.word() + strings.ToUpper(g.word()[:1]) + g.word()
		if names[name] {
			continue
		}
		names[name] = true
		var p M
		switch {
		case depth > 0 && g.r.IntN(3) == 0:
			p = g.schemaObject(depth-1, width-2)
		case depth > 0 && g.r.IntN(4) == 0:
			p = M{{"type", "array"}, {"items", g.schemaObject(depth-1, width/2)}}
		case g.r.IntN(2) == 0:
			p = M{{"type", "integer"}, {"format", "int32"}, {"minimum", 0}}
		default:
			p = M{{"type", "string"}}
			if g.r.IntN(3) == 0 {
				p = append(p, F{"enum", L{g.word(), g.word() + "s", g.word() + "ed"}})
			}
		}
		if p.Get("description") == nil {
			p = append(M{{"description", g.sentence(10 + g.r.IntN(25))}}, p...)
		}
		props = append(props, F{name, p})
	}
	keys := make([]string, 0, len(props))
	for _, f := range props {
		keys = append(keys, f.K)
	}
	sort.Strings(keys)
	return M{{"type", "object"}, {"description", g.sentence(8 + g.r.IntN(20))}, {"properties", props}, {"required", L{keys[0]}}}
}

// OpenAPISchema returns the openAPIV3Schema of a CRD of kind as the corpus
// writes it (tens of KiB of documented properties, like the CRDs operators
// ship), as a decoded JSON value, for benchmarks that create CRDs on a
// cluster.
func OpenAPISchema(seed uint64, i int, kind string) map[string]any {
	g := &gen{r: rand.New(rand.NewPCG(seed, uint64(i)))}
	return plainValue(g.crdSchema(kind, strings.ToLower(kind)+"s")).(map[string]any)
}

// plainValue converts M and L to the maps and slices encoding/json decodes to.
func plainValue(v any) any {
	switch v := v.(type) {
	case M:
		m := make(map[string]any, len(v))
		for _, f := range v {
			m[f.K] = plainValue(f.V)
		}
		return m
	case L:
		l := make([]any, len(v))
		for i, x := range v {
			l[i] = plainValue(x)
		}
		return l
	case int:
		return int64(v)
	default:
		return v
	}
}
