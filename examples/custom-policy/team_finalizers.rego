# METADATA
# title: Team finalizers must name their owner
# description: >-
#   Objects that carry a finalizer of the ACME platform (prefix
#   acme.example.com/, or data.acme.finalizerPrefix) must name the team that
#   runs its controller in the annotation acme.example.com/finalizer-owner,
#   so that whoever finds the namespace stuck knows whom to call. On a
#   cluster where that controller is gone for good and the finalizer catalog
#   says removing the finalizer leaks nothing, the finding offers to remove
#   it. Fix: add the annotation, or drop the finalizer.
# custom:
#   id: team-finalizer-owner
#   severity: deny
package nsguard.rules.acme.team_finalizers

import data.nsguard.lib.catalog
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
		# One line of at most 120 characters that names the object and the
		# problem: admission warnings and lint's first line show it.
		"summary": k8s.summary([
			sprintf("%s: finalizer %s has no owner annotation", [k8s.describe(obj.ref), name]),
			sprintf("%s: platform finalizer without an owner", [k8s.describe(obj.ref)]),
		]),
		"object": obj.ref,
		"namespace": object.get(obj.metadata, "namespace", ""),
		"actions": _actions(obj, name),
	}
}

# Actions are typed data, never commands: nsguard checks them, resolves the
# object's UID and the finalizer's index, and renders the guarded kubectl
# patch. Removing the finalizer is offered only when nothing can remove it
# any more (the finalizer fact says absent, which needs a cluster) and the
# catalog says nothing leaks.
_actions(obj, name) := [{
	"type": "remove-finalizer",
	"object": obj.ref,
	"finalizer": name,
	"reason": "its controller is gone and removing it leaks nothing",
}] if _removable(obj, name)

_actions(obj, name) := [] if not _removable(obj, name)

_removable(obj, name) if {
	some fact in input.finalizers
	fact.finalizer == name
	obj.ref.id in fact.objects
	fact.liveness == "absent"
	catalog.entry(name).leaks == false
}
