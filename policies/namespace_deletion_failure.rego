# METADATA
# title: Namespace controller reports a deletion failure
# description: >-
#   The namespace is Terminating and the namespace controller reports
#   NamespaceDeletionDiscoveryFailure (usually an unavailable APIService),
#   NamespaceDeletionGroupVersionParsingFailure (a malformed group/version) or
#   NamespaceDeletionContentFailure (some content could not be deleted, often
#   because a fail-closed webhook or a conversion webhook is down). The
#   finding relays the controller's message; other findings usually name the
#   cause.
# custom:
#   id: namespace-deletion-failure
#   severity: deny
#   live: true
package nsguard.rules.namespace_deletion_failure

import data.nsguard.lib.k8s

hints := {
	"NamespaceDeletionDiscoveryFailure": "Discovery failed, usually because an APIService is unavailable (see unavailable-apiservice), which stalls every namespace deletion in the cluster.",
	"NamespaceDeletionGroupVersionParsingFailure": "A group/version could not be parsed: check the APIServices and CRDs.",
	"NamespaceDeletionContentFailure": "Some content could not be deleted, often because a fail-closed admission webhook or a conversion webhook is down (see the webhook findings).",
}

findings contains f if {
	k8s.live
	name := k8s.target
	ns := input.namespaces[name]
	ns.phase == "Terminating"
	some c in object.get(ns, "conditions", [])
	hint := hints[c.type]
	c.status == "True"
	f := {
		"msg": sprintf("Namespace %s is Terminating and the namespace controller reports %s%s. %s", [name, c.type, _quoted(c), hint]),
		"summary": k8s.summary([
			sprintf("Namespace %s: the namespace controller reports %s", [name, c.type]),
			sprintf("Namespace %s: %s", [name, c.type]),
		]),
		"object": k8s.namespace_ref(name),
		"namespace": name,
	}
}

_quoted(c) := sprintf(": %s", [trim_suffix(trim_space(c.message), ".")]) if trim_space(object.get(c, "message", "")) != ""

_quoted(c) := "" if trim_space(object.get(c, "message", "")) == ""
