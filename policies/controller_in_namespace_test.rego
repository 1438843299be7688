package nsguard.rules.controller_in_namespace_test

import data.nsguard.lib.testing
import data.nsguard.rules.controller_in_namespace as rule

operator := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "op", "namespace": "apps"},
}

widget := {
	"apiVersion": "example.com/v1",
	"kind": "Widget",
	"metadata": {"name": "w1", "namespace": "apps", "finalizers": ["example.com/cleanup"]},
}

widget2 := {
	"apiVersion": "example.com/v1",
	"kind": "Widget",
	"metadata": {"name": "w2", "namespace": "apps"},
}

handler(ns, via) := {
	"workload": {"id": 0, "apiVersion": "apps/v1", "group": "apps", "version": "v1", "kind": "Deployment", "namespace": ns, "name": "op"},
	"namespace": ns,
	"serviceAccount": "op",
	"via": via,
	"liveness": "unknown",
}

fact(handlers) := {
	"finalizer": "example.com/cleanup",
	"namespace": "apps",
	"objects": [1],
	"expected": [2],
	"kinds": ["Widget.example.com"],
	"builtin": false,
	"handlers": handlers,
	"liveness": "unknown",
}

input_with(handlers, extra) := testing.snapshot(object.union(
	{"objects": [operator, widget, widget2], "finalizers": [fact(handlers)]},
	extra,
))

test_fires_deny_on_1_34_and_later if {
	fs := rule.findings with input as input_with([handler("apps", ["catalog"])], {})
	count(fs) == 1
	some f in fs
	f.severity == "deny"
	f.namespace == "apps"
	f.object.name == "op"
	contains(f.msg, "example.com/cleanup")
	contains(f.msg, "2 Widget.example.com object(s) (1 carry it, the controller adds it to the others)")
	contains(f.msg, "1.34")
	count(f.actions) == 1
	f.actions[0].type == "delete-all"
	f.actions[0].object.kind == "Widget"
}

test_warns_before_1_34 if {
	fs := rule.findings with input as input_with(
		[handler("apps", ["rbac"])],
		{"kubeVersion": {"major": 1, "minor": 33, "gitVersion": "v1.33.4"}},
	)
	count(fs) == 1
	some f in fs
	f.severity == "warn"
	contains(f.msg, "races")
}

test_wildcard_only_warns if {
	fs := rule.findings with input as input_with([handler("apps", ["rbac-wildcard"])], {})
	some f in fs
	f.severity == "warn"
	contains(f.msg, "every resource")
}

test_rbac_with_wildcard_denies if {
	fs := rule.findings with input as input_with([handler("apps", ["rbac", "rbac-wildcard"])], {})
	some f in fs
	f.severity == "deny"
}

test_controller_elsewhere_does_not_fire if {
	fs := rule.findings with input as input_with([handler("operators", ["catalog"])], {})
	count(fs) == 0
}

test_rbac_handler_ignored_when_catalog_handler_exists if {
	other := object.union(handler("apps", ["rbac"]), {"workload": {"name": "server"}})
	fs := rule.findings with input as input_with([handler("operators", ["catalog"]), other], {})
	count(fs) == 0
}

test_second_handler_outside_downgrades if {
	fs := rule.findings with input as input_with([handler("apps", ["rbac"]), handler("operators", ["rbac"])], {})
	count(fs) == 1
	some f in fs
	f.severity == "warn"
	contains(f.msg, "outside the namespace")
}

test_builtin_finalizer_never_fires if {
	inp := input_with([handler("apps", ["catalog"])], {})
	b := object.union(inp.finalizers[0], {"builtin": true})
	fs := rule.findings with input as object.union(inp, {"finalizers": [b]})
	count(fs) == 0
}

test_immortal_namespace_does_not_fire if {
	inp := input_with([handler("default", ["catalog"])], {})
	f0 := object.union(inp.finalizers[0], {"namespace": "default"})
	fs := rule.findings with input as object.union(inp, {
		"finalizers": [f0],
		"namespaces": {"default": {"name": "default", "deletable": false}},
	})
	count(fs) == 0
}

test_cluster_fires_only_for_target if {
	fs := rule.findings with input as input_with([handler("apps", ["catalog"])], {"source": "cluster", "target": "other"})
	count(fs) == 0
	fs2 := rule.findings with input as input_with([handler("apps", ["catalog"])], {"source": "cluster", "target": "apps"})
	count(fs2) == 1
}

test_no_facts_no_findings if {
	fs := rule.findings with input as testing.snapshot({"objects": [operator, widget]})
	count(fs) == 0
}
