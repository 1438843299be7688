# Admission webhooks: which ones refuse, when their backend is down, the
# requests that deleting a namespace needs.
package nsguard.lib.webhooks

import data.nsguard.lib.k8s
import data.nsguard.lib.selectors

configuration_kinds := [
	"MutatingWebhookConfiguration.admissionregistration.k8s.io",
	"ValidatingWebhookConfiguration.admissionregistration.k8s.io",
]

# webhooks: every webhook served by a Service, with its configuration.
webhooks contains {"config": cfg, "webhook": wh, "service": svc} if {
	some kind in configuration_kinds
	some cfg in object.get(input.index.byKind, kind, [])
	some wh in cfg.webhooks
	svc := wh.clientConfig.service
}

# fail_closed(cfg, wh): failurePolicy Fail, the default of
# admissionregistration.k8s.io/v1 (v1beta1 defaulted to Ignore).
fail_closed(cfg, wh) if object.get(wh, "failurePolicy", _default_policy(cfg)) == "Fail"

_default_policy(cfg) := "Ignore" if cfg.apiVersion == "admissionregistration.k8s.io/v1beta1"

_default_policy(cfg) := "Fail" if cfg.apiVersion != "admissionregistration.k8s.io/v1beta1"

# Deleting a namespace needs DELETE of its objects (the namespace
# controller) and UPDATE of those that carry finalizers (controllers
# removing them). CREATE and CONNECT do not take part.
blocking_operations := {"DELETE", "UPDATE", "*"}

# intercepts(wh, ns): the webhook is called for a request that deleting
# namespace ns needs, and no selector exempts it. For a request about an
# object in the namespace, and for the Namespace itself, the API server
# matches the namespaceSelector against the namespace's labels.
# matchConditions (CEL) are not evaluated.
intercepts(wh, ns) if {
	selectors.matches(object.get(wh, "namespaceSelector", {}), k8s.namespace_labels(ns))
	_intercepts_any(wh, ns)
}

# Stops at the first match, unlike intercepted, which lists them all.
_intercepts_any(wh, ns) if {
	some key in _keys_of(ns)
	_content_intercepted(wh, ns, key)
}

_intercepts_any(wh, ns) if _namespace_intercepted(wh, ns)

# intercepted(wh, ns): what the webhook intercepts of the deletion of
# namespace ns, as "resource.group" names ("pods",
# "certificates.cert-manager.io", and "namespaces" for the Namespace
# itself), for messages.
intercepted(wh, ns) := {key | some key in _keys_of(ns); _content_intercepted(wh, ns, key)} | {"namespaces" | _namespace_intercepted(wh, ns)} if {
	selectors.matches(object.get(wh, "namespaceSelector", {}), k8s.namespace_labels(ns))
} else := set()

_content_intercepted(wh, ns, key) if {
	gr := _split_key(key)
	_any_rule_matches(wh, _content_operations(ns, key), "Namespaced", gr[0], gr[1], [""])
	_selected(object.get(wh, "objectSelector", {}), ns, key)
}

# Every object is deleted; only those that carry a finalizer (or will get
# one) are updated.
_content_operations(ns, key) := ["DELETE", "UPDATE"] if {
	[ns, key] in _finalized
} else := ["DELETE"]

# _finalized: [namespace, key] of the objects that carry a finalizer, or
# will get one from their controller (a finalizer fact's expected objects),
# and the pods of Jobs (the Job controller's batch.kubernetes.io/job-tracking).
_finalized := ({[obj.metadata.namespace, _key(object.get(obj.ref, "group", ""), k8s.resource(obj.ref))] |
	some obj in object.get(input.index, "withFinalizers", [])
	obj.metadata.namespace
} | {[fact.namespace, _key(object.get(ref, "group", ""), k8s.resource(ref))] |
	some fact in input.finalizers
	fact.namespace != ""
	some id in object.get(fact, "expected", [])
	ref := input.objects[id].ref
}) | {[obj.metadata.namespace, "pods"] |
	some kind in ["Job.batch", "CronJob.batch"]
	some obj in object.get(input.index.byKind, kind, [])
}

# What deleting a namespace deletes, as "resource.group" keys:
# - the objects in it (from a cluster: all of them; in lint: the bundle's);
# - what its workloads and Services create at run time, in no manifest;
# - what every namespace holds (see _everywhere).
# Read from the kinds the namespace holds (input.index.counts), not from
# each of its objects.
_keys_of(ns) := (_held(ns) | _created(ns)) | _everywhere

_held(ns) := {_kind_keys[gk] | some gk, _ in object.get(input.index.counts, ns, {})}

# _kind_keys["Kind.group"]: the key of each kind, made once for every
# namespace that holds it.
_kind_keys := {gk: _key(object.get(ref, "group", ""), k8s.resource(ref)) |
	some gk, objs in input.index.byKind
	ref := objs[0].ref
}

_created(ns) := {k |
	some gk, _ in object.get(input.index.counts, ns, {})
	some k in object.get(_creates, gk, [])
}

