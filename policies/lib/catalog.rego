# Lookups in the finalizer catalog (data.nsguard.catalog).
package nsguard.lib.catalog

entries := data.nsguard.catalog.finalizers

by_id := {e.id: e | some e in entries}

by_name := {e.name: e | some e in entries; object.get(e, "name", "") != ""}

_patterned := [e | some e in entries; object.get(e, "pattern", "") != ""]

_prefixed := [e | some e in entries; object.get(e, "prefix", "") != ""]

# entry(finalizer): the catalog entry of an exact name, else the first
# whose pattern matches ("*" is any run of characters), else the one with
# the longest matching prefix.
entry(finalizer) := e if {
	e := by_name[finalizer]
} else := e if {
	e := _by_pattern(finalizer)
} else := e if {
	matching := [x | some x in _prefixed; startswith(finalizer, x.prefix)]
	longest := max([count(x.prefix) | some x in matching])
	e := [x | some x in matching; count(x.prefix) == longest][0]
}

_by_pattern(finalizer) := [e |
	some e in _patterned
	glob.match(e.pattern, null, finalizer)
][0]

# fact_entry(fact): the entry of a FinalizerFact (by its catalog id, else
# by name).
fact_entry(fact) := e if {
	e := by_id[fact.catalog]
} else := entry(fact.finalizer) if {
	not by_id[object.get(fact, "catalog", "")]
}

# safe_builtin(finalizer): handled by Kubernetes itself and harmless to
# find in a manifest (it is removed once its condition clears).
safe_builtin(finalizer) if {
	e := entry(finalizer)
	e.builtin == true
	e.leaks == false
}

# label(e): how messages name an entry's finalizer: its name, else its
# pattern or prefix.
label(e) := e.name if object.get(e, "name", "") != ""

label(e) := e.pattern if {
	object.get(e, "name", "") == ""
	object.get(e, "pattern", "") != ""
}

label(e) := concat("", [e.prefix, "*"]) if {
	object.get(e, "name", "") == ""
	object.get(e, "pattern", "") == ""
	object.get(e, "prefix", "") != ""
}

# controllers(e): every controller the entry describes, each with the
# words that name it: the entry's own and each per-kind handler's.
controllers(e) := array.concat(
	[{"handledBy": object.get(e, "handledBy", ""), "controller": object.get(e, "controller", {})}],
	[{"handledBy": object.get(h, "handledBy", ""), "controller": object.get(h, "controller", {})} |
		some h in object.get(e, "handlers", [])
	],
)

# runs(controller, obj): obj is that controller: it, or its pod template,
# carries every label of one of the controller's workloadLabels sets (the
# way the inventory recognises it). An empty set recognises nothing.
runs(controller, obj) if {
	some set in object.get(controller, "workloadLabels", [])
	count(set) > 0
	some labels in [object.get(obj, ["metadata", "labels"], {}), object.get(obj, ["spec", "template", "metadata", "labels"], {})]
	every k, v in set {
		labels[k] == v
	}
}

# deletes_managed(e): deleting an object that carries the finalizer deletes
# what the object manages (an Argo CD Application with its resources
# finalizer, a Flux Kustomization that prunes): no fix may delete it.
deletes_managed(e) if e.deletesManaged == true

# uninstall_advice(e): where to look instead of deleting such objects.
uninstall_advice(e) := sprintf("follow %s", [e.uninstall]) if object.get(e, "uninstall", "") != ""

uninstall_advice(e) := sprintf("follow the uninstall steps of %s", [object.get(e, "project", "its project")]) if {
	object.get(e, "uninstall", "") == ""
}
