// Package inventory turns a source (a live cluster or a bundle of manifests)
// into a Snapshot: the one document that every nsguard rule reads as input.
//
// The schema is documented in docs/policy-input.md and
// docs/policy-input.schema.json; bump SchemaVersion on any incompatible change.
package inventory

import (
	"strings"
	"sync/atomic"
)

// SchemaVersion identifies the shape of Snapshot as seen by policies
// (input.schemaVersion).
const SchemaVersion = "nsguard.io/v1alpha1"

// Source says where a snapshot came from.
const (
	SourceManifests = "manifests" // nsguard lint: no live facts
	SourceCluster   = "cluster"   // diagnose, webhook, remediator: live facts present
)

// Liveness of a finalizer's controller. Lint always reports LivenessUnknown:
// rules that need a live fact must not fire on it.
const (
	// LivenessAlive: a handler is running (ready replicas, a fresh Lease).
	LivenessAlive = "alive"
	// LivenessDown: a handler exists but does not run (no ready replicas,
	// a stale Lease): fix it rather than remove its finalizers.
	LivenessDown = "down"
	// LivenessAbsent: nothing in the cluster can handle the finalizer, with
	// evidence; removing it by hand is the only way forward.
	LivenessAbsent = "absent"
	// LivenessUnknown: no live facts (lint) or not enough of them.
	LivenessUnknown = "unknown"
)

// ImmortalNamespaces are never deleted by Kubernetes: the NamespaceLifecycle
// admission plugin refuses their deletion.
var ImmortalNamespaces = map[string]bool{
	"default":     true,
	"kube-system": true,
	"kube-public": true,
}

// Snapshot is the policy input (input in Rego).
type Snapshot struct {
	SchemaVersion string      `json:"schemaVersion"`
	Source        string      `json:"source"`
	KubeVersion   KubeVersion `json:"kubeVersion"`
	// Target is the namespace being deleted or diagnosed. Empty in lint, where
	// every deletable namespace of the bundle is a candidate.
	Target string `json:"target,omitempty"`
	// Namespaces holds every namespace the snapshot mentions, keyed by name:
	// the ones declared as Namespace objects and the ones objects live in.
	Namespaces map[string]*Namespace `json:"namespaces"`
	// Objects are the objects that matter, trimmed to the fields rules read
	// (see Object). Object.Ref.ID is the index in this slice.
	Objects []*Object `json:"objects"`
	// Finalizers is derived by Analyze: one entry per (namespace, finalizer)
	// with who handles it and whether that controller is alive.
	Finalizers []*FinalizerFact `json:"finalizers"`
	// Now is the time the live facts were judged at, on the API server's
	// clock (RFC 3339; cluster only).
	Now string `json:"now,omitempty"`
	// Services are the Services that webhooks, APIServices and CRD
	// conversion point at, keyed "namespace/name", with what is known of them.
	Services map[string]*ServiceFact `json:"services"`
	// Discovery holds the live discovery facts (cluster only).
	Discovery *Discovery `json:"discovery,omitempty"`
	// Complete is false when the snapshot was cut short (deadline, errors);
	// Incomplete then lists, in words, what was not checked.
	Complete   bool     `json:"complete"`
	Incomplete []string `json:"incomplete,omitempty"`
	// ControllerFactsIncomplete is set by a source when what tells who
	// handles finalizers (workloads, Leases, RBAC) could not all be read.
	// Analyze then never concludes that a controller is absent. Other gaps
	// (an unavailable APIService, a type that could not be listed) leave
	// that conclusion sound, so Complete alone is not the test.
	ControllerFactsIncomplete bool `json:"-"`
}

// KubeVersion is the Kubernetes version that rules reason about (from
// --kube-version in lint, from /version on a cluster).
type KubeVersion struct {
	Major      int    `json:"major"`
	Minor      int    `json:"minor"`
	GitVersion string `json:"gitVersion"`
}

