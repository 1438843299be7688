package inventory

import (
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	rbacvalidation "k8s.io/component-helpers/auth/rbac/validation"
)

// Roles that grant rights on everything of a kind of use rather than on
// one controller's resources: granted to a workload or to a person, they
// are no evidence that it handles a finalizer (a CI runner bound to edit
// may update every custom resource aggregated into edit).
var genericRoles = map[string]bool{"cluster-admin": true, "admin": true, "edit": true, "view": true}

// userFacingAggregation are the labels by which a ClusterRole aggregates
// into admin, edit or view.
var userFacingAggregation = []string{
	"rbac.authorization.k8s.io/aggregate-to-admin",
	"rbac.authorization.k8s.io/aggregate-to-edit",
	"rbac.authorization.k8s.io/aggregate-to-view",
}

// role is a Role or ClusterRole, its rules in the API's types so that
// Kubernetes' own rule matching reads them.
type role struct {
	rules []rbacv1.PolicyRule
	// generic: admin, edit, view, cluster-admin and the system roles that
	// aggregate into them; no grant through it counts, for anyone.
	generic bool
	// userFacing: generic, or aggregates into admin/edit/view (labels or
	// an aggregationRule that selects those labels); a grant through it
	// to a person (a User or Group) does not count.
	userFacing bool
	// granted memoises grants: every binding to the role asks the same
	// questions for each finalizer of its namespaces and the cluster's.
	granted map[grantKey]int
}

// grantKey is what the answer of role.grants depends on. names is set only
// when a rule with resourceNames could cover the request.
type grantKey struct {
	group, resource, names string
	spec                   bool
}

type binding struct {
	obj       *Object
	namespace string // "" for a ClusterRoleBinding
	roleKind  string
	roleName  string
	subjects  []rbacv1.Subject
	// role is the role it refers to (see roleOf), set once every role is
	// known.
	role *role
}

func newRole(o *Object, cluster bool) *role {
	r := &role{rules: policyRules(o.Body["rules"])}
	if cluster {
		r.generic = genericRoles[o.Ref.Name] || strings.HasPrefix(o.Ref.Name, "system:aggregate-to-")
		r.userFacing = r.generic
		for _, l := range userFacingAggregation {
			if o.Metadata.Labels[l] == "true" {
				r.userFacing = true
			}
		}
		ar, _ := o.Body["aggregationRule"].(map[string]any)
		sels, _ := ar["clusterRoleSelectors"].([]any)
		for _, sv := range sels {
			sm, _ := sv.(map[string]any)
			for k := range stringMap(sm["matchLabels"], "") {
				if contains(userFacingAggregation, k) {
					r.userFacing = true
				}
			}
		}
	}
	return r
}

func policyRules(v any) []rbacv1.PolicyRule {
	l, _ := v.([]any)
	out := make([]rbacv1.PolicyRule, 0, len(l))
	for _, r := range l {
		rm, ok := r.(map[string]any)
		if !ok {
			continue
		}
		out = append(out, rbacv1.PolicyRule{
			APIGroups:     stringSlice(rm["apiGroups"]),
			Resources:     stringSlice(rm["resources"]),
			ResourceNames: stringSlice(rm["resourceNames"]),
			Verbs:         stringSlice(rm["verbs"]),
		})
	}
	return out
}

func newBinding(o *Object) binding {
	b := binding{obj: o, namespace: o.Ref.Namespace}
	if rr, ok := o.Body["roleRef"].(map[string]any); ok {
		b.roleKind, b.roleName = str(rr["kind"]), str(rr["name"])
	}
	subs, _ := o.Body["subjects"].([]any)
	for _, sv := range subs {
		sm, ok := sv.(map[string]any)
		if !ok {
			continue
		}
		sub := rbacv1.Subject{Kind: str(sm["kind"]), Name: str(sm["name"]), Namespace: str(sm["namespace"])}
		if sub.Kind == rbacv1.ServiceAccountKind && sub.Namespace == "" {
			sub.Namespace = b.namespace
		}
		b.subjects = append(b.subjects, sub)
	}
	return b
}

// roleOf returns the role a binding refers to, nil when it is not in the
// snapshot (a binding to a missing role grants nothing).
func (a *analysis) roleOf(b *binding) *role {
	switch b.roleKind {
	case "ClusterRole":
		return a.clusterRoles[b.roleName]
	case "Role":
		return a.roles[b.namespace+"/"+b.roleName]
	}
	return nil
}

// request is what removing a finalizer takes: update or patch of the
// object, or update of its finalizers subresource (what controllers are
// granted for ownerReferences' blockOwnerDeletion, and a sure sign of the
// controller of a kind). Names limit it to the objects that carry the
// finalizer, for rules with resourceNames.
type request struct {
	group, resource string
	names           []string
	// spec: the namespace's spec.finalizers, which only the finalize
	// subresource changes.
	spec bool
	// wants are the rules the request is made of; groups, resources and
	// verbs are the values an owner rule must hold one of to cover any of
	// them (see mayCover).
	wants                    []rbacv1.PolicyRule
	groups, resources, verbs []string
}

