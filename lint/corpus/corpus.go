// Package corpus generates a realistic bundle of Kubernetes manifests for
// benchmarks: the shape of what `helm template` and kustomize render for a
// few hundred applications (Deployments with full pod templates, Services,
// ConfigMaps with configuration files, RBAC, CRDs with large schemas, custom
// resources with finalizers). Generation is deterministic.
package corpus

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// Options size the corpus.
type Options struct {
	// Files is the number of files; each is one application. Default 500.
	Files int
	// ObjectsPerFile is the number of objects per file. Default 20.
	ObjectsPerFile int
	// CRDEvery puts a CustomResourceDefinition with a large schema in every
	// n-th file. Default 25; negative for none.
	CRDEvery int
	// Seed makes the corpus reproducible.
	Seed uint64
}

func (o *Options) defaults() {
	if o.Files <= 0 {
		o.Files = 500
	}
	if o.ObjectsPerFile <= 0 {
		o.ObjectsPerFile = 20
	}
	if o.CRDEvery == 0 {
		o.CRDEvery = 25
	}
}

// Stats describe a generated corpus.
type Stats struct {
	Files   int
	Objects int
	Bytes   int64
}

// Write generates the corpus into dir (created if needed), one file per
// application: app-NNN.yaml.
func Write(dir string, opts Options) (Stats, error) {
	opts.defaults()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Stats{}, fmt.Errorf("create corpus directory: %w", err)
	}
	var st Stats
	for i := range opts.Files {
		data, n := File(i, opts)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("app-%03d.yaml", i)), data, 0o644); err != nil {
			return st, fmt.Errorf("write corpus file: %w", err)
		}
		st.Files++
		st.Objects += n
		st.Bytes += int64(len(data))
	}
	return st, nil
}

// File returns the i-th file of the corpus and its number of objects.
func File(i int, opts Options) ([]byte, int) {
	opts.defaults()
	g := &gen{r: rand.New(rand.NewPCG(opts.Seed, uint64(i))), app: fmt.Sprintf("app%03d", i), ns: fmt.Sprintf("team-%02d", i%40)}
	var docs []string
	add := func(s string) { docs = append(docs, s) }
	if opts.CRDEvery > 0 && i%opts.CRDEvery == 0 {
		add(g.crd())
	}
	add(g.namespace())
	add(g.serviceAccount())
	add(g.role())
	add(g.roleBinding())
	for len(docs) < opts.ObjectsPerFile {
		switch len(docs) % 8 {
		case 0:
			add(g.deployment())
		case 1:
			add(g.service())
		case 2:
			add(g.configMap())
		case 3:
			add(g.customResource())
		case 4:
			add(g.secret())
		case 5:
			add(g.statefulSet())
		case 6:
			add(g.configMap())
		case 7:
			add(g.ingress())
		}
	}
	var b strings.Builder
	b.WriteString("# Source: " + g.app + "/templates/all.yaml\n")
	for j, d := range docs {
		if j > 0 {
			b.WriteString("---\n")
		}
		b.WriteString(d)
	}
	return []byte(b.String()), len(docs)
}

type gen struct {
	r   *rand.Rand
	app string
	ns  string
	seq int
}

func (g *gen) name(kind string) string {
	g.seq++
	return fmt.Sprintf("%s-%s-%d", g.app, kind, g.seq)
}

func (g *gen) labels(indent int, component string) string {
	p := strings.Repeat(" ", indent)
	return fmt.Sprintf("%sapp.kubernetes.io/name: %s\n%sapp.kubernetes.io/instance: %s\n%sapp.kubernetes.io/component: %s\n%sapp.kubernetes.io/managed-by: Helm\n%shelm.sh/chart: %s-1.2.%d\n",
		p, g.app, p, g.app, p, component, p, p, g.app, g.r.IntN(30))
}

func (g *gen) namespace() string {
	return fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels:\n%s", g.ns, g.labels(4, "namespace"))
}

func (g *gen) serviceAccount() string {
	return fmt.Sprintf("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: %s\n  namespace: %s\n  labels:\n%s", g.app, g.ns, g.labels(4, "rbac"))
}

func (g *gen) role() string {
	return fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: %[1]s
  namespace: %[2]s
  labels:
%[3]srules:
- apiGroups: [""]
  resources: ["configmaps", "secrets", "services"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets"]
  verbs: ["get", "list", "watch", "update", "patch"]
- apiGroups: ["example.com"]
  resources: ["widgets", "widgets/status", "widgets/finalizers"]
  verbs: ["get", "list", "watch", "update", "patch"]
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  verbs: ["get", "create", "update"]
`, g.app, g.ns, g.labels(4, "rbac"))
}

func (g *gen) roleBinding() string {
	return fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: %[1]s
  namespace: %[2]s
  labels:
%[3]sroleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: %[1]s
subjects:
- kind: ServiceAccount
  name: %[1]s
  namespace: %[2]s
`, g.app, g.ns, g.labels(4, "rbac"))
}

