# METADATA
# title: Unavailable APIService
# description: >-
#   An aggregated APIService is not Available, or discovery of its
#   group/version failed. The namespace controller discovers every resource
#   type before it deletes a namespace's content; while one group/version
#   fails, it cannot finish deleting any namespace in the cluster
#   (NamespaceDeletionDiscoveryFailure), so this stalls the deletion of EVERY
#   namespace, not only this one. Fix: make the backing service available
#   again, or, if its extension was uninstalled, delete the APIService.
#   It denies when the namespace is already Terminating (it is stalled now)
#   and warns before a deletion: an APIService that is down for a while
#   delays deletions until it is back, and the deletion may go through then.
# custom:
#   id: unavailable-apiservice
#   severity: deny
#   live: true
package nsguard.rules.unavailable_apiservice

import data.nsguard.lib.k8s

# unavailable[name]: why each APIService (by name, e.g.
# v1beta1.metrics.k8s.io) is unavailable.
unavailable[name] contains why if {
	k8s.live
	some api in object.get(input.index.byKind, k8s.apiservice_kind, [])
	some c in object.get(api, ["status", "conditions"], [])
	c.type == "Available"
	c.status == "False"
	name := api.metadata.name
	why := sprintf("Available is False: %s %s", [object.get(c, "reason", ""), object.get(c, "message", "")])
}

unavailable[name] contains why if {
	k8s.live
	some fgv in object.get(input, ["discovery", "failedGroupVersions"], [])
	name := _apiservice_name(fgv.groupVersion)
	why := sprintf("discovery of %s failed: %s", [fgv.groupVersion, fgv.error])
}

_apiservice_name(gv) := sprintf("%s.%s", [parts[1], parts[0]]) if {
	parts := split(gv, "/")
	count(parts) == 2
}

_apiservice_name(gv) := gv if not contains(gv, "/")

_by_name[name] := api if {
	some api in object.get(input.index.byKind, k8s.apiservice_kind, [])
	name := api.metadata.name
}

findings contains f if {
	some name, whys in unavailable
	f := object.union(
		{
			"msg": sprintf(
				"APIService %s is unavailable (%s): the namespace controller cannot discover its resources, so the deletion of every namespace in the cluster stalls, %s included. Make its backing service available again, or delete the APIService if its extension was uninstalled.",
				[name, concat("; ", sort([trim_space(w) | some w in whys])), _namespace_text],
			),
			"summary": k8s.summary([
				sprintf("APIService %s is unavailable: every namespace deletion in the cluster stalls", [name]),
				sprintf("APIService %s is unavailable", [name]),
			]),
			"object": _ref(name),
			"namespace": k8s.target,
			"severity": _severity,
		},
		_fix(name),
	)
}

# Stalled now (deny), or a delay for a deletion not started yet (warn).
_severity := "deny" if input.namespaces[k8s.target].phase == "Terminating"

_severity := "warn" if not input.namespaces[k8s.target].phase == "Terminating"

_namespace_text := sprintf("namespace %s", [k8s.target]) if k8s.target != ""

_namespace_text := "the one being deleted" if k8s.target == ""

_ref(name) := _by_name[name].ref

_ref(name) := {
	"id": -1, "apiVersion": "apiregistration.k8s.io/v1", "group": "apiregistration.k8s.io",
	"version": "v1", "kind": "APIService", "resource": "apiservices", "name": name,
} if not _by_name[name]

# Deleting the APIService is the fix when its Service is gone for good.
_fix(name) := {"actions": [{"type": "delete-apiservice", "object": _by_name[name].ref}]} if _service_missing(name)

_fix(name) := {} if not _service_missing(name)

_service_missing(name) if {
	svc := _by_name[name].spec.service
	input.services[sprintf("%s/%s", [svc.namespace, svc.name])].exists == false
}
