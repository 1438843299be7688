// Package actions holds the typed steps that nsguard may take or suggest:
// remove one finalizer from one object, delete an object or a
// configuration, change a webhook's failurePolicy, scale a workload.
//
// Rules and the planner produce these values; people see them rendered as
// kubectl commands by Command, and the remediator executes them through the
// API with the guards they carry (the object's UID, a JSON-patch test of
// the value it changes). There is no free-form command anywhere: what
// nsguard never does (kubectl proxy, the namespace finalize subresource,
// etcd, anonymous or cluster-admin bindings, emptying a finalizer list)
// cannot be expressed, so it cannot be suggested or executed.
package actions

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/nsguard/nsguard/inventory"
)

// Type is the kind of an action.
type Type string

// The closed set of action types.
const (
	// RemoveFinalizer removes one finalizer from one object's
	// metadata.finalizers, by index, after testing the object's UID and the
	// value at that index. Never spec.finalizers of a Namespace: that takes
	// the finalize subresource, which nsguard does not use.
	RemoveFinalizer Type = "remove-finalizer"
	// DeleteObject deletes one object, with its UID as a precondition.
	DeleteObject Type = "delete-object"
	// DeleteAll deletes every object of one resource type in one namespace
	// and waits for them to go (while their controller is still alive).
	DeleteAll Type = "delete-all"
	// DeleteAPIService deletes an APIService.
	DeleteAPIService Type = "delete-apiservice"
	// DeleteWebhookConfiguration deletes a Validating- or
	// MutatingWebhookConfiguration.
	DeleteWebhookConfiguration Type = "delete-webhook-configuration"
	// PatchWebhookFailurePolicy sets one webhook's failurePolicy (to
	// Ignore), after testing the webhook's name at its index.
	PatchWebhookFailurePolicy Type = "patch-webhook-failure-policy"
	// ScaleWorkload sets the replicas of a Deployment or StatefulSet.
	ScaleWorkload Type = "scale-workload"
	// SetConversionNone sets a CustomResourceDefinition's conversion
	// strategy to None, after testing its UID: the API server then serves
	// stored objects without calling a webhook that is gone.
	SetConversionNone Type = "set-conversion-none"
)

// Types lists every action type, in a stable order.
func Types() []Type {
	return []Type{RemoveFinalizer, DeleteObject, DeleteAll, DeleteAPIService, DeleteWebhookConfiguration, PatchWebhookFailurePolicy, ScaleWorkload, SetConversionNone}
}

// ParseType returns the Type named s, or an error that lists the types.
func ParseType(s string) (Type, error) {
	for _, t := range Types() {
		if string(t) == s {
			return t, nil
		}
	}
	names := make([]string, 0, len(Types()))
	for _, t := range Types() {
		names = append(names, string(t))
	}
	return "", fmt.Errorf("unknown action type %q (one of: %s)", s, strings.Join(names, ", "))
}

// Target names the object an action applies to.
type Target struct {
	Group   string `json:"group"`
	Version string `json:"version"`
	// Resource is the lowercase plural (deployments); Kind is for people.
	Resource  string `json:"resource"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	// Name is empty only for DeleteAll.
	Name string `json:"name,omitempty"`
	// UID, when known (live facts), guards the action: it applies to this
	// very object, not to one created since with the same name.
	UID string `json:"uid,omitempty"`
}

// GroupResource is "resource" or "resource.group", as kubectl takes it.
func (t Target) GroupResource() string {
	if t.Group == "" {
		return t.Resource
	}
	return t.Resource + "." + t.Group
}

// String names the target for people: "Widget.example.com shop/w1".
func (t Target) String() string {
	gk := t.Kind
	if t.Group != "" {
		gk += "." + t.Group
	}
	switch {
	case t.Name == "":
		return "every " + gk + " in namespace " + t.Namespace
	case t.Namespace == "":
		return gk + " " + t.Name
	}
	return gk + " " + t.Namespace + "/" + t.Name
}

// Action is one typed step.
type Action struct {
	Type   Type   `json:"type"`
	Target Target `json:"target"`
	// Finalizer and Index (RemoveFinalizer): the finalizer, and its
	// position in metadata.finalizers when the plan was made.
	Finalizer string `json:"finalizer,omitempty"`
	Index     int    `json:"index,omitempty"`
	// Webhook and Index (PatchWebhookFailurePolicy): the webhook's name in
	// the configuration and its position in webhooks; FailurePolicy is the
	// value to set.
	Webhook       string `json:"webhook,omitempty"`
	FailurePolicy string `json:"failurePolicy,omitempty"`
	// Replicas (ScaleWorkload).
	Replicas *int32 `json:"replicas,omitempty"`
	// Reason says why, with the evidence, in words.
	Reason string `json:"reason,omitempty"`
}

// safeName matches what may appear in a rendered command without quoting:
// Kubernetes names, finalizer names (qualified names), resource names.
var safeName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._:/-]*[A-Za-z0-9])?$`)

