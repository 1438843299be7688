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
# controller) and UPDATE of them (controllers removing their finalizers).
# CREATE and CONNECT do not take part.
blocking_operations := {"DELETE", "UPDATE", "*"}

# Cluster-scoped resources whose interception also blocks the deletion:
# the Namespace itself (the controller's final DELETE, PUT …/finalize).
_namespace_resources := {"namespaces", "namespaces/finalize", "namespaces/*", "*", "*/*"}

# intercepts(wh, ns): the webhook is called for requests that deleting
# namespace ns needs, and no selector exempts that namespace.
intercepts(wh, ns) if {
	some rule in object.get(wh, "rules", [])
	_blocking_rule(rule)
	selectors.matches(object.get(wh, "namespaceSelector", {}), k8s.namespace_labels(ns))
	_objects_selected(wh, ns)
}

_blocking_rule(rule) if {
	some op in object.get(rule, "operations", [])
	op in blocking_operations
	object.get(rule, "scope", "*") != "Cluster"
}

_blocking_rule(rule) if {
	some op in object.get(rule, "operations", [])
	op in blocking_operations
	rule.scope == "Cluster"
	some g in object.get(rule, "apiGroups", [])
	g in {"", "*"}
	some r in object.get(rule, "resources", [])
	r in _namespace_resources
}

# An objectSelector exempts the namespace only when it selects none of the
# namespace's objects known to the snapshot, nor the pods its workloads
# will create (their template labels).
_objects_selected(wh, _) if selectors.empty(object.get(wh, "objectSelector", {}))

_objects_selected(wh, ns) if {
	sel := wh.objectSelector
	not selectors.empty(sel)
	some obj in object.get(input.index.byNamespace, ns, [])
	selectors.matches(sel, _labels(obj)[_])
}

_labels(obj) := [object.get(obj.metadata, "labels", {}), object.get(obj, ["spec", "template", "metadata", "labels"], {})]

# operations(wh): the blocking operations a webhook intercepts, for messages.
operations(wh) := concat("/", sort({op |
	some rule in object.get(wh, "rules", [])
	some op in object.get(rule, "operations", [])
	op in blocking_operations
}))
