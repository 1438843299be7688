# METADATA
# title: Namespace sets spec.finalizers beyond kubernetes
# description: >-
#   A Namespace lists a finalizer other than `kubernetes` in spec.finalizers.
#   Only the controller that owns it can finish the deletion (through the
#   namespace's finalize subresource); until it does, the namespace stays
#   Terminating even when it is empty, and if that controller is gone it
#   stays forever. Fix: leave spec.finalizers to Kubernetes; on a cluster,
#   remove the entry through the finalize subresource only once you know
#   what its controller would have cleaned up.
# custom:
#   id: namespace-spec-finalizer
#   severity: deny
#   live: false
package nsguard.rules.namespace_spec_finalizer

import data.nsguard.lib.catalog
import data.nsguard.lib.k8s

# spec_finalizers[name]: the spec finalizers of each namespace, from the
# Namespace objects and from the namespaces' live state.
spec_finalizers[name] contains x if {
	some obj in object.get(input.index.byKind, "Namespace", [])
	name := obj.metadata.name
	some x in object.get(obj, ["spec", "finalizers"], [])
}

spec_finalizers[name] contains x if {
	some name, ns in input.namespaces
	some x in object.get(ns, "specFinalizers", [])
}

findings contains f if {
	some name, fins in spec_finalizers
	k8s.candidate(name)
	some x in fins
	x != "kubernetes"
	f := {
		"msg": sprintf(
			"Namespace %s sets spec.finalizers %s: only %s can finish its deletion (through the finalize subresource), so until it does the namespace stays Terminating even when empty, and forever if that controller is gone. Leave spec.finalizers to Kubernetes.",
			[name, x, _owner(x)],
		),
		"object": k8s.namespace_ref(name),
		"namespace": name,
	}
}

_owner(x) := catalog.entry(x).handledBy

_owner(x) := "the controller that added it" if not catalog.entry(x)
