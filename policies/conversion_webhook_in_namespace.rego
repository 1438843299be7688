# METADATA
# title: CRD conversion webhook served from a namespace that can be deleted
# description: >-
#   A CustomResourceDefinition converts between its versions through a webhook
#   whose Service lives in a namespace N that can be deleted. Once N's pods
#   are gone, no object of the CRD can be read or deleted. If N holds such
#   objects (in lint: the bundle has some in N), N hangs in Terminating:
#   deny. If it holds none, the namespace controller can still empty N, but
#   every other namespace that holds objects of the CRD hangs when it is
#   deleted, until the webhook is back: a warning for N. Fix: serve the
#   conversion webhook from a namespace that is never deleted, or delete the
#   CRD's objects and the CRD before the namespace.
# custom:
#   id: conversion-webhook-in-namespace
#   severity: deny
#   live: false
package nsguard.rules.conversion_webhook_in_namespace

import data.nsguard.lib.k8s

findings contains f if {
	some crd in object.get(input.index.byKind, k8s.crd_kind, [])
	svc := k8s.conversion_service(crd)
	ns := svc.namespace
	k8s.candidate(ns)
	f := {
		"msg": _message(crd, svc, ns),
		"summary": k8s.summary([
			sprintf("CustomResourceDefinition %s: conversion webhook served from namespace %s", [crd.metadata.name, ns]),
			sprintf("CRD %s: conversion webhook served from namespace %s", [crd.metadata.name, ns]),
			sprintf("CRD %s: conversion webhook served from a deletable namespace", [crd.metadata.name]),
		]),
		"severity": _severity(crd, ns),
		"object": crd.ref,
		"namespace": ns,
	}
}

_holds_none(crd, ns) if k8s.holds_none(ns, k8s.crd_group_kind(crd))

_severity(crd, ns) := "warn" if _holds_none(crd, ns)

_severity(crd, ns) := "deny" if not _holds_none(crd, ns)

_fix(crd) := sprintf("Serve the webhook from a namespace that is never deleted, or delete the %s objects and the CRD first.", [_kind(crd)])

_message(crd, svc, ns) := sprintf(
	"CustomResourceDefinition %s converts through Service %s/%s, and namespace %s %s: once its pods are deleted, no %s can be read or deleted, so it hangs in Terminating, as do other namespaces that hold some. %s",
	[crd.metadata.name, ns, svc.name, ns, _holding(crd, ns), _kind(crd), _fix(crd)],
) if not _holds_none(crd, ns)

_message(crd, svc, ns) := sprintf(
	"CustomResourceDefinition %s converts through Service %s/%s: namespace %s holds no %s and can be emptied, but once its pods are deleted, other namespaces that hold %s objects hang when deleted. %s",
	[crd.metadata.name, ns, svc.name, ns, _kind(crd), _kind(crd), _fix(crd)],
) if _holds_none(crd, ns)

_holding(crd, ns) := sprintf("holds %s objects", [_kind(crd)]) if k8s.holds(ns, k8s.crd_group_kind(crd))

_holding(crd, ns) := sprintf("may hold %s objects (not every object could be listed)", [_kind(crd)]) if {
	not _holds(crd, ns)
	not _holds_none(crd, ns)
}

_holds(crd, ns) if k8s.holds(ns, k8s.crd_group_kind(crd))

_kind(crd) := crd.spec.names.kind

_kind(crd) := crd.metadata.name if not crd.spec.names.kind
