# METADATA
# title: CRD conversion webhook unavailable
# description: >-
#   A CustomResourceDefinition converts between versions through a webhook
#   whose Service does not exist or has no ready endpoints. No object of the
#   CRD can be read or deleted. If the namespace being deleted holds such
#   objects, or nsguard could not list them all, the namespace controller
#   cannot empty it and it stays Terminating: deny. If it is known to hold
#   none, the namespace controller can still empty it, but every other
#   namespace that holds objects of the CRD stalls when it is deleted: a
#   warning. Fix: bring the webhook's Service and pods back; if the operator
#   is gone for good, change the CRD's conversion strategy to None (only
#   when its versions are compatible) or reinstall the operator.
# custom:
#   id: conversion-webhook-unavailable
#   severity: deny
#   live: true
package nsguard.rules.conversion_webhook_unavailable

import data.nsguard.lib.k8s

findings contains f if {
	k8s.live
	ns := k8s.target
	ns != ""
	some crd in object.get(input.index.byKind, k8s.crd_kind, [])
	svc := k8s.conversion_service(crd)
	why := k8s.service_down(sprintf("%s/%s", [svc.namespace, svc.name]))
	f := {
		"msg": sprintf(
			"CustomResourceDefinition %s converts through Service %s/%s, which %s: %s. Bring the webhook's pods back, or reinstall its operator.",
			[crd.metadata.name, svc.namespace, svc.name, why, _effect(crd, ns)],
		),
		"summary": k8s.summary([
			sprintf("CustomResourceDefinition %s: conversion webhook Service %s/%s %s", [crd.metadata.name, svc.namespace, svc.name, why]),
			sprintf("CRD %s: conversion webhook Service %s/%s %s", [crd.metadata.name, svc.namespace, svc.name, why]),
			sprintf("CRD %s: its conversion webhook Service %s", [crd.metadata.name, why]),
		]),
		"severity": _severity(crd, ns),
		"object": crd.ref,
		"namespace": ns,
	}
}

_holds_none(crd, ns) if k8s.holds_none(ns, k8s.crd_group_kind(crd))

_severity(crd, ns) := "warn" if _holds_none(crd, ns)

_severity(crd, ns) := "deny" if not _holds_none(crd, ns)

_effect(crd, ns) := sprintf(
	"the %d %s object(s) in namespace %s can be neither read nor deleted, so it stays Terminating, as do other namespaces that hold them",
	[input.index.counts[ns][k8s.crd_group_kind(crd)], _kind(crd), ns],
) if k8s.holds(ns, k8s.crd_group_kind(crd))

_effect(crd, ns) := sprintf(
	"no %s can be read or deleted, so namespace %s stays Terminating if it holds any (not every object could be listed), as do other namespaces that hold them",
	[_kind(crd), ns],
) if {
	not _holds(crd, ns)
	not _holds_none(crd, ns)
}

_effect(crd, ns) := sprintf(
	"namespace %s holds no %s and can be emptied, but other namespaces that hold %s objects stay Terminating when deleted",
	[ns, _kind(crd), _kind(crd)],
) if _holds_none(crd, ns)

_holds(crd, ns) if k8s.holds(ns, k8s.crd_group_kind(crd))

_kind(crd) := crd.spec.names.kind

_kind(crd) := crd.metadata.name if not crd.spec.names.kind
