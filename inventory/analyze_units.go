package inventory

import (
	"sort"
	"strings"
)

// unit is a controller as it runs: a workload object (Deployment,
// StatefulSet, DaemonSet) and its pods, or pods grouped by whatever owns
// them (a Job, a ReplicaSet of an Argo Rollout, any custom owner), or a
// bare Pod alone. Liveness is judged on the pods: whatever owns them, a
// running pod whose service account may update a resource is a possible
// controller of its finalizers.
type unit struct {
	// ref names the unit: the workload object, the owner as the pods name
	// it (ID -1 when the owner is not in the snapshot), or the bare Pod.
	ref ObjectRef
	// obj is the workload object (or the bare Pod), nil when not listed.
	obj *Object
	// sas are the service accounts ("namespace/name") of its pod template
	// and of its pods.
	sas []string
	// labels are the workload's; podLabels its template's or pods'. The
	// template's (tplLabels) are converted only when a catalog entry asks
	// (see podLabelSet): most bundles have no workload to match.
	labels, podLabels map[string]string
	tplLabels         map[string]any
	// pods are its pods that have not finished (not Succeeded or Failed).
	pods []*Object
}

// podTemplateHash is the label the Deployment controller (and Argo
// Rollouts) puts on a ReplicaSet's pods; the ReplicaSet is named
// "<deployment>-<hash>".
const podTemplateHash = "pod-template-hash"

// buildUnits groups the snapshot's workloads and pods into units.
func (a *analysis) buildUnits(workloads, pods []*Object) {
	byKey := map[string]*unit{}
	key := func(ns, group, kind, name string) string { return ns + "/" + group + "/" + kind + "/" + name }
	for _, o := range workloads {
		u := &unit{ref: o.Ref, obj: o, labels: o.Metadata.Labels}
		spec, _ := o.Body["spec"].(map[string]any)
		tpl, _ := spec["template"].(map[string]any)
		if md, ok := tpl["metadata"].(map[string]any); ok {
			if l, ok := md["labels"].(map[string]any); ok && len(l) > 0 {
				u.tplLabels = l
			}
		}
		ps, _ := tpl["spec"].(map[string]any)
		u.addSA(o.Ref.Namespace, serviceAccountOf(ps))
		byKey[key(o.Ref.Namespace, o.Ref.Group, o.Ref.Kind, o.Ref.Name)] = u
		a.units = append(a.units, u)
	}
	for _, p := range pods {
		if phase := podPhase(p); phase == "Succeeded" || phase == "Failed" {
			continue
		}
		ns := p.Ref.Namespace
		var u *unit
		if owner := controllerOf(p); owner != nil {
			group, _ := SplitAPIVersion(owner.APIVersion)
			kind, name := owner.Kind, owner.Name
			if group == "apps" && kind == "ReplicaSet" {
				if h := p.Metadata.Labels[podTemplateHash]; h != "" && strings.HasSuffix(name, "-"+h) {
					if d := byKey[key(ns, "apps", "Deployment", strings.TrimSuffix(name, "-"+h))]; d != nil {
						u = d
					}
				}
			}
			if u == nil {
				k := key(ns, group, kind, name)
				if u = byKey[k]; u == nil {
					_, version := SplitAPIVersion(owner.APIVersion)
					u = &unit{ref: ObjectRef{ID: -1, APIVersion: owner.APIVersion, Group: group, Version: version, Kind: kind,
						Resource: guessResource(group, kind), Namespace: ns, Name: name}}
					byKey[k] = u
					a.units = append(a.units, u)
				}
			}
		} else {
			u = &unit{ref: p.Ref, obj: p, labels: p.Metadata.Labels}
			a.units = append(a.units, u)
		}
		u.pods = append(u.pods, p)
		if u.podLabels == nil && u.tplLabels == nil {
			u.podLabels = p.Metadata.Labels
		}
		ps, _ := p.Body["spec"].(map[string]any)
		u.addSA(ns, serviceAccountOf(ps))
	}
	for _, u := range a.units {
		sort.Strings(u.sas)
		for _, sa := range u.sas {
			a.unitsBySA[sa] = append(a.unitsBySA[sa], u)
		}
		for _, p := range u.pods {
			a.unitByPod[p.Ref.Namespace+"/"+p.Ref.Name] = u
		}
	}
}

// podLabelSet returns the labels of the unit's pods: its template's, or
// its first pod's.
func (u *unit) podLabelSet() map[string]string {
	if u.podLabels == nil && u.tplLabels != nil {
		u.podLabels = stringMap(u.tplLabels, "")
	}
	return u.podLabels
}

func (u *unit) addSA(ns, name string) {
	sa := ns + "/" + name
	if !contains(u.sas, sa) {
		u.sas = append(u.sas, sa)
	}
}

// name is "Kind namespace/name", for evidence.
func (u *unit) name() string {
	return u.ref.Kind + " " + u.ref.Namespace + "/" + u.ref.Name
}

// serviceAccountOf reads a pod spec's service account; "default" when it
// names none, as the ServiceAccount admission plugin sets it.
func serviceAccountOf(ps map[string]any) string {
	if n := str(ps["serviceAccountName"]); n != "" {
		return n
	}
	if n := str(ps["serviceAccount"]); n != "" {
		return n
	}
	return "default"
}

func controllerOf(o *Object) *OwnerReference {
	for i := range o.Metadata.OwnerReferences {
		if r := &o.Metadata.OwnerReferences[i]; r.Controller {
			return r
		}
	}
	return nil
}

func podPhase(p *Object) string {
	st, _ := p.Body["status"].(map[string]any)
	return str(st["phase"])
}

// podReady: Running, with condition Ready True, and not being deleted.
func podReady(p *Object) bool {
	if podPhase(p) != "Running" || p.Metadata.DeletionTimestamp != "" {
		return false
	}
	st, _ := p.Body["status"].(map[string]any)
	conds, _ := st["conditions"].([]any)
	for _, c := range conds {
		cm, _ := c.(map[string]any)
		if str(cm["type"]) == "Ready" {
			return str(cm["status"]) == "True"
		}
	}
	return false
}
