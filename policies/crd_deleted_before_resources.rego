# METADATA
# title: CRD deleted before its custom resources
# description: >-
#   A CustomResourceDefinition is being deleted while objects of its kind with
#   finalizers remain in the namespace. The CRD waits for them (its own
#   customresourcecleanup finalizer), and when their controller was
#   uninstalled together with the CRD nobody removes their finalizers: the
#   CRD and the namespace both stay Terminating. Fix: reinstall the
#   controller (and its CRD version) so it cleans up, or remove the
#   finalizers where orphaned-finalizer says it is safe.
# custom:
#   id: crd-deleted-before-resources
#   severity: deny
#   live: true
package nsguard.rules.crd_deleted_before_resources

import data.nsguard.lib.k8s

findings contains f if {
	k8s.live
	ns := k8s.target
	k8s.candidate(ns)
	some crd in object.get(input.index.byKind, k8s.crd_kind, [])
	object.get(crd.metadata, "deletionTimestamp", "") != ""
	gk := sprintf("%s.%s", [crd.spec.names.kind, crd.spec.group])
	blocked := [o |
		some o in object.get(input.index.byKind, gk, [])
		object.get(o.metadata, "namespace", "") == ns
		count(object.get(o.metadata, "finalizers", [])) > 0
	]
	count(blocked) > 0
	f := {
		"msg": sprintf(
			"CustomResourceDefinition %s is being deleted while %d %s object(s) with finalizers remain in namespace %s (e.g. %s with %s): if their controller was uninstalled with the CRD, nothing removes those finalizers and both stay Terminating. Reinstall the controller so it cleans up, or remove the finalizers where orphaned-finalizer says it is safe.",
			[crd.metadata.name, count(blocked), crd.spec.names.kind, ns, blocked[0].metadata.name, concat(", ", blocked[0].metadata.finalizers)],
		),
		"summary": k8s.summary([
			sprintf("CustomResourceDefinition %s is being deleted; %d %s object(s) in %s keep finalizers", [crd.metadata.name, count(blocked), crd.spec.names.kind, ns]),
			sprintf("CRD %s is being deleted; %d of its objects in %s keep finalizers", [crd.metadata.name, count(blocked), ns]),
			sprintf("CRD %s is being deleted while its objects keep finalizers", [crd.metadata.name]),
		]),
		"object": crd.ref,
		"namespace": ns,
	}
}