func newRequest(group, resource string, names []string, spec bool) request {
	q := request{group: group, resource: resource, names: names, spec: spec}
	if spec {
		q.wants = []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces/finalize"}, Verbs: []string{"update"}}}
	} else {
		q.wants = []rbacv1.PolicyRule{
			{APIGroups: []string{group}, Resources: []string{resource}, Verbs: []string{"update"}},
			{APIGroups: []string{group}, Resources: []string{resource}, Verbs: []string{"patch"}},
			{APIGroups: []string{group}, Resources: []string{resource + "/finalizers"}, Verbs: []string{"update"}},
		}
	}
	q.groups = []string{rbacv1.APIGroupAll}
	q.resources = []string{rbacv1.ResourceAll}
	q.verbs = []string{rbacv1.VerbAll}
	for _, w := range q.wants {
		q.groups = appendNew(q.groups, w.APIGroups...)
		q.verbs = appendNew(q.verbs, w.Verbs...)
		for _, res := range w.Resources {
			q.resources = appendNew(q.resources, res)
			// Covers lets "*/sub" cover the subresource sub of any resource.
			if _, sub, ok := strings.Cut(res, "/"); ok {
				q.resources = appendNew(q.resources, "*/"+sub)
			}
		}
	}
	return q
}

func appendNew(l []string, ss ...string) []string {
	for _, s := range ss {
		if !contains(l, s) {
			l = append(l, s)
		}
	}
	return l
}

// Grant strengths.
const (
	grantNone     = iota
	grantWildcard // only through apiGroups "*" with resources "*": cluster-admin-like
	grantSpecific // a rule that names the resource, or every resource of its group
)

// grants tells how a role lets its subjects make the request, using
// Kubernetes' own rule matching (wildcards, subresources, resourceNames).
// Rules that cannot cover the request (mayCover) are not matched at all,
// and the answer is remembered per role and request.
func (r *role) grants(q request) int {
	k := grantKey{group: q.group, resource: q.resource, spec: q.spec}
	candidates, named := 0, false
	for i := range r.rules {
		if mayCover(&r.rules[i], q) {
			candidates++
			named = named || len(r.rules[i].ResourceNames) > 0
		}
	}
	if candidates == 0 {
		return grantNone
	}
	if named {
		k.names = strings.Join(q.names, "\x00")
	}
	if g, ok := r.granted[k]; ok {
		return g
	}
	g := r.match(q)
	if r.granted == nil {
		r.granted = map[grantKey]int{}
	}
	r.granted[k] = g
	return g
}

func (r *role) match(q request) int {
	best := grantNone
	for _, owner := range r.rules {
		if !mayCover(&owner, q) || !coversAny(owner, q) {
			continue
		}
		if contains(owner.APIGroups, rbacv1.APIGroupAll) && contains(owner.Resources, rbacv1.ResourceAll) {
			best = max(best, grantWildcard)
			continue
		}
		return grantSpecific
	}
	return best
}

// mayCover is false when the rule cannot cover any rule of the request,
// whatever its resource names: Covers needs one of the request's groups,
// verbs and resources (or their wildcards) among the rule's.
func mayCover(owner *rbacv1.PolicyRule, q request) bool {
	return containsAny(owner.Verbs, q.verbs...) &&
		containsAny(owner.APIGroups, q.groups...) &&
		containsAny(owner.Resources, q.resources...)
}

func coversAny(owner rbacv1.PolicyRule, q request) bool {
	owners := []rbacv1.PolicyRule{owner}
	for _, want := range q.wants {
		if ok, _ := rbacvalidation.Covers(owners, []rbacv1.PolicyRule{want}); ok {
			return true
		}
		if len(owner.ResourceNames) == 0 {
			continue
		}
		for _, n := range q.names {
			want.ResourceNames = []string{n}
			if ok, _ := rbacvalidation.Covers(owners, []rbacv1.PolicyRule{want}); ok {
				return true
			}
		}
	}
	return false
}

// serviceAccountUser is how a service account authenticates: a User
// subject of this form is that service account.
const serviceAccountUser = "system:serviceaccount:"

// subjectUnits returns the units whose pods run as a subject, and whether
// the subject is an identity outside the cluster's workloads (a person, a
// controller run elsewhere, anything RBAC names that is not a service
// account).
func (a *analysis) subjectUnits(sub rbacv1.Subject) (units []*unit, external bool) {
	switch sub.Kind {
	case rbacv1.ServiceAccountKind:
		return a.unitsBySA[sub.Namespace+"/"+sub.Name], false
	case rbacv1.UserKind:
		if rest, ok := strings.CutPrefix(sub.Name, serviceAccountUser); ok {
			if ns, name, ok := strings.Cut(rest, ":"); ok {
				return a.unitsBySA[ns+"/"+name], false
			}
		}
		return nil, true
	case rbacv1.GroupKind:
		switch {
		case sub.Name == "system:serviceaccounts":
			return a.units, false
		case strings.HasPrefix(sub.Name, "system:serviceaccounts:"):
			ns := strings.TrimPrefix(sub.Name, "system:serviceaccounts:")
			for _, u := range a.units {
				if u.ref.Namespace == ns {
					units = append(units, u)
				}
			}
			return units, false
		}
		return nil, true
	}
	return nil, false
}
