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
	contains(f.msg, "2 Widget.example.com object(s) (1 carry it, the others will)")
	contains(f.msg, "1.34")
	f.summary == "Deployment apps/op removes finalizer example.com/cleanup in its own namespace"
	testing.summaries_fit(fs)
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

# A Lease that the catalog names is catalog evidence too: the RBAC-only
# handler in the namespace is ignored.
test_lease_handler_beats_rbac if {
	other := object.union(handler("apps", ["rbac"]), {"workload": {"name": "server"}})
	fs := rule.findings with input as input_with([handler("operators", ["lease"]), other], {})
	count(fs) == 0
	fs2 := rule.findings with input as input_with([handler("apps", ["lease"])], {})
	some f in fs2
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
	contains(f.msg, "another candidate runs elsewhere")
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

# Deleting objects whose finalizer's entry has deletesManaged deletes what
# they manage: no delete is offered; the message points to the uninstall.
managed_catalog(uninstall) := {"finalizers": [object.union(
	{
		"id": "cleanup", "name": "example.com/cleanup", "project": "Example",
		"handledBy": "the example controller", "protects": "the workloads a Widget deploys",
		"leaks": true, "removal": "The workloads stay.", "deletesManaged": true,
	},
	uninstall,
)]}

test_deletes_managed_offers_no_delete if {
	fs := rule.findings with input as input_with([handler("apps", ["catalog"])], {})
		with data.nsguard.catalog as managed_catalog({"uninstall": "https://example.com/docs/uninstall"})
	count(fs) == 1
	some f in fs
	f.severity == "deny"
	f.actions == []
	contains(f.msg, "would also delete what they manage")
	contains(f.msg, "https://example.com/docs/uninstall")
	not contains(f.msg, "Delete those objects")
	testing.summaries_fit(fs)
}

test_deletes_managed_without_uninstall_url if {
	fs := rule.findings with input as input_with([handler("apps", ["catalog"])], {}) with data.nsguard.catalog as managed_catalog({})
	some f in fs
	f.actions == []
	contains(f.msg, "uninstall steps of Example")
}

test_entry_without_deletes_managed_offers_delete if {
	cat := {"finalizers": [json.remove(managed_catalog({}).finalizers[0], ["deletesManaged"])]}
	fs := rule.findings with input as input_with([handler("apps", ["catalog"])], {}) with data.nsguard.catalog as cat
	some f in fs
	f.actions[0].type == "delete-all"
}

# The Namespace's own metadata finalizer, removed by a controller that runs
# in the namespace: it fires, and offers no delete (nsguard never deletes a
# Namespace).
test_namespace_own_finalizer if {
	ns := {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps", "finalizers": ["example.com/cleanup"]}}
	f0 := object.union(fact([handler("apps", ["catalog"])]), {"objects": [3], "expected": [], "kinds": ["Namespace"]})
	fs := rule.findings with input as testing.snapshot({"objects": [operator, widget, widget2, ns], "finalizers": [f0]})
	count(fs) == 1
	some f in fs
	f.actions == []
	contains(f.msg, "1 Namespace object(s)")
}

# A handler may be any owner of pods: a Job, a bare Pod, or an owner not in
# the snapshot (id -1).
test_handler_of_any_kind if {
	job := {"id": -1, "apiVersion": "batch/v1", "group": "batch", "version": "v1", "kind": "Job", "namespace": "apps", "name": "migrate"}
	h := object.union(handler("apps", ["rbac"]), {"workload": job})
	fs := rule.findings with input as input_with([h], {})
	count(fs) == 1
	some f in fs
	f.object == job
	contains(f.msg, "Job apps/migrate")
}

test_handler_without_namespace_field if {
	h := json.remove(handler("apps", ["catalog"]), ["namespace"])
	fs := rule.findings with input as input_with([h], {})
	count(fs) == 1
}

# controller.createsInOwnNamespace: the controller creates objects with its
# finalizer in its own namespace at run time, in no manifest.
store_catalog := {"finalizers": [
	{
		"id": "store", "name": "store.example.com/cleanup", "project": "Store",
		"handledBy": "the store operator",
		"controller": {
			"workloadLabels": [{"app.kubernetes.io/name": "store-operator", "app.kubernetes.io/component": "manager"}],
			"createsInOwnNamespace": [{"group": "store.example.com", "kind": "Volume"}, {"group": "store.example.com", "kind": "Replica"}],
		},
		"handlers": [{
			"kinds": [{"group": "store.example.com", "kind": "Backup"}],
			"handledBy": "the store backup controller",
			"controller": {
				"workloadLabels": [{"app": "store-backup"}],
				"createsInOwnNamespace": [{"group": "store.example.com", "kind": "BackupTarget"}],
			},
		}],
		"protects": "volume data", "leaks": true, "removal": "Data stays on the nodes.",
	},
	{
		"id": "plain", "name": "plain.example.com/x", "project": "Plain", "handledBy": "plain",
		"controller": {"workloadLabels": [{"app.kubernetes.io/name": "store-operator"}]},
		"protects": "nothing", "leaks": false, "removal": "safe",
	},
]}

store_operator(ns, labels) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "store-operator", "namespace": ns},
	"spec": {"template": {"metadata": {"labels": labels}}},
}

manager_labels := {"app.kubernetes.io/name": "store-operator", "app.kubernetes.io/component": "manager", "pod-template-hash": "x"}

