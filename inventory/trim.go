package inventory

import (
	"fmt"
	"strconv"
	"strings"
)

// lastApplied is dropped from annotations: it repeats the whole object and
// no rule reads it.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// bodyTrimmer keeps, of a decoded object, the top-level fields rules read.
type bodyTrimmer func(u map[string]any) map[string]any

// keptBody lists, per "group/Kind", what of the object beyond metadata is
// given to rules. Every other kind is reduced to its metadata. Keep this in
// step with docs/policy-input.md.
var keptBody = map[string]bodyTrimmer{
	"apiextensions.k8s.io/CustomResourceDefinition":               trimCRD,
	"apiregistration.k8s.io/APIService":                           trimAPIService,
	"admissionregistration.k8s.io/ValidatingWebhookConfiguration": trimWebhooks,
	"admissionregistration.k8s.io/MutatingWebhookConfiguration":   trimWebhooks,
	"rbac.authorization.k8s.io/Role":                              keep("rules"),
	"rbac.authorization.k8s.io/ClusterRole":                       keep("rules", "aggregationRule"),
	"rbac.authorization.k8s.io/RoleBinding":                       keep("roleRef", "subjects"),
	"rbac.authorization.k8s.io/ClusterRoleBinding":                keep("roleRef", "subjects"),
	"apps/Deployment":           trimWorkload,
	"apps/StatefulSet":          trimWorkload,
	"apps/DaemonSet":            trimWorkload,
	"apps/ReplicaSet":           trimWorkload,
	"/Pod":                      trimPod,
	"/Service":                  trimService,
	"/Namespace":                keep("spec", "status"),
	"coordination.k8s.io/Lease": keep("spec"),
}

// KeepsBody reports whether rules read more than the metadata of the kind,
// so that a source knows to fetch the full object (a cluster) or to decode it
// (a manifest reader's fast path).
func KeepsBody(group, kind string) bool {
	_, ok := keptBody[group+"/"+kind]
	return ok
}

// NewObject trims a decoded Kubernetes object (as from encoding/json or a
// YAML decoder) to what rules read. It does not modify u. The returned
// object has Ref.ID -1 until Snapshot.Add places it.
func NewObject(u map[string]any) (*Object, error) {
	apiVersion, _ := u["apiVersion"].(string)
	kind, _ := u["kind"].(string)
	switch {
	case apiVersion == "" && kind == "":
		return nil, fmt.Errorf("object has no apiVersion and no kind")
	case apiVersion == "":
		return nil, fmt.Errorf("%s has no apiVersion", kind)
	case kind == "":
		return nil, fmt.Errorf("object of %s has no kind", apiVersion)
	}
	group, version := SplitAPIVersion(apiVersion)
	o := &Object{Ref: ObjectRef{ID: -1, APIVersion: apiVersion, Group: group, Version: version, Kind: kind}}
	if md, ok := u["metadata"].(map[string]any); ok {
		o.Metadata = trimMetadata(md)
	}
	o.Ref.Name = o.Metadata.Name
	o.Ref.Namespace = o.Metadata.Namespace
	if trim, ok := keptBody[group+"/"+kind]; ok {
		o.Body = trim(u)
	}
	return o, nil
}

// SplitAPIVersion splits "group/version"; the core group is "".
func SplitAPIVersion(apiVersion string) (group, version string) {
	if i := strings.LastIndexByte(apiVersion, '/'); i >= 0 {
		return apiVersion[:i], apiVersion[i+1:]
	}
	return "", apiVersion
}

