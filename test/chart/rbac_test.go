package chart

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// The chart's RBAC is held to docs/rbac/nsguard-serve.yaml, the reference
// that docs/security.md explains: every rule the chart renders, for every
// row of the values matrix, must be one of that file's rules or narrower
// (fewer verbs, groups, resources; resourceNames added; a Role where the
// file has a ClusterRole). The chart may grant less (it creates the
// remediator's ConfigMap and Lease itself, so it grants update on those
// two objects only), never more.

// roleRules are the rules of one Role or ClusterRole.
type roleRules struct {
	kind, name, namespace string
	rules                 []rbacv1.PolicyRule
}

func toTyped(t testing.TB, o *unstructured.Unstructured, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, into); err != nil {
		t.Fatalf("%s %s: %v", o.GetKind(), o.GetName(), err)
	}
}

// roles returns the Roles and ClusterRoles of a rendering.
func roles(t testing.TB, objs []*unstructured.Unstructured) []roleRules {
	t.Helper()
	var out []roleRules
	for _, o := range objs {
		switch o.GetKind() {
		case "ClusterRole":
			var r rbacv1.ClusterRole
			toTyped(t, o, &r)
			out = append(out, roleRules{"ClusterRole", r.Name, "", r.Rules})
		case "Role":
			var r rbacv1.Role
			toTyped(t, o, &r)
			out = append(out, roleRules{"Role", r.Name, r.Namespace, r.Rules})
		}
	}
	return out
}

func docsRoles(t testing.TB) []roleRules {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Root(t), "docs", "rbac", "nsguard-serve.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return roles(t, Objects(t, strings.ReplaceAll(string(b), "NAMESPACE", Namespace)))
}

// within reports whether every value of sub is in super ("*" in super
// covers everything).
func within(sub, super []string) bool {
	if slices.Contains(super, "*") {
		return true
	}
	for _, s := range sub {
		if !slices.Contains(super, s) {
			return false
		}
	}
	return true
}

// narrower reports whether rule r grants nothing that d does not. The
// file's resourceNames are those of a release whose full name is nsguard;
// for another full name (sameNames false) any names in r count as
// narrower than d's.
func narrower(r, d rbacv1.PolicyRule, sameNames bool) bool {
	if len(r.NonResourceURLs) > 0 || len(d.NonResourceURLs) > 0 {
		return len(r.APIGroups) == 0 && within(r.NonResourceURLs, d.NonResourceURLs) && within(r.Verbs, d.Verbs)
	}
	if !within(r.Verbs, d.Verbs) || !within(r.APIGroups, d.APIGroups) || !within(r.Resources, d.Resources) {
		return false
	}
	// No resourceNames means all names.
	return len(d.ResourceNames) == 0 || (len(r.ResourceNames) > 0 && (!sameNames || within(r.ResourceNames, d.ResourceNames)))
}

func TestRBACWithinDocs(t *testing.T) {
	Helm(t)
	docs := docsRoles(t)
	if len(docs) == 0 {
		t.Fatal("no roles read from docs/rbac/nsguard-serve.yaml")
	}
	for _, c := range valueCases(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			objs := Objects(t, Render(t, c.files))
			rendered := roles(t, objs)
			sameNames := One(t, objs, "Deployment").GetName() == "nsguard"
			if len(rendered) == 0 {
				t.Fatal("no roles rendered")
			}
			for _, r := range rendered {
				for _, rule := range r.rules {
					covered := false
					for _, d := range docs {
						// A ClusterRole's rule needs a ClusterRole's; a Role's
						// rule is covered by either, in its namespace.
						if r.kind == "ClusterRole" && d.kind != "ClusterRole" || r.kind == "Role" && d.kind == "Role" && d.namespace != r.namespace {
							continue
						}
						for _, dr := range d.rules {
							covered = covered || narrower(rule, dr, sameNames)
						}
					}
					if !covered {
						b, _ := json.Marshal(rule)
						t.Errorf("%s %s grants %s, which docs/rbac/nsguard-serve.yaml does not", r.kind, r.name, b)
					}
					if slices.Contains(rule.Verbs, "*") {
						t.Errorf("%s %s has a wildcard verb", r.kind, r.name)
					}
				}
			}
			checkBindings(t, objs, rendered)
		})
	}
}

