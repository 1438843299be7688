# METADATA
# title: CRD conversion webhook unavailable
# description: >-
#   A CustomResourceDefinition converts between versions through a webhook
#   whose Service does not exist or has no ready endpoints. No object of the
#   CRD can be read or deleted, so the namespace controller cannot empty the
#   namespace; the API server's watch cache for the resource fails too, which
#   stalls the deletion of other namespaces. Fix: bring the webhook's Service
#   and pods back; if the operator is gone for good, change the CRD's
#   conversion strategy to None (only when its versions are compatible) or
#   reinstall the operator.
# custom:
#   id: conversion-webhook-unavailable
#   severity: deny
#   live: true
package nsguard.rules.conversion_webhook_unavailable

import data.nsguard.lib.k8s

findings contains f if {
	k8s.live
	some crd in object.get(input.index.byKind, k8s.crd_kind, [])
	svc := k8s.conversion_service(crd)
	why := k8s.service_down(sprintf("%s/%s", [svc.namespace, svc.name]))
	f := {
		"msg": sprintf(
			"CustomResourceDefinition %s converts through Service %s/%s, which %s: no %s can be read or deleted, so the namespace controller cannot empty %s, and the API server's watch cache for the resource fails, which stalls deletions of other namespaces too. Bring the webhook's Service and pods back, or reinstall its operator.",
			[crd.metadata.name, svc.namespace, svc.name, why, object.get(crd, ["spec", "names", "kind"], crd.metadata.name), _where],
		),
		"object": crd.ref,
		"namespace": k8s.target,
	}
}

_where := sprintf("namespace %s", [k8s.target]) if k8s.target != ""

_where := "the namespace" if k8s.target == ""