runtime_findings(objs) := fs if {
	fs := rule.findings with input as testing.snapshot({"objects": objs}) with data.nsguard.catalog as store_catalog
}

test_creates_in_own_namespace_warns if {
	fs := runtime_findings([store_operator("storage", manager_labels)])
	count(fs) == 1
	some f in fs
	f.severity == "warn"
	f.namespace == "storage"
	f.object.kind == "Deployment"
	f.object.name == "store-operator"
	contains(f.msg, "the store operator")
	contains(f.msg, "Replica.store.example.com, Volume.store.example.com")
	contains(f.msg, "store.example.com/cleanup")
	contains(f.msg, "Delete those objects")
	not f.actions
	f.summary == "Deployment storage/store-operator creates objects with finalizer store.example.com/cleanup in its own namespace"
	testing.summaries_fit(fs)
}

test_creates_in_own_namespace_labels_on_workload if {
	op := object.union(store_operator("storage", {}), {"metadata": {"labels": manager_labels}})
	count(runtime_findings([op])) == 1
}

test_creates_in_own_namespace_needs_every_label if {
	count(runtime_findings([store_operator("storage", {"app.kubernetes.io/name": "store-operator"})])) == 0
}

test_creates_in_own_namespace_handler_controller if {
	backup := {
		"apiVersion": "apps/v1",
		"kind": "StatefulSet",
		"metadata": {"name": "backup", "namespace": "storage"},
		"spec": {"template": {"metadata": {"labels": {"app": "store-backup"}}}},
	}
	fs := runtime_findings([backup])
	count(fs) == 1
	some f in fs
	contains(f.msg, "the store backup controller")
	contains(f.msg, "BackupTarget.store.example.com")
	not contains(f.msg, "Volume")
}

store_pod(owners) := {
	"apiVersion": "v1",
	"kind": "Pod",
	"metadata": {"name": "store-operator-x", "namespace": "storage", "labels": manager_labels, "ownerReferences": owners},
}

# A pod that something controls is its workload's; a bare one runs alone.
test_creates_in_own_namespace_bare_pods_only if {
	count(runtime_findings([store_pod([])])) == 1
	count(runtime_findings([store_pod([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "store-operator-1", "uid": "u", "controller": true}])])) == 0
}

test_creates_in_own_namespace_immortal_namespace if {
	count(runtime_findings([store_operator("kube-system", manager_labels)])) == 0
}

test_creates_in_own_namespace_lint_only if {
	fs := rule.findings with input as testing.cluster({"target": "storage", "objects": [store_operator("storage", manager_labels)]})
		with data.nsguard.catalog as store_catalog
	count(fs) == 0
}

test_creates_in_own_namespace_deletes_managed if {
	e := object.union(store_catalog.finalizers[0], {"deletesManaged": true, "uninstall": "https://store.example.com/uninstall"})
	fs := rule.findings with input as testing.snapshot({"objects": [store_operator("storage", manager_labels)]})
		with data.nsguard.catalog as {"finalizers": [e]}
	some f in fs
	contains(f.msg, "https://store.example.com/uninstall")
	not contains(f.msg, "Delete those objects")
}

# A finalizer fact that already names the workload as the entry's handler
# in its namespace gives the finding; no second one from the catalog.
test_creates_in_own_namespace_covered_by_fact if {
	volume := {
		"apiVersion": "store.example.com/v1",
		"kind": "Volume",
		"metadata": {"name": "v1", "namespace": "storage", "finalizers": ["store.example.com/cleanup"]},
	}
	h := {
		"workload": {"id": 0, "apiVersion": "apps/v1", "group": "apps", "version": "v1", "kind": "Deployment", "namespace": "storage", "name": "store-operator"},
		"namespace": "storage", "via": ["catalog"], "liveness": "unknown",
	}
	f0 := {
		"finalizer": "store.example.com/cleanup", "namespace": "storage", "objects": [1],
		"kinds": ["Volume.store.example.com"], "catalog": "store", "builtin": false,
		"handlers": [h], "liveness": "unknown",
	}
	fs := rule.findings with input as testing.snapshot({"objects": [store_operator("storage", manager_labels), volume], "finalizers": [f0]})
		with data.nsguard.catalog as store_catalog
	count(fs) == 1
	some f in fs
	f.severity == "deny"
}

test_creates_in_own_namespace_builtin_entry if {
	e := object.union(store_catalog.finalizers[0], {"builtin": true})
	fs := rule.findings with input as testing.snapshot({"objects": [store_operator("storage", manager_labels)]})
		with data.nsguard.catalog as {"finalizers": [e]}
	count(fs) == 0
}

# Many kinds: the message names two and counts the rest.
test_creates_in_own_namespace_many_kinds if {
	kinds := [{"group": "store.example.com", "kind": k} | some k in ["Volume", "Replica", "Engine", "Node"]]
	e := json.patch(store_catalog.finalizers[0], [{"op": "replace", "path": "/controller/createsInOwnNamespace", "value": kinds}])
	fs := rule.findings with input as testing.snapshot({"objects": [store_operator("storage", manager_labels)]})
		with data.nsguard.catalog as {"finalizers": [e]}
	some f in fs
	contains(f.msg, "(the store operator) creates Engine.store.example.com, Node.store.example.com and 2 more objects")
	testing.summaries_fit(fs)
}
