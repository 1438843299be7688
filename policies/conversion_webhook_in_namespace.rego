# METADATA
# title: CRD conversion webhook served from a namespace that can be deleted
# description: >-
#   A CustomResourceDefinition converts between its versions through a webhook
#   whose Service lives in a namespace that can be deleted. Once that
#   namespace's pods are gone, no object of the CRD can be read or deleted, so
#   the namespace hangs in Terminating if it holds any; and the API server's
#   watch cache for the resource fails, which stalls the deletion of other
#   namespaces too. Fix: serve the conversion webhook from a namespace that is
#   never deleted, or delete the CRD's objects and the CRD before the
#   namespace.
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
		"msg": sprintf(
			"CustomResourceDefinition %s converts between versions through Service %s/%s in namespace %s: once that namespace's pods are deleted, no %s can be read or deleted (so the namespace hangs in Terminating), and the API server's watch cache for %s fails, which stalls the deletion of other namespaces too. Serve the conversion webhook from a namespace that is never deleted, or delete the %s objects and the CRD before the namespace.",
			[crd.metadata.name, ns, svc.name, ns, _kind(crd), crd.metadata.name, _kind(crd)],
		),
		"object": crd.ref,
		"namespace": ns,
	}
}

_kind(crd) := crd.spec.names.kind

_kind(crd) := crd.metadata.name if not crd.spec.names.kind
