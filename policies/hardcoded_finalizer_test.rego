package nsguard.rules.hardcoded_finalizer_test

import data.nsguard.lib.testing
import data.nsguard.rules.hardcoded_finalizer as rule

obj(ns, finalizers) := {
	"apiVersion": "example.com/v1",
	"kind": "Widget",
	"metadata": {"name": "w", "namespace": ns, "finalizers": finalizers},
}

test_unknown_finalizer if {
	fs := rule.findings with input as testing.snapshot({"objects": [obj("apps", ["example.com/cleanup"])]})
	count(fs) == 1
	some f in fs
	f.namespace == "apps"
	f.object.name == "w"
	contains(f.msg, "finalizer example.com/cleanup")
	contains(f.msg, "not in nsguard's catalog")
	contains(f.msg, "ignore.nsguard.io/hardcoded-finalizer")
	f.summary == "Widget apps/w: manifest sets finalizer example.com/cleanup"
	testing.summaries_fit(fs)
}

test_summary_fits_long_names if {
	o := {
		"apiVersion": "example.com/v1",
		"kind": "ClusterServiceVersionTemplate",
		"metadata": {"name": "operator-lifecycle-manager-packageserver-v0.28.0", "namespace": "operator-lifecycle-manager", "finalizers": ["operators.coreos.com/cleanup-protection-finalizer"]},
	}
	fs := rule.findings with input as testing.snapshot({"objects": [o]})
	count(fs) == 1
	testing.summaries_fit(fs)
	some f in fs
	contains(f.summary, "operator-lifecycle-manager-packageserver-v0.28.0")
}

test_catalog_finalizer_names_controller if {
	fs := rule.findings with input as testing.snapshot({"objects": [obj("argocd", ["resources-finalizer.argocd.argoproj.io"])]})
	some f in fs
	contains(f.msg, "Argo CD")
}

test_safe_builtin if {
	fs := rule.findings with input as testing.snapshot({"objects": [obj("apps", ["kubernetes.io/pvc-protection", "foregroundDeletion", "orphan"])]})
	count(fs) == 0
}

test_one_finding_per_unsafe_finalizer if {
	fs := rule.findings with input as testing.snapshot({"objects": [obj("apps", ["kubernetes.io/pvc-protection", "a.example.com/x", "b.example.com/y"])]})
	count(fs) == 2
	every f in fs {
		not contains(f.msg, "pvc-protection")
	}
	some f in fs
	contains(f.msg, "finalizer a.example.com/x")
}

test_namespace_object if {
	ns := {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team", "finalizers": ["example.com/ns"]}}
	fs := rule.findings with input as testing.snapshot({"objects": [ns]})
	some f in fs
	f.namespace == "team"
}

test_cluster_scoped_object_ignored if {
	o := {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t", "finalizers": ["example.com/x"]}}
	fs := rule.findings with input as testing.snapshot({"objects": [o]})
	count(fs) == 0
}

test_immortal_namespace if {
	fs := rule.findings with input as testing.snapshot({"objects": [obj("default", ["example.com/cleanup"])]})
	count(fs) == 0
}

test_lint_only if {
	fs := rule.findings with input as testing.cluster({"objects": [obj("apps", ["example.com/cleanup"])], "target": "apps"})
	count(fs) == 0
}
