// Package remediate un-sticks namespaces that are stuck in Terminating: it
// finds out exactly why (the same analysis as nsguard diagnose), proves
// which finalizers have no living controller, and, only where remediation
// is switched on, takes the smallest safe step, recording each one. It is
// the only package that writes to the cluster.
package remediate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/nsguard/nsguard/actions"
)

// Executor carries out typed actions through the API, with the guards
// they carry: a JSON patch whose tests check the object's UID and the
// value it changes, a delete with the object's UID as a precondition. It
// executes nothing else: the action types are a closed set, and each is
// validated again here.
type Executor struct {
	Client dynamic.Interface
	// FieldManager names nsguard in the objects' managedFields.
	FieldManager string
}

// Before is what an object looked like before an action changed it: its
// metadata, for the audit record.
type Before struct {
	ResourceVersion string                  `json:"resourceVersion,omitempty"`
	Finalizers      []string                `json:"finalizers,omitempty"`
	Labels          map[string]string       `json:"labels,omitempty"`
	Annotations     map[string]string       `json:"annotations,omitempty"`
	DeletionTime    string                  `json:"deletionTimestamp,omitempty"`
	OwnerReferences []metav1.OwnerReference `json:"ownerReferences,omitempty"`
}

// String is the record as one line of JSON.
func (b Before) String() string {
	out, _ := json.Marshal(b)
	return string(out)
}

// ErrGone means the target no longer exists: the action is moot.
var ErrGone = errors.New("the object is gone")

// Read returns the target's current metadata (the audit record to keep
// before changing it), ErrGone when it does not exist, or an error when it
// exists with another UID (a new object of the same name).
func (e *Executor) Read(ctx context.Context, a actions.Action) (Before, error) {
	u, err := e.resource(a).Get(ctx, a.Target.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return Before{}, ErrGone
	}
	if err != nil {
		return Before{}, fmt.Errorf("read %s: %w", a.Target, err)
	}
	if a.Target.UID != "" && string(u.GetUID()) != a.Target.UID {
		return Before{}, fmt.Errorf("%s: %w (it was re-created: UID %s, the plan's %s)", a.Target, ErrGone, u.GetUID(), a.Target.UID)
	}
	b := Before{ResourceVersion: u.GetResourceVersion(), Finalizers: u.GetFinalizers(), Labels: u.GetLabels(),
		Annotations: u.GetAnnotations(), OwnerReferences: u.GetOwnerReferences()}
	if t := u.GetDeletionTimestamp(); t != nil {
		b.DeletionTime = t.UTC().Format("2006-01-02T15:04:05Z")
	}
	delete(b.Annotations, "kubectl.kubernetes.io/last-applied-configuration")
	return b, nil
}

// Execute carries out one action. A target that is already gone, or
// already in the wanted state (the finalizer is no longer there), is not
// an error: remediation is idempotent and may be run again mid-way.
func (e *Executor) Execute(ctx context.Context, a actions.Action) error {
	if err := a.Validate(); err != nil {
		return fmt.Errorf("refused: %w", err)
	}
	res := e.resource(a)
	switch a.Type {
	case actions.RemoveFinalizer, actions.PatchWebhookFailurePolicy, actions.SetConversionNone:
		_, err := res.Patch(ctx, a.Target.Name, types.JSONPatchType, a.JSONPatch(), metav1.PatchOptions{FieldManager: e.fieldManager()})
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case isTestFailure(err):
			// The object changed since the plan: another finalizer at that
			// index, another UID. Nothing was touched; the next pass plans
			// again from what is there.
			return fmt.Errorf("%s changed since the plan, nothing done: %w", a.Target, err)
		case err != nil:
			return fmt.Errorf("patch %s: %w", a.Target, err)
		}
		return nil
	case actions.DeleteObject, actions.DeleteAPIService, actions.DeleteWebhookConfiguration:
		opts := metav1.DeleteOptions{}
		if a.Target.UID != "" {
			uid := types.UID(a.Target.UID)
			opts.Preconditions = &metav1.Preconditions{UID: &uid}
		}
		err := res.Delete(ctx, a.Target.Name, opts)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("delete %s: %w", a.Target, err)
		}
		return nil
	case actions.DeleteAll:
		err := res.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete %s: %w", a.Target, err)
		}
		return nil
	case actions.ScaleWorkload:
		patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, *a.Replicas)
		_, err := res.Patch(ctx, a.Target.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: e.fieldManager()})
		if err != nil {
			return fmt.Errorf("scale %s: %w", a.Target, err)
		}
		return nil
	}
	return fmt.Errorf("refused: no executor for %s", a.Type)
}

func (e *Executor) resource(a actions.Action) dynamic.ResourceInterface {
	gvr := schema.GroupVersionResource{Group: a.Target.Group, Version: a.Target.Version, Resource: a.Target.Resource}
	if a.Target.Namespace == "" {
		return e.Client.Resource(gvr)
	}
	return e.Client.Resource(gvr).Namespace(a.Target.Namespace)
}

func (e *Executor) fieldManager() string {
	if e.FieldManager == "" {
		return "nsguard"
	}
	return e.FieldManager
}

// isTestFailure tells a failed JSON-patch test (the API server answers
// 422 Invalid, or 409 Conflict for a test on metadata) from other errors.
func isTestFailure(err error) bool {
	return apierrors.IsInvalid(err) || apierrors.IsConflict(err) || apierrors.IsBadRequest(err)
}