// Namespace is what the snapshot knows of one namespace.
type Namespace struct {
	Name string `json:"name"`
	// Deletable is false for the namespaces Kubernetes never deletes.
	Deletable bool `json:"deletable"`
	// Declared is true when a Namespace object is part of the snapshot.
	Declared bool `json:"declared"`
	// ObjectID is the Ref.ID of the Namespace object, -1 when not declared.
	ObjectID int `json:"objectID"`
	// Phase is Active or Terminating (cluster only).
	Phase string `json:"phase,omitempty"`
	// DeletionTimestamp is RFC 3339 (cluster only, when Terminating).
	DeletionTimestamp string            `json:"deletionTimestamp,omitempty"`
	SpecFinalizers    []string          `json:"specFinalizers,omitempty"`
	Conditions        []Condition       `json:"conditions,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
}

// Condition is a status condition (Namespace, APIService, workloads).
type Condition struct {
	Type               string `json:"type"`
	Status             string `json:"status"`
	Reason             string `json:"reason,omitempty"`
	Message            string `json:"message,omitempty"`
	LastTransitionTime string `json:"lastTransitionTime,omitempty"`
}

// ObjectRef names an object; rules return it as the object a finding is about.
type ObjectRef struct {
	// ID is the index in Snapshot.Objects, or -1 for an object that is not
	// part of the snapshot.
	ID         int    `json:"id"`
	APIVersion string `json:"apiVersion"`
	Group      string `json:"group"`
	Version    string `json:"version"`
	Kind       string `json:"kind"`
	// Resource is the lowercase plural (e.g. deployments), "" when unknown.
	Resource  string `json:"resource,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// GroupKind returns "Kind" for the core group and "Kind.group" otherwise,
// the way kubectl prints it.
func (r ObjectRef) GroupKind() string {
	if r.Group == "" {
		return r.Kind
	}
	return r.Kind + "." + r.Group
}

// GroupResource returns "resource" or "resource.group" (kubectl's form),
// falling back to the kind when the resource is unknown.
func (r ObjectRef) GroupResource() string {
	res := r.Resource
	if res == "" {
		res = strings.ToLower(r.Kind)
	}
	if r.Group == "" {
		return res
	}
	return res + "." + r.Group
}

// Less orders objects by group, kind, namespace and name.
func (r ObjectRef) Less(o ObjectRef) bool {
	if r.Group != o.Group {
		return r.Group < o.Group
	}
	if r.Kind != o.Kind {
		return r.Kind < o.Kind
	}
	if r.Namespace != o.Namespace {
		return r.Namespace < o.Namespace
	}
	return r.Name < o.Name
}

// Position is where an object was read from (lint only; not given to rules).
type Position struct {
	File string `json:"file"`
	Line int    `json:"line"`
}

// Object is one Kubernetes object, trimmed to what rules read: the metadata
// below, and Body, which keeps only the top-level fields listed in
// docs/policy-input.md for the kinds that matter (CRD conversion, APIService
// service, webhooks, RBAC rules, workload service accounts and readiness,
// Namespace spec and status, Lease spec). ConfigMap data, pod templates and
// CRD schemas are dropped: they are most of the bytes and no rule reads them.
type Object struct {
	Ref      ObjectRef      `json:"ref"`
	Metadata Metadata       `json:"metadata"`
	Body     map[string]any `json:"-"` // merged at the top level of the object in Rego (spec, status, rules, …)
	// Position is set by the manifest source.
	Position *Position `json:"-"`
	// FactOnly marks an object that a cluster snapshot holds for the
	// analysis only (a pod or a role in another namespace: who handles
	// finalizers): the rules see null in its place, so that a decision
	// does not convert the whole cluster's workloads.
	FactOnly bool `json:"-"`
	// Memo is shared by the copies of an object that a long-lived source
	// (Cache) hands out: what is derived from the object once (its policy
	// input term) is kept there. Nil elsewhere.
	Memo *Memo `json:"-"`
}

// Memo keeps one value derived from a cached object, safe for concurrent
// use; the object never changes while it is cached (an update stores a new
// object with a new Memo).
type Memo struct{ v atomic.Value }

// Load returns the value, nil before Store.
func (m *Memo) Load() any { return m.v.Load() }

// Store keeps v (always of the same type).
func (m *Memo) Store(v any) { m.v.Store(v) }

// Metadata is the part of ObjectMeta that rules read.
type Metadata struct {
	Name                       string            `json:"name"`
	Namespace                  string            `json:"namespace,omitempty"`
	GenerateName               string            `json:"generateName,omitempty"`
	UID                        string            `json:"uid,omitempty"`
	Labels                     map[string]string `json:"labels,omitempty"`
	Annotations                map[string]string `json:"annotations,omitempty"`
	Finalizers                 []string          `json:"finalizers,omitempty"`
	OwnerReferences            []OwnerReference  `json:"ownerReferences,omitempty"`
	CreationTimestamp          string            `json:"creationTimestamp,omitempty"`
	DeletionTimestamp          string            `json:"deletionTimestamp,omitempty"`
	DeletionGracePeriodSeconds *int64            `json:"deletionGracePeriodSeconds,omitempty"`
}

// OwnerReference is metav1.OwnerReference without the pointers.
type OwnerReference struct {
	APIVersion         string `json:"apiVersion"`
	Kind               string `json:"kind"`
	Name               string `json:"name"`
	UID                string `json:"uid,omitempty"`
	Controller         bool   `json:"controller,omitempty"`
	BlockOwnerDeletion bool   `json:"blockOwnerDeletion,omitempty"`
}

// FinalizerFact is one finalizer in one namespace: the objects that carry it
// (or, per the catalog, will get it), who handles it and whether that
// controller is alive, with the evidence in words.
type FinalizerFact struct {
	Finalizer string `json:"finalizer"`
	// Namespace of the objects; "" for cluster-scoped objects. A
	// Namespace's own finalizers belong to that namespace.
	Namespace string `json:"namespace"`
	// Spec is true for a finalizer in a Namespace's spec.finalizers (other
	// than kubernetes): only the finalize subresource removes it.
	Spec bool `json:"spec,omitempty"`
	// HandledBy is set when the catalog splits a finalizer name between
	// several controllers by kind: the controller of this fact's kinds.
	HandledBy string `json:"handledBy,omitempty"`
	// Objects are Ref.IDs of the objects that carry the finalizer now.
	Objects []int `json:"objects"`
	// Expected are Ref.IDs of objects that do not carry it yet but whose
	// kind gets it from its controller (catalog addedTo), lint mostly.
	Expected []int `json:"expected,omitempty"`
	// Kinds are the GroupKinds of Objects and Expected, sorted.
	Kinds []string `json:"kinds"`
	// Catalog is the id of the matching finalizer catalog entry, "" if none.
	Catalog string `json:"catalog,omitempty"`
	// Builtin is true for finalizers handled by Kubernetes itself.
	Builtin bool `json:"builtin"`
	// Handlers are the controllers that can remove the finalizer.
	Handlers []*Handler `json:"handlers"`
	// Liveness is the aggregate: alive if any handler is alive, down if
	// handlers exist and none runs, absent only on proof that nothing could
	// handle it (docs/liveness.md), else unknown. Handlers found only
	// through wildcard RBAC do not count: a cluster-admin workload is no
	// evidence.
	Liveness string   `json:"liveness"`
	Evidence []string `json:"evidence,omitempty"`
}

// Handler is a controller that can remove a finalizer: a workload with its
// pods, pods grouped by their owner (a Job, a ReplicaSet, any custom
// owner), or a bare Pod. Workload.ID is -1 when the owner is not in the
// snapshot.
type Handler struct {
	Workload       ObjectRef `json:"workload"`
	Namespace      string    `json:"namespace"`
	ServiceAccount string    `json:"serviceAccount,omitempty"`
	// Via says how it was found: "catalog" (workload labels named in the
	// finalizer catalog), "lease" (its pod holds a Lease the catalog
	// names), "rbac" (its service account may update the objects'
	// resource), "rbac-wildcard" (only through apiGroups and resources "*":
	// not counted).
	Via      []string `json:"via"`
	Liveness string   `json:"liveness"`
	Evidence []string `json:"evidence,omitempty"`

	unit *unit
}

// ServiceFact is what the snapshot knows of a Service that something
// depends on. Nil pointers mean unknown (always, in lint).
type ServiceFact struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Exists: the Service is in the bundle or the cluster.
	Exists *bool `json:"exists,omitempty"`
	// ReadyEndpoints counts ready endpoints in its EndpointSlices (cluster only).
	ReadyEndpoints *int `json:"readyEndpoints,omitempty"`
	// ObjectID is the Ref.ID of the Service object, -1 when not in the snapshot.
	ObjectID int `json:"objectID"`
}

// Discovery is what API discovery said (cluster only).
type Discovery struct {
	// FailedGroupVersions are group/versions whose discovery failed, usually
	// because their APIService is unavailable.
	FailedGroupVersions []FailedGroupVersion `json:"failedGroupVersions,omitempty"`
	// ResourceTypes is the number of namespaced, listable resource types.
	ResourceTypes int `json:"resourceTypes"`
}

// FailedGroupVersion is one group/version that discovery could not read.
type FailedGroupVersion struct {
	GroupVersion string `json:"groupVersion"`
	Error        string `json:"error"`
}

// NewSnapshot returns an empty snapshot of the given source.
func NewSnapshot(source string, kv KubeVersion) *Snapshot {
	return &Snapshot{
		SchemaVersion: SchemaVersion,
		Source:        source,
		KubeVersion:   kv,
		Namespaces:    map[string]*Namespace{},
		Services:      map[string]*ServiceFact{},
		Complete:      true,
	}
}