// forbiddenTargets are objects no action may delete or scale: deleting a
// Namespace is nsguard delete's own flow, deleting a CRD deletes every
// object of it (a cause of stuck namespaces), and RBAC is never nsguard's
// to change.
var forbiddenTargets = map[string]bool{
	"/namespaces": true,
	"apiextensions.k8s.io/customresourcedefinitions": true,
	"rbac.authorization.k8s.io/clusterroles":         true,
	"rbac.authorization.k8s.io/clusterrolebindings":  true,
	"rbac.authorization.k8s.io/roles":                true,
	"rbac.authorization.k8s.io/rolebindings":         true,
}

// Validate checks that the action is complete and within what nsguard
// may do.
func (a Action) Validate() error {
	if _, err := ParseType(string(a.Type)); err != nil {
		return err
	}
	t := a.Target
	if t.Resource == "" || t.Version == "" {
		return fmt.Errorf("%s: target needs a resource and a version", a.Type)
	}
	for field, v := range map[string]string{"group": t.Group, "resource": t.Resource, "namespace": t.Namespace, "name": t.Name, "uid": t.UID, "finalizer": a.Finalizer, "webhook": a.Webhook} {
		if v != "" && !safeName.MatchString(v) {
			return fmt.Errorf("%s: %s %q is not a valid name", a.Type, field, v)
		}
	}
	if a.Type != DeleteAll && t.Name == "" {
		return fmt.Errorf("%s: target needs a name", a.Type)
	}
	gr := t.Group + "/" + t.Resource
	switch a.Type {
	case RemoveFinalizer:
		if a.Finalizer == "" || a.Index < 0 {
			return fmt.Errorf("%s: needs a finalizer and its index", a.Type)
		}
	case DeleteObject:
		if forbiddenTargets[gr] {
			return fmt.Errorf("%s: nsguard does not delete %s", a.Type, t.GroupResource())
		}
	case DeleteAll:
		if t.Namespace == "" || t.Name != "" {
			return fmt.Errorf("%s: needs a namespace and no name", a.Type)
		}
		if forbiddenTargets[gr] {
			return fmt.Errorf("%s: nsguard does not delete %s", a.Type, t.GroupResource())
		}
	case DeleteAPIService:
		if gr != "apiregistration.k8s.io/apiservices" {
			return fmt.Errorf("%s: target must be an APIService, not %s", a.Type, t.GroupResource())
		}
	case DeleteWebhookConfiguration, PatchWebhookFailurePolicy:
		if t.Group != "admissionregistration.k8s.io" || (t.Resource != "validatingwebhookconfigurations" && t.Resource != "mutatingwebhookconfigurations") {
			return fmt.Errorf("%s: target must be a webhook configuration, not %s", a.Type, t.GroupResource())
		}
		if a.Type == PatchWebhookFailurePolicy && (a.Webhook == "" || a.Index < 0 || (a.FailurePolicy != "Ignore" && a.FailurePolicy != "Fail")) {
			return fmt.Errorf("%s: needs a webhook, its index and a failurePolicy (Ignore or Fail)", a.Type)
		}
	case ScaleWorkload:
		if gr != "apps/deployments" && gr != "apps/statefulsets" {
			return fmt.Errorf("%s: target must be a Deployment or StatefulSet, not %s", a.Type, t.GroupResource())
		}
		if a.Replicas == nil || *a.Replicas < 0 {
			return fmt.Errorf("%s: needs replicas", a.Type)
		}
	case SetConversionNone:
		if gr != "apiextensions.k8s.io/customresourcedefinitions" {
			return fmt.Errorf("%s: target must be a CustomResourceDefinition, not %s", a.Type, t.GroupResource())
		}
	}
	return nil
}

