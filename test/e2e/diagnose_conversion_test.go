package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/nsguard/nsguard/diagnose"
	"github.com/nsguard/nsguard/inventory"
	"github.com/nsguard/nsguard/test/controlplane"
)

// TestDiagnoseConversionWebhookInNamespace: a CRD converts between v1
// (storage) and v2 (preferred) through a webhook served from namespace A;
// its pods are gone (the Service has no endpoints). A holds a Thing, and so
// does namespace B, a tenant of the same CRD. The pre-flight diagnose of A
// already says deleting it would hang. Deleted, A hangs: the namespace
// controller lists Things in the preferred version, which needs the webhook.
// So does B, which has nothing to do with the webhook but holds a Thing.
// Diagnose says so for both; its plan switches the CRD's conversion to None,
// and both namespaces go.
//
// A third namespace C, without any Thing, is deleted too. The API server's
// watch cache for Things cannot fill while the webhook is down: a LIST of
// Things in C waits for it and then either falls back to etcd (C goes, late)
// or fails with "storage is (re)initializing" (C hangs too). Both happen
// here; the test accepts either, and when C hangs, diagnose must explain it
// the same way, unless C has gone by then: the namespace controller retries,
// and a later LIST may fall back to etcd.
//
// This scenario stalls or slows deletions across the cluster, so it runs on
// a control plane of its own.
func TestDiagnoseConversionWebhookInNamespace(t *testing.T) {
	t.Parallel()
	requireCluster(t)
	cp := controlplane.StartForTest(t, controlplane.Options{})
	ctx := t.Context()
	a := cp.NewNamespace(t, "dg-conversion")
	b := cp.NewNamespace(t, "dg-tenant")
	c := cp.NewNamespace(t, "dg-bystander")
	const crd = "things.conversion.e2e.nsguard.io"
	if err := cp.Apply(ctx, fmt.Sprintf(conversionManifest, a)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		err := cp.Dynamic.Resource(crdResource).Delete(context.Background(), crd, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Logf("deleting CRD %s: %v", crd, err)
		}
	})
	// A Thing stored as v1: writing the storage version needs no conversion.
	things := cp.Dynamic.Resource(schema.GroupVersionResource{Group: "conversion.e2e.nsguard.io", Version: "v1", Resource: "things"})
	if err := cp.Apply(ctx, fmt.Sprintf(thingManifest, a)+"---\n"+fmt.Sprintf(thingManifest, b)); err != nil {
		t.Fatal(err)
	}
	if _, err := things.Namespace(a).Get(ctx, "t1", metav1.GetOptions{}); err != nil {
		t.Fatalf("reading Thing t1 in its storage version: %v", err)
	}

	res := runDiagnose(t, cp.Config, a)
	if !res.Report.Blocked {
		t.Errorf("pre-flight of %s: not blocked; findings: %s", a, ruleList(res.Report))
	}
	requireRule(t, res.Report, "conversion-webhook-in-namespace")

	deleteNamespace(t, cp, a)
	deleteNamespace(t, cp, b)
	deleteNamespace(t, cp, c)
	waitHangs(t, cp, a, corev1.NamespaceDeletionContentFailure)
	waitHangs(t, cp, b, corev1.NamespaceDeletionContentFailure)
	stuck := []string{a, b}
	if bystanderHangs(t, cp, c) {
		stuck = append(stuck, c)
	}

	var cmd string
	for _, ns := range stuck {
		res, err := tryDiagnose(t, cp.Config, ns)
		if ns == c && errors.Is(err, inventory.ErrNamespaceNotFound) {
			// The namespace controller retries: its next LIST of Things in
			// C may fall back to etcd, find none, and let C go.
			t.Logf("bystander %s went on its own before its diagnosis: its hang was transient", ns)
			continue
		}
		if err != nil {
			t.Fatalf("diagnose %s: %v", ns, err)
		}
		r := res.Report
		if r.State != diagnose.StateTerminating || !r.Blocked {
			t.Errorf("%s: state %s, blocked %v; want Terminating and blocked", ns, r.State, r.Blocked)
		}
		f := requireRule(t, r, "conversion-webhook-unavailable")
		if f.Object.Name != crd {
			t.Errorf("%s: the finding is about %s, want the CRD %s", ns, f.Object.Name, crd)
		}
		if !strings.Contains(f.Message, "other namespace") {
			t.Errorf("%s: the finding does not say that other namespaces are affected too: %s", ns, f.Message)
		}
		// The inventory could not list Things either, and says so. In C,
		// which holds none, its LIST may have fallen back to etcd.
		if ns != c && (res.Snapshot.Complete || !strings.Contains(strings.Join(res.Snapshot.Incomplete, " "), "things.conversion.e2e.nsguard.io")) {
			t.Errorf("%s: the snapshot should be incomplete about things: %q", ns, res.Snapshot.Incomplete)
		}
		requireNoForbiddenAdvice(t, r)
		st, command, i := stepWith(r, "kubectl patch customresourcedefinitions.apiextensions.k8s.io "+crd, `"strategy":"None"`)
		if command == "" || i != 0 {
			t.Fatalf("%s: the plan does not start by switching the conversion off (step %d): %+v", ns, i, r.Plan)
		}
		t.Logf("%s: plan step 1 [%s]: %s", ns, st.Safety, st.Title)
		cmd = command
	}
	runPlanCommand(t, cp, cmd)
	for _, ns := range stuck {
		waitGone(t, cp, ns)
	}
}

// bystanderHangs waits until namespace ns, which holds no Thing, is either
// gone or reports NamespaceDeletionContentFailure, and tells which.
func bystanderHangs(t *testing.T, cp *controlplane.ControlPlane, ns string) bool {
	t.Helper()
	began := time.Now()
	hangs := false
	err := cp.WaitFor(t.Context(), hangTimeout, poll, func(ctx context.Context) (bool, error) {
		got, err := cp.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		for _, cond := range got.Status.Conditions {
			if cond.Type == corev1.NamespaceDeletionContentFailure && cond.Status == corev1.ConditionTrue {
				hangs = true
				t.Logf("bystander %s hangs too after %s: %s", ns, time.Since(began).Round(time.Millisecond), cond.Message)
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("bystander namespace %s neither went nor reported a failure: %v", ns, err)
	}
	if !hangs {
		t.Logf("bystander %s went, %s after its deletion", ns, time.Since(began).Round(time.Millisecond))
	}
	return hangs
}

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

const conversionManifest = `
apiVersion: v1
kind: Service
metadata: {name: thing-converter, namespace: %[1]s}
spec:
  selector: {app: thing-converter}
  ports: [{port: 443, targetPort: 9443}]
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: things.conversion.e2e.nsguard.io}
spec:
  group: conversion.e2e.nsguard.io
  scope: Namespaced
  names: {plural: things, singular: thing, kind: Thing}
  conversion:
    strategy: Webhook
    webhook:
      conversionReviewVersions: [v1]
      clientConfig:
        service: {namespace: %[1]s, name: thing-converter, path: /convert, port: 443}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
  - name: v2
    served: true
    storage: false
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`

const thingManifest = `
apiVersion: conversion.e2e.nsguard.io/v1
kind: Thing
metadata: {name: t1, namespace: %[1]s}
spec: {color: blue}
`