func (g *gen) podSpec(indent int) string {
	p := strings.Repeat(" ", indent)
	var b strings.Builder
	fmt.Fprintf(&b, "%sserviceAccountName: %s\n%ssecurityContext:\n%s  runAsNonRoot: true\n%s  seccompProfile:\n%s    type: RuntimeDefault\n", p, g.app, p, p, p, p)
	fmt.Fprintf(&b, "%saffinity:\n%s  podAntiAffinity:\n%s    preferredDuringSchedulingIgnoredDuringExecution:\n%s    - weight: 100\n%s      podAffinityTerm:\n%s        topologyKey: kubernetes.io/hostname\n%s        labelSelector:\n%s          matchLabels:\n%s            app.kubernetes.io/name: %s\n", p, p, p, p, p, p, p, p, p, g.app)
	fmt.Fprintf(&b, "%scontainers:\n", p)
	for c := range 1 + g.r.IntN(2) {
		fmt.Fprintf(&b, "%s- name: c%d\n%s  image: registry.example.com/%s/server:v1.%d.%d\n%s  imagePullPolicy: IfNotPresent\n", p, c, p, g.app, g.r.IntN(20), g.r.IntN(10), p)
		fmt.Fprintf(&b, "%s  args:\n%s  - --port=8080\n%s  - --metrics-port=9090\n%s  - --log-level=info\n", p, p, p, p)
		fmt.Fprintf(&b, "%s  env:\n", p)
		for e := range 8 {
			fmt.Fprintf(&b, "%s  - name: SETTING_%d\n%s    value: \"value-%d-%d\"\n", p, e, p, e, g.r.IntN(1000))
		}
		fmt.Fprintf(&b, "%s  - name: POD_NAMESPACE\n%s    valueFrom:\n%s      fieldRef:\n%s        fieldPath: metadata.namespace\n", p, p, p, p)
		fmt.Fprintf(&b, "%s  ports:\n%s  - name: http\n%s    containerPort: 8080\n%s    protocol: TCP\n%s  - name: metrics\n%s    containerPort: 9090\n%s    protocol: TCP\n", p, p, p, p, p, p, p)
		for _, probe := range []string{"livenessProbe", "readinessProbe"} {
			fmt.Fprintf(&b, "%s  %s:\n%s    httpGet:\n%s      path: /healthz\n%s      port: http\n%s    initialDelaySeconds: 10\n%s    periodSeconds: 10\n", p, probe, p, p, p, p, p)
		}
		fmt.Fprintf(&b, "%s  resources:\n%s    requests:\n%s      cpu: 100m\n%s      memory: 128Mi\n%s    limits:\n%s      memory: 512Mi\n", p, p, p, p, p, p)
		fmt.Fprintf(&b, "%s  securityContext:\n%s    allowPrivilegeEscalation: false\n%s    readOnlyRootFilesystem: true\n%s    capabilities:\n%s      drop: [\"ALL\"]\n", p, p, p, p, p)
		fmt.Fprintf(&b, "%s  volumeMounts:\n%s  - name: config\n%s    mountPath: /etc/%s\n%s  - name: tmp\n%s    mountPath: /tmp\n", p, p, p, g.app, p, p)
	}
	fmt.Fprintf(&b, "%svolumes:\n%s- name: config\n%s  configMap:\n%s    name: %s-config\n%s- name: tmp\n%s  emptyDir: {}\n", p, p, p, p, g.app, p, p)
	return b.String()
}

func (g *gen) deployment() string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  namespace: %[2]s
  labels:
%[3]s  annotations:
    deployment.kubernetes.io/revision: "3"
spec:
  replicas: %[5]d
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      app.kubernetes.io/name: %[6]s
      app.kubernetes.io/component: server
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 25%%
      maxUnavailable: 0
  template:
    metadata:
      labels:
%[4]s      annotations:
        checksum/config: 3f1a9c0e5b7d2468ace13579bdf02468ace13579bdf02468ace13579bdf02468
    spec:
%[7]s`, g.name("deploy"), g.ns, g.labels(4, "server"), g.labels(8, "server"), 1+g.r.IntN(3), g.app, g.podSpec(6))
}

func (g *gen) statefulSet() string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: %[1]s
  namespace: %[2]s
  labels:
%[3]sspec:
  replicas: 3
  serviceName: %[1]s
  selector:
    matchLabels:
      app.kubernetes.io/name: %[5]s
      app.kubernetes.io/component: store
  template:
    metadata:
      labels:
%[4]s    spec:
%[6]s  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: ["ReadWriteOnce"]
      resources:
        requests:
          storage: 10Gi
`, g.name("sts"), g.ns, g.labels(4, "store"), g.labels(8, "store"), g.app, g.podSpec(6))
}

