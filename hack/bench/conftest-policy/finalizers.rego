# The one rule conftest evaluates in make bench-lint: flag every object
# that sets metadata.finalizers, the equivalent of nsguard's
# hardcoded-finalizer rule (whose corpus finalizers are never Kubernetes'
# own). conftest evaluates each document of a file on its own, and a
# `kind: List` document is one input, so its items are looked at too.
package main

deny contains msg if {
	count(input.metadata.finalizers) > 0
	msg := finding(input)
}

deny contains msg if {
	input.kind == "List"
	some item in input.items
	count(item.metadata.finalizers) > 0
	msg := finding(item)
}

finding(obj) := sprintf("%s %s/%s sets finalizers %v: deleting its namespace waits until a controller removes them", [obj.kind, object.get(obj.metadata, "namespace", ""), obj.metadata.name, obj.metadata.finalizers])
