# METADATA
# title: APIService backed by a Service in a namespace that can be deleted
# description: >-
#   An aggregated APIService is served by a Service in a namespace that can be
#   deleted. Deleting that namespace removes the server, the APIService becomes
#   unavailable, API discovery fails for its group/version, and the namespace
#   controller can then finish deleting no namespace in the cluster (this one
#   included: NamespaceDeletionDiscoveryFailure). Fix: delete the APIService
#   before the namespace, or serve it from a namespace that is never deleted.
# custom:
#   id: apiservice-in-namespace
#   severity: deny
#   live: false
package nsguard.rules.apiservice_in_namespace

import data.nsguard.lib.k8s

findings contains f if {
	some api in object.get(input.index.byKind, k8s.apiservice_kind, [])
	svc := api.spec.service
	is_object(svc)
	ns := svc.namespace
	k8s.candidate(ns)
	f := {
		"msg": sprintf(
			"APIService %s is served by Service %s/%s: deleting namespace %s makes it unavailable, and while it is, the deletion of every namespace in the cluster stalls, this one included. Delete the APIService before the namespace, or serve it from a namespace that is never deleted.",
			[api.metadata.name, ns, svc.name, ns],
		),
		"summary": k8s.summary([
			sprintf("APIService %s: served from namespace %s, whose deletion stalls every namespace deletion", [api.metadata.name, ns]),
			sprintf("APIService %s: served from namespace %s", [api.metadata.name, ns]),
		]),
		"object": api.ref,
		"namespace": ns,
		"actions": [{"type": "delete-apiservice", "object": api.ref}],
	}
}
