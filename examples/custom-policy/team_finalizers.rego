# METADATA
# title: Team finalizers must name their owner
# description: >-
#   Objects that carry a finalizer of the ACME platform (prefix
#   acme.example.com/, or data.acme.finalizerPrefix) must name the team that
#   runs its controller in the annotation acme.example.com/finalizer-owner,
#   so that whoever finds the namespace stuck knows whom to call. Fix: add
#   the annotation, or drop the finalizer.
# custom:
#   id: team-finalizer-owner
#   severity: deny
package nsguard.rules.acme.team_finalizers

import data.nsguard.lib.k8s

owner_annotation := "acme.example.com/finalizer-owner"

prefix := data.acme.finalizerPrefix

prefix := "acme.example.com/" if not data.acme.finalizerPrefix

# input.index.byFinalizer groups the objects by finalizer: no need to look
# at the objects without one.
findings contains f if {
	some name, objects in input.index.byFinalizer
	startswith(name, prefix)
	some obj in objects
	not obj.metadata.annotations[owner_annotation]
	f := {
		"msg": sprintf(
			"%s carries the platform finalizer %s but does not say which team runs its controller: add the annotation %s: <team>.",
			[k8s.describe(obj.ref), name, owner_annotation],
		),
		"object": obj.ref,
		"namespace": object.get(obj.metadata, "namespace", ""),
	}
}