# _creates: what Kubernetes' own controllers create in the namespace of a
# workload or a Service. Their labels come from the pod template (for a
# Service, its own).
_creates := {
	"Deployment.apps": ["replicasets.apps", "pods"],
	"StatefulSet.apps": ["pods", "controllerrevisions.apps"],
	"DaemonSet.apps": ["pods", "controllerrevisions.apps"],
	"ReplicaSet.apps": ["pods"],
	"ReplicationController": ["pods"],
	"Job.batch": ["pods"],
	"CronJob.batch": ["jobs.batch", "pods"],
	"Service": ["endpoints", "endpointslices.discovery.k8s.io"],
}

_created_labels(obj) := labels if {
	labels := obj.spec.template.metadata.labels
	is_object(labels)
} else := object.get(obj.metadata, "labels", {})

# _everywhere: every namespace holds the ConfigMap kube-root-ca.crt and the
# ServiceAccount default (no labels), created by kube-controller-manager.
_everywhere := {"configmaps", "serviceaccounts"}

# _selected(sel, ns, key): the objectSelector selects one of the objects of
# that key in the namespace: an object itself, or what Kubernetes creates
# for it (labelled as its pod template says).
_selected(sel, _, _) if selectors.empty(sel)

_selected(sel, _, key) if {
	key in _everywhere
	selectors.matches(sel, {})
}

_selected(sel, ns, key) if {
	not selectors.empty(sel)
	some p in _pairs[ns]
	p[0] == key
	selectors.matches(sel, p[1])
}

# _pairs[ns]: the distinct [key, labels] of the namespace's objects and of
# what Kubernetes creates for them; computed once per namespace, and only
# for a webhook with an objectSelector.
_pairs[ns] := pairs if {
	some ns, objs in input.index.byNamespace
	pairs := {[_key(object.get(obj.ref, "group", ""), k8s.resource(obj.ref)), object.get(obj.metadata, "labels", {})] | some obj in objs} | {[k, _created_labels(obj)] |
		some obj in objs
		some k in object.get(_creates, k8s.group_kind(obj.ref), [])
	}
}

_any_rule_matches(wh, ops, scope, group, resource, subresources) if {
	some rule in object.get(wh, "rules", [])
	_rule_matches(rule, ops, scope, group, resource, subresources)
}

# The Namespace itself: the namespace controller's DELETE of it, its PUT of
# the finalize subresource and its status updates, and the UPDATEs that
# remove the Namespace's own metadata.finalizers. An objectSelector is
# matched against the namespace's labels.
_namespace_intercepted(wh, ns) if {
	some req in _namespace_requests(ns)
	_any_rule_matches(wh, [req[0]], "Cluster", "", "namespaces", [req[1]])
	selectors.matches(object.get(wh, "objectSelector", {}), k8s.namespace_labels(ns))
}

_namespace_requests(ns) := array.concat([["DELETE", ""], ["UPDATE", "finalize"], ["UPDATE", "status"]], [["UPDATE", ""] | _namespace_finalized(ns)])

_namespace_finalized(ns) if {
	count(input.objects[input.namespaces[ns].objectID].metadata.finalizers) > 0
}

# _rule_matches(rule, ops, scope, group, resource, subresources): the rule
# covers one of the operations on group/resource (or one of its
# subresources, "" for the resource itself) at that scope. As the API
# server matches: "*" is every resource but no subresource, "*/*" every
# resource and subresource, "pods/*" pods and its subresources,
# "pods/status" that subresource only.
_rule_matches(rule, ops, scope, group, resource, subresources) if {
	some op in ops
	_operation(rule, op)
	object.get(rule, "scope", "*") in {"*", scope}
	some g in object.get(rule, "apiGroups", [])
	g in {"*", group}
	some r in object.get(rule, "resources", [])
	parts := _split_resource(r)
	parts[0] in {"*", resource}
	some sub in subresources
	parts[1] in {"*", sub}
}

_operation(rule, op) if {
	some o in object.get(rule, "operations", [])
	o in {op, "*"}
}

_split_resource(r) := [substring(r, 0, i), substring(r, i + 1, -1)] if {
	i := indexof(r, "/")
	i >= 0
} else := [r, ""]

# "resource.group" keys, "resource" for the core group; resources have no
# dots, so the first one separates them.
_key(group, resource) := resource if {
	group == ""
} else := concat(".", [resource, group])

_split_key(key) := [substring(key, i + 1, -1), substring(key, 0, i)] if {
	i := indexof(key, ".")
	i >= 0
} else := ["", key]

# operations(wh): the blocking operations a webhook intercepts, for messages.
operations(wh) := concat("/", sort({op |
	some rule in object.get(wh, "rules", [])
	some op in object.get(rule, "operations", [])
	op in blocking_operations
}))

# what(wh, ns): intercepted(wh, ns) in words, for messages: up to three
# names, or two and how many more.
what(wh, ns) := _list(sort([_words(k) | some k in intercepted(wh, ns)]))

_words("namespaces") := "the Namespace"

_words(k) := k if k != "namespaces"

_list(l) := l[0] if count(l) == 1

_list(l) := sprintf("%s and %s", [concat(", ", array.slice(l, 0, count(l) - 1)), l[count(l) - 1]]) if {
	count(l) > 1
	count(l) <= 3
}

_list(l) := sprintf("%s and %d more", [concat(", ", array.slice(l, 0, 2)), count(l) - 2]) if count(l) > 3