func trimMetadata(md map[string]any) Metadata {
	m := Metadata{
		Name:              str(md["name"]),
		Namespace:         str(md["namespace"]),
		GenerateName:      str(md["generateName"]),
		UID:               str(md["uid"]),
		CreationTimestamp: str(md["creationTimestamp"]),
		DeletionTimestamp: str(md["deletionTimestamp"]),
		Labels:            stringMap(md["labels"], ""),
		Annotations:       stringMap(md["annotations"], lastApplied),
		Finalizers:        stringSlice(md["finalizers"]),
	}
	if g, ok := toInt64(md["deletionGracePeriodSeconds"]); ok {
		m.DeletionGracePeriodSeconds = &g
	}
	if refs, ok := md["ownerReferences"].([]any); ok {
		for _, r := range refs {
			rm, ok := r.(map[string]any)
			if !ok {
				continue
			}
			m.OwnerReferences = append(m.OwnerReferences, OwnerReference{
				APIVersion:         str(rm["apiVersion"]),
				Kind:               str(rm["kind"]),
				Name:               str(rm["name"]),
				UID:                str(rm["uid"]),
				Controller:         rm["controller"] == true,
				BlockOwnerDeletion: rm["blockOwnerDeletion"] == true,
			})
		}
	}
	return m
}

func keep(keys ...string) bodyTrimmer {
	return func(u map[string]any) map[string]any {
		var out map[string]any
		for _, k := range keys {
			if v, ok := u[k]; ok && v != nil {
				if out == nil {
					out = make(map[string]any, len(keys))
				}
				out[k] = v
			}
		}
		return out
	}
}

// trimCRD keeps what tells where the CRD's objects live and how they are
// converted; the schemas (most of a CRD's bytes) are dropped.
func trimCRD(u map[string]any) map[string]any {
	spec, _ := u["spec"].(map[string]any)
	if spec == nil {
		return nil
	}
	out := pick(spec, "group", "names", "scope", "conversion")
	if conv, ok := out["conversion"].(map[string]any); ok {
		out["conversion"] = withoutCABundle(conv, "webhook", "clientConfig")
	}
	if vs, ok := spec["versions"].([]any); ok {
		versions := make([]any, 0, len(vs))
		for _, v := range vs {
			if vm, ok := v.(map[string]any); ok {
				versions = append(versions, pick(vm, "name", "served", "storage"))
			}
		}
		out["versions"] = versions
	}
	body := map[string]any{"spec": out}
	if st, ok := u["status"].(map[string]any); ok {
		body["status"] = pick(st, "conditions", "acceptedNames", "storedVersions")
	}
	return body
}

func trimAPIService(u map[string]any) map[string]any {
	body := map[string]any{}
	if spec, ok := u["spec"].(map[string]any); ok {
		s := pick(spec, "group", "version", "service", "insecureSkipTLSVerify", "groupPriorityMinimum", "versionPriority")
		body["spec"] = s
	}
	if st, ok := u["status"].(map[string]any); ok {
		body["status"] = st
	}
	return body
}

func trimWebhooks(u map[string]any) map[string]any {
	hooks, ok := u["webhooks"].([]any)
	if !ok {
		return nil
	}
	out := make([]any, 0, len(hooks))
	for _, h := range hooks {
		hm, ok := h.(map[string]any)
		if !ok {
			continue
		}
		out = append(out, withoutCABundle(hm, "clientConfig"))
	}
	return map[string]any{"webhooks": out}
}

// withoutCABundle returns m with m[path...]["caBundle"] removed, copying only
// the maps on the path.
func withoutCABundle(m map[string]any, path ...string) map[string]any {
	cp := make(map[string]any, len(m))
	for k, v := range m {
		cp[k] = v
	}
	if len(path) == 0 {
		delete(cp, "caBundle")
		return cp
	}
	if next, ok := cp[path[0]].(map[string]any); ok {
		cp[path[0]] = withoutCABundle(next, path[1:]...)
	}
	return cp
}

// trimWorkload keeps who the workload's pods run as, their labels, and its
// readiness: what tells whether it is a finalizer's controller and alive.
func trimWorkload(u map[string]any) map[string]any {
	body := map[string]any{}
	if spec, ok := u["spec"].(map[string]any); ok {
		s := pick(spec, "replicas", "selector")
		if tpl, ok := spec["template"].(map[string]any); ok {
			t := map[string]any{}
			if md, ok := tpl["metadata"].(map[string]any); ok {
				t["metadata"] = pick(md, "labels")
			}
			if ps, ok := tpl["spec"].(map[string]any); ok {
				t["spec"] = pick(ps, "serviceAccountName", "serviceAccount")
			}
			s["template"] = t
		}
		body["spec"] = s
	}
	if st, ok := u["status"].(map[string]any); ok {
		body["status"] = st
	}
	return body
}

