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
entry(finalizer) := by_name[finalizer]

entry(finalizer) := _by_pattern(finalizer) if not by_name[finalizer]

entry(finalizer) := e if {
	not by_name[finalizer]
	not _by_pattern(finalizer)
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
fact_entry(fact) := by_id[fact.catalog]

fact_entry(fact) := entry(fact.finalizer) if not by_id[object.get(fact, "catalog", "")]

# safe_builtin(finalizer): handled by Kubernetes itself and harmless to
# find in a manifest (it is removed once its condition clears).
safe_builtin(finalizer) if {
	e := entry(finalizer)
	e.builtin == true
	e.leaks == false
}
