# Builds policy inputs for Rego tests the way the engine does: write the
# objects as in a manifest and let snapshot() add what the engine derives
# (object refs, namespaces, input.index). Policy tests of users can import
# it too: `nsguard policy test` loads it with the built-in policies.
#
#   findings := rule.findings with input as testing.snapshot({"objects": [...]})
package nsguard.lib.testing

import data.nsguard.lib.k8s

defaults := {
	"schemaVersion": "nsguard.io/v1alpha1",
	"source": "manifests",
	"kubeVersion": {"major": 1, "minor": 37, "gitVersion": "v1.37.2"},
	"target": "",
	"finalizers": [],
	"services": {},
	"complete": true,
}

immortal := {"default", "kube-system", "kube-public"}

# snapshot(partial): a complete input from a partial one. Objects get their
# ref (id = position) unless they set one; namespaces are registered from
# the objects and the Namespace objects, merged with partial.namespaces;
# the index is built from the objects.
snapshot(partial) := object.union(object.union(defaults, partial), {
	"objects": objs,
	"namespaces": object.union(_namespaces(objs), object.get(partial, "namespaces", {})),
	"index": _index(objs),
}) if {
	objs := [o |
		some i, raw in object.get(partial, "objects", [])
		o := object.union({"ref": ref(i, raw)}, raw)
	]
}

# cluster(partial): snapshot() of a live cluster, deleting partial.target.
cluster(partial) := snapshot(object.union({"source": "cluster"}, partial))

# ref(i, obj): the ObjectRef of a manifest object at position i.
ref(i, obj) := object.union(
	{
		"id": i,
		"apiVersion": obj.apiVersion,
		"group": _group(obj.apiVersion),
		"version": _version(obj.apiVersion),
		"kind": obj.kind,
		"name": obj.metadata.name,
	},
	_ns_field(obj),
)

_ns_field(obj) := {"namespace": obj.metadata.namespace} if object.get(obj.metadata, "namespace", "") != ""

_ns_field(obj) := {} if object.get(obj.metadata, "namespace", "") == ""

_group(api) := split(api, "/")[0] if contains(api, "/")

_group(api) := "" if not contains(api, "/")

_version(api) := split(api, "/")[1] if contains(api, "/")

_version(api) := api if not contains(api, "/")

group_kind(r) := r.kind if r.group == ""

group_kind(r) := sprintf("%s.%s", [r.kind, r.group]) if r.group != ""

_is_namespace(o) if {
	o.ref.kind == "Namespace"
	o.ref.group == ""
}

_namespaces(objs) := {name: entry |
	names := {n | some o in objs; n := object.get(o.metadata, "namespace", ""); n != ""} | {o.metadata.name | some o in objs; _is_namespace(o)}
	some name in names
	decl := [i | some i, o in objs; _is_namespace(o); o.metadata.name == name]
	entry := {
		"name": name,
		"deletable": _not_in(name, immortal),
		"declared": _not_in(count(decl), {0}),
		"objectID": _first(decl),
		"labels": object.union({"kubernetes.io/metadata.name": name}, _declared_labels(objs, decl)),
	}
}

_not_in(x, s) := false if x in s

_not_in(x, s) if not x in s

_first(ids) := ids[0] if count(ids) > 0

_first(ids) := -1 if count(ids) == 0

_declared_labels(objs, decl) := object.get(objs[decl[0]].metadata, "labels", {}) if count(decl) > 0

_declared_labels(_, decl) := {} if count(decl) == 0

_index(objs) := {
	"byKind": {gk: [o | some o in objs; group_kind(o.ref) == gk] | some gk in {group_kind(o.ref) | some o in objs}},
	"byNamespace": {ns: [o | some o in objs; object.get(o.metadata, "namespace", "") == ns] | some ns in _object_namespaces(objs)},
	"counts": {ns: {gk: count(os) |
		some gk in {group_kind(o.ref) | some o in objs}
		os := [o | some o in objs; object.get(o.metadata, "namespace", "") == ns; group_kind(o.ref) == gk]
		count(os) > 0
	} |
		some ns in _object_namespaces(objs)
	},
	"byFinalizer": {f: [o | some o in objs; f in object.get(o.metadata, "finalizers", [])] |
		some o in objs
		some f in object.get(o.metadata, "finalizers", [])
	},
	"withFinalizers": [o | some o in objs; count(object.get(o.metadata, "finalizers", [])) > 0],
	"waivers": [w |
		some o in objs
		annotations := object.get(o.metadata, "annotations", {})
		some k in sort([k | some k, _ in annotations; startswith(k, "ignore.nsguard.io/")])
		w := {"rule": substring(k, count("ignore.nsguard.io/"), -1), "reason": annotations[k], "ref": o.ref}
	],
}

_object_namespaces(objs) := {n | some o in objs; n := object.get(o.metadata, "namespace", ""); n != ""}

# Handy manifests for tests.

namespace(name) := {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}

namespace_labeled(name, labels) := {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}

# subjects(fs): the set of (namespace, object name) pairs, for short assertions.
subjects(fs) := {[f.namespace, f.object.name] | some f in fs}

# summaries_fit(fs): every finding has a summary of one line and at most
# 120 characters (nsguard would cut a longer one).
summaries_fit(fs) if {
	every f in fs {
		is_string(f.summary)
		count(trim_space(f.summary)) > 0
		count(f.summary) <= k8s.max_summary
		not contains(f.summary, "\n")
	}
}