// checkBindings: every binding binds a rendered role to the chart's
// ServiceAccount and nobody else.
func checkBindings(t *testing.T, objs []*unstructured.Unstructured, rendered []roleRules) {
	t.Helper()
	sa := ""
	deploy := One(t, objs, "Deployment")
	sa, _, _ = unstructured.NestedString(deploy.Object, "spec", "template", "spec", "serviceAccountName")
	names := map[string]bool{}
	for _, r := range rendered {
		names[r.kind+"/"+r.name] = true
	}
	for _, o := range objs {
		var ref rbacv1.RoleRef
		var subjects []rbacv1.Subject
		switch o.GetKind() {
		case "ClusterRoleBinding":
			var b rbacv1.ClusterRoleBinding
			toTyped(t, o, &b)
			ref, subjects = b.RoleRef, b.Subjects
		case "RoleBinding":
			var b rbacv1.RoleBinding
			toTyped(t, o, &b)
			ref, subjects = b.RoleRef, b.Subjects
		default:
			continue
		}
		if !names[ref.Kind+"/"+ref.Name] {
			t.Errorf("%s %s binds %s %s, which the chart does not render", o.GetKind(), o.GetName(), ref.Kind, ref.Name)
		}
		for _, s := range subjects {
			if s.Kind != "ServiceAccount" || s.Name != sa || s.Namespace != Namespace {
				t.Errorf("%s %s binds %s %s/%s; want only the chart's ServiceAccount %s/%s", o.GetKind(), o.GetName(), s.Kind, s.Namespace, s.Name, Namespace, sa)
			}
			if strings.HasPrefix(s.Name, "system:") {
				t.Errorf("%s %s binds %s", o.GetKind(), o.GetName(), s.Name)
			}
		}
	}
}

// writes lists the write grants of a rendering as "verb group/resource"
// (and "[names]" when limited to names), sorted.
func writes(t testing.TB, objs []*unstructured.Unstructured) []string {
	t.Helper()
	var out []string
	for _, r := range roles(t, objs) {
		for _, rule := range r.rules {
			for _, v := range rule.Verbs {
				if v == "get" || v == "list" || v == "watch" {
					continue
				}
				for _, g := range rule.APIGroups {
					for _, res := range rule.Resources {
						w := v + " " + g + "/" + res
						if len(rule.ResourceNames) > 0 {
							w += " " + strings.Join(rule.ResourceNames, ",")
						}
						if !slices.Contains(out, w) {
							out = append(out, w)
						}
					}
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// Write verbs follow the enabled action types, and only in mode on; the
// only thing nsguard may create is Events.
func TestRBACFollowsActions(t *testing.T) {
	Helm(t)
	events := []string{"create /events", "create events.k8s.io/events", "patch /events", "patch events.k8s.io/events"}
	state := []string{"update /configmaps nsguard-remediator-state", "update coordination.k8s.io/leases nsguard-remediator"}
	certs := []string{"update /secrets nsguard-webhook-tls", "update admissionregistration.k8s.io/validatingwebhookconfigurations nsguard"}
	base := slices.Concat(certs, state)
	cases := []struct {
		name string
		set  []string
		want []string
	}{
		{"dryrun with every action listed writes only Events", []string{"remediation.mode=dryrun", "remediation.actions={remove-finalizer,delete-object,delete-apiservice,delete-webhook-configuration,patch-webhook-failure-policy}"}, slices.Concat(base, events)},
		{"off writes no Events", []string{"remediation.mode=off"}, base},
		{"on without actions", []string{"remediation.mode=on"}, slices.Concat(base, events)},
		{"remove-finalizer", []string{"remediation.mode=on", "remediation.actions={remove-finalizer}"}, slices.Concat(base, events, []string{"patch */*"})},
		{"delete-object", []string{"remediation.mode=on", "remediation.actions={delete-object}"}, slices.Concat(base, events, []string{"delete */*"})},
		{"delete-apiservice", []string{"remediation.mode=on", "remediation.actions={delete-apiservice}"}, slices.Concat(base, events, []string{"delete apiregistration.k8s.io/apiservices"})},
		{"delete-webhook-configuration", []string{"remediation.mode=on", "remediation.actions={delete-webhook-configuration}"}, slices.Concat(base, events, []string{
			"delete admissionregistration.k8s.io/mutatingwebhookconfigurations", "delete admissionregistration.k8s.io/validatingwebhookconfigurations"})},
		{"patch-webhook-failure-policy", []string{"remediation.mode=on", "remediation.actions={patch-webhook-failure-policy}"}, slices.Concat(base, events, []string{
			"patch admissionregistration.k8s.io/mutatingwebhookconfigurations", "patch admissionregistration.k8s.io/validatingwebhookconfigurations"})},
		{"webhook alone writes only its certificate", []string{"components.remediator=false", "remediation.mode=on", "remediation.actions={remove-finalizer}"}, certs},
		{"cert-manager: the webhook writes nothing", []string{"components.remediator=false", "certificates.mode=certManager"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var extra []string
			for _, s := range c.set {
				extra = append(extra, "--set", s)
			}
			got := writes(t, Objects(t, Render(t, nil, extra...)))
			want := slices.Clone(c.want)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Errorf("write grants:\n got %q\nwant %q", got, want)
			}
			for _, w := range got {
				if strings.HasPrefix(w, "create ") && !strings.HasSuffix(w, "/events") {
					t.Errorf("%s: nsguard creates nothing at run time but Events", w)
				}
			}
		})
	}
}