func trimPod(u map[string]any) map[string]any {
	body := map[string]any{}
	if spec, ok := u["spec"].(map[string]any); ok {
		body["spec"] = pick(spec, "serviceAccountName", "serviceAccount", "nodeName")
	}
	if st, ok := u["status"].(map[string]any); ok {
		body["status"] = pick(st, "phase", "conditions")
	}
	return body
}

func trimService(u map[string]any) map[string]any {
	spec, ok := u["spec"].(map[string]any)
	if !ok {
		return nil
	}
	return map[string]any{"spec": pick(spec, "type", "selector", "ports", "externalName")}
}

// pick returns a new map with the keys of m that are present and not nil.
func pick(m map[string]any, keys ...string) map[string]any {
	out := make(map[string]any, len(keys))
	for _, k := range keys {
		if v, ok := m[k]; ok && v != nil {
			out[k] = v
		}
	}
	return out
}

func str(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil:
		return ""
	default:
		return fmt.Sprint(t)
	}
}

// stringMap converts labels or annotations; YAML may hand non-string values
// (a bare true or 1) that the API server would reject, but lint must still
// see them as written.
func stringMap(v any, drop string) map[string]string {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, val := range m {
		if k == drop {
			continue
		}
		out[k] = str(val)
	}
	return out
}

func stringSlice(v any) []string {
	l, ok := v.([]any)
	if !ok || len(l) == 0 {
		return nil
	}
	out := make([]string, 0, len(l))
	for _, e := range l {
		out = append(out, str(e))
	}
	return out
}

func toInt64(v any) (int64, bool) {
	switch t := v.(type) {
	case int:
		return int64(t), true
	case int64:
		return t, true
	case float64:
		return int64(t), true
	case string:
		n, err := strconv.ParseInt(t, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// Add places o in the snapshot: it sets o.Ref.ID and makes sure the
// namespace it lives in is known. A Namespace object marks its namespace
// declared and copies its spec and status.
func (s *Snapshot) Add(o *Object) {
	o.Ref.ID = len(s.Objects)
	s.Objects = append(s.Objects, o)
	if o.Ref.Namespace != "" {
		s.EnsureNamespace(o.Ref.Namespace)
	}
	if o.Ref.Group == "" && o.Ref.Kind == "Namespace" && o.Ref.Name != "" {
		ns := s.EnsureNamespace(o.Ref.Name)
		ns.Declared = true
		ns.ObjectID = o.Ref.ID
		for k, v := range o.Metadata.Labels {
			ns.Labels[k] = v
		}
		ns.DeletionTimestamp = o.Metadata.DeletionTimestamp
		if spec, ok := o.Body["spec"].(map[string]any); ok {
			ns.SpecFinalizers = stringSlice(spec["finalizers"])
		}
		if st, ok := o.Body["status"].(map[string]any); ok {
			ns.Phase = str(st["phase"])
			ns.Conditions = conditions(st["conditions"])
		}
	}
}

// EnsureNamespace returns the namespace entry, creating it with the label
// that Kubernetes sets on every namespace (webhook selectors match on it).
func (s *Snapshot) EnsureNamespace(name string) *Namespace {
	if ns, ok := s.Namespaces[name]; ok {
		return ns
	}
	ns := &Namespace{
		Name:      name,
		Deletable: !ImmortalNamespaces[name],
		ObjectID:  -1,
		Labels:    map[string]string{"kubernetes.io/metadata.name": name},
	}
	s.Namespaces[name] = ns
	return ns
}

// Conditions decodes status.conditions.
func conditions(v any) []Condition {
	l, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]Condition, 0, len(l))
	for _, c := range l {
		cm, ok := c.(map[string]any)
		if !ok {
			continue
		}
		out = append(out, Condition{
			Type:               str(cm["type"]),
			Status:             str(cm["status"]),
			Reason:             str(cm["reason"]),
			Message:            str(cm["message"]),
			LastTransitionTime: str(cm["lastTransitionTime"]),
		})
	}
	return out
}