// patchOp is one JSON-patch (RFC 6902) operation.
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// JSONPatch returns the JSON patch of a patching action (RemoveFinalizer,
// PatchWebhookFailurePolicy, SetConversionNone), with its tests first, and
// nil for the others.
// Every finalizer removal tests the value at its index (and the UID, when
// known), so it removes that finalizer from that object or nothing.
func (a Action) JSONPatch() []byte {
	var ops []patchOp
	if a.Target.UID != "" && (a.Type == RemoveFinalizer || a.Type == PatchWebhookFailurePolicy || a.Type == SetConversionNone) {
		ops = append(ops, patchOp{Op: "test", Path: "/metadata/uid", Value: a.Target.UID})
	}
	switch a.Type {
	case RemoveFinalizer:
		p := fmt.Sprintf("/metadata/finalizers/%d", a.Index)
		ops = append(ops, patchOp{Op: "test", Path: p, Value: a.Finalizer}, patchOp{Op: "remove", Path: p})
	case PatchWebhookFailurePolicy:
		ops = append(ops,
			patchOp{Op: "test", Path: fmt.Sprintf("/webhooks/%d/name", a.Index), Value: a.Webhook},
			patchOp{Op: "replace", Path: fmt.Sprintf("/webhooks/%d/failurePolicy", a.Index), Value: a.FailurePolicy})
	case SetConversionNone:
		ops = append(ops, patchOp{Op: "replace", Path: "/spec/conversion", Value: map[string]string{"strategy": "None"}})
	default:
		return nil
	}
	b, err := json.Marshal(ops)
	if err != nil {
		panic(fmt.Sprintf("marshal JSON patch: %v", err)) // strings and ints only
	}
	return b
}

// Command renders the action as the kubectl command a person would run. It
// is the only place where actions become text.
func Command(a Action) (string, error) {
	if err := a.Validate(); err != nil {
		return "", err
	}
	t := a.Target
	ns := ""
	if t.Namespace != "" {
		ns = " -n " + t.Namespace
	}
	switch a.Type {
	case RemoveFinalizer, PatchWebhookFailurePolicy, SetConversionNone:
		return fmt.Sprintf("kubectl patch %s %s%s --type=json -p '%s'", t.GroupResource(), t.Name, ns, a.JSONPatch()), nil
	case DeleteObject, DeleteAPIService, DeleteWebhookConfiguration:
		return fmt.Sprintf("kubectl delete %s %s%s", t.GroupResource(), t.Name, ns), nil
	case DeleteAll:
		return fmt.Sprintf("kubectl delete %s --all%s --wait=true", t.GroupResource(), ns), nil
	case ScaleWorkload:
		return fmt.Sprintf("kubectl scale %s %s%s --replicas=%d", t.GroupResource(), t.Name, ns, *a.Replicas), nil
	}
	return "", fmt.Errorf("render %s: no command", a.Type)
}

// Commands renders several actions, merging the DeleteAll of several
// resources in one namespace into one kubectl command (kubectl takes a
// comma-separated list).
func Commands(as []Action) ([]string, error) {
	var out []string
	var errs []error
	merged := map[string]int{} // namespace → index in out
	var groups map[string][]string
	for _, a := range as {
		if a.Type == DeleteAll {
			if err := a.Validate(); err != nil {
				errs = append(errs, err)
				continue
			}
			if groups == nil {
				groups = map[string][]string{}
			}
			if _, ok := merged[a.Target.Namespace]; !ok {
				merged[a.Target.Namespace] = len(out)
				out = append(out, "")
			}
			groups[a.Target.Namespace] = append(groups[a.Target.Namespace], a.Target.GroupResource())
			continue
		}
		c, err := Command(a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, c)
	}
	for ns, i := range merged {
		rs := groups[ns]
		sort.Strings(rs)
		rs = dedupe(rs)
		out[i] = fmt.Sprintf("kubectl delete %s --all -n %s --wait=true", strings.Join(rs, ","), ns)
	}
	return out, errors.Join(errs...)
}

func dedupe(sorted []string) []string {
	out := sorted[:0]
	for i, s := range sorted {
		if i == 0 || s != sorted[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// TargetOf names the object of a snapshot as an action's target. A ref
// without a resource (a kind nsguard only knows from a manifest) gets the
// resource kubectl would guess.
func TargetOf(ref inventory.ObjectRef, uid string) Target {
	t := Target{Group: ref.Group, Version: ref.Version, Resource: ref.Resource, Kind: ref.Kind, Namespace: ref.Namespace, Name: ref.Name, UID: uid}
	if t.Resource == "" {
		t.Resource, _, _ = inventory.NewMapper().Lookup(ref.Group, ref.Kind)
	}
	return t
}

// String words the action for people and Events: "remove finalizer X from
// Widget.example.com shop/w1".
func (a Action) String() string {
	switch a.Type {
	case RemoveFinalizer:
		return fmt.Sprintf("remove finalizer %s from %s", a.Finalizer, a.Target)
	case PatchWebhookFailurePolicy:
		return fmt.Sprintf("set failurePolicy %s on webhook %s of %s", a.FailurePolicy, a.Webhook, a.Target)
	case DeleteAll:
		return "delete " + a.Target.String()
	}
	return fmt.Sprintf("%s %s", strings.ReplaceAll(string(a.Type), "-", " "), a.Target)
}