func (g *gen) service() string {
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: %[1]s
  namespace: %[2]s
  labels:
%[3]sspec:
  type: ClusterIP
  selector:
    app.kubernetes.io/name: %[4]s
    app.kubernetes.io/component: server
  ports:
  - name: http
    port: 80
    targetPort: http
    protocol: TCP
  - name: metrics
    port: 9090
    targetPort: metrics
    protocol: TCP
`, g.name("svc"), g.ns, g.labels(4, "server"), g.app)
}

func (g *gen) configMap() string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\n  labels:\n%sdata:\n", g.name("config"), g.ns, g.labels(4, "config"))
	fmt.Fprintf(&b, "  log.level: info\n  feature.flags: \"a,b,c\"\n  config.yaml: |\n")
	for s := range 12 + g.r.IntN(24) {
		fmt.Fprintf(&b, "    section%d:\n      enabled: %t\n      endpoint: https://svc-%d.%s.svc.cluster.local:8443/api/v1\n      timeout: %ds\n      retries: %d\n", s, g.r.IntN(2) == 0, s, g.ns, 5+g.r.IntN(30), g.r.IntN(5))
	}
	fmt.Fprintf(&b, "  nginx.conf: |\n    worker_processes auto;\n    events { worker_connections 1024; }\n    http {\n")
	for s := range 4 + g.r.IntN(8) {
		fmt.Fprintf(&b, "      server {\n        listen 80%02d;\n        location /api/%d { proxy_pass http://backend-%d:8080; proxy_set_header Host $host; }\n      }\n", s, s, s)
	}
	b.WriteString("    }\n")
	return b.String()
}

func (g *gen) secret() string {
	return fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata:
  name: %[1]s
  namespace: %[2]s
  labels:
%[3]stype: Opaque
data:
  username: YWRtaW4=
  password: c3VwZXItc2VjcmV0LXBhc3N3b3JkLTEyMzQ1Njc4OTA=
  tls.crt: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJrVENCK3dJSkFLSEhJRzE0T1hNRE1BMEdDU3FHU0liM0RRRUJDd1VBTUJFeER6QU5CZ05WQkFNTUJuUmxjM1F0WTJFdwpIaGNOTWpRd01UQXhNREF3TURBd1doY05NelF3TVRBeE1EQXdNREF3V2pBUk1ROHdEUVlEVlFRRERBWjBaWE4wTFdOaE1JR2ZNQTBHQ1NxR1NJYjMKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=
`, g.name("secret"), g.ns, g.labels(4, "secret"))
}

func (g *gen) ingress() string {
	return fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: %[1]s
  namespace: %[2]s
  labels:
%[3]s  annotations:
    cert-manager.io/cluster-issuer: letsencrypt
    nginx.ingress.kubernetes.io/proxy-body-size: 10m
spec:
  ingressClassName: nginx
  tls:
  - hosts: ["%[4]s.example.com"]
    secretName: %[4]s-tls
  rules:
  - host: %[4]s.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: %[4]s
            port:
              name: http
`, g.name("ing"), g.ns, g.labels(4, "ingress"), g.app)
}

func (g *gen) customResource() string {
	fin := ""
	if g.r.IntN(3) == 0 {
		fin = "  finalizers:\n  - widgets.example.com/cleanup\n"
	}
	return fmt.Sprintf(`apiVersion: example.com/v1
kind: Widget
metadata:
  name: %[1]s
  namespace: %[2]s
  labels:
%[3]s%[4]sspec:
  size: %[5]d
  owner: %[6]s
  endpoints:
  - https://a.example.com
  - https://b.example.com
  template:
    replicas: 2
    config:
      mode: fast
      cache: {enabled: true, size: 256Mi}
`, g.name("widget"), g.ns, g.labels(4, "widget"), fin, g.r.IntN(100), g.app)
}

// crd returns a CRD with a schema of the size real operators ship (tens to
// hundreds of kilobytes).
func (g *gen) crd() string {
	var b strings.Builder
	plural := g.app + "things"
	fmt.Fprintf(&b, `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: %[1]s.example.com
  labels:
%[2]s  annotations:
    controller-gen.kubebuilder.io/version: v0.16.1
spec:
  group: example.com
  names:
    kind: %[3]sThing
    listKind: %[3]sThingList
    plural: %[1]s
    singular: %[4]sthing
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
    schema:
      openAPIV3Schema:
        type: object
        description: A thing of %[4]s.
        properties:
`, plural, g.labels(4, "crd"), strings.ToUpper(g.app[:1])+g.app[1:], g.app)
	g.schema(&b, 10, 4)
	return b.String()
}

func (g *gen) schema(b *strings.Builder, indent, depth int) {
	p := strings.Repeat(" ", indent)
	n := 4 + g.r.IntN(4)
	for i := range n {
		fmt.Fprintf(b, "%sfield%d:\n%s  description: Field %d controls how the operator reconciles this part of the resource; see the documentation for the accepted values and defaults.\n", p, i, p, i)
		if depth > 0 && i%2 == 0 {
			fmt.Fprintf(b, "%s  type: object\n%s  properties:\n", p, p)
			g.schema(b, indent+4, depth-1)
		} else {
			fmt.Fprintf(b, "%s  type: string\n%s  enum: [\"A\", \"B\", \"C\"]\n", p, p)
		}
	}
}
