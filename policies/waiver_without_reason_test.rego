package nsguard.rules.waiver_without_reason_test

import data.nsguard.lib.testing
import data.nsguard.rules.waiver_without_reason as rule

obj(annotations) := {
	"apiVersion": "v1",
	"kind": "ConfigMap",
	"metadata": {"name": "c", "namespace": "apps", "annotations": annotations},
}

test_empty_reason if {
	fs := rule.findings with input as testing.snapshot({"objects": [obj({"ignore.nsguard.io/hardcoded-finalizer": ""})]})
	count(fs) == 1
	some f in fs
	f.namespace == "apps"
	contains(f.msg, "ignore.nsguard.io/hardcoded-finalizer has no reason")
	f.summary == "ConfigMap apps/c: waiver ignore.nsguard.io/hardcoded-finalizer has no reason"
	testing.summaries_fit(fs)
}

test_blank_reason if {
	fs := rule.findings with input as testing.snapshot({"objects": [obj({"ignore.nsguard.io/x": "  \n"})]})
	count(fs) == 1
}

test_reason_given if {
	fs := rule.findings with input as testing.snapshot({"objects": [obj({"ignore.nsguard.io/x": "handled by the uninstall job"})]})
	count(fs) == 0
}

test_other_annotations if {
	fs := rule.findings with input as testing.snapshot({"objects": [obj({"example.com/ignore": ""})]})
	count(fs) == 0
}

test_fires_in_immortal_namespaces_too if {
	o := object.union(obj({"ignore.nsguard.io/x": ""}), {"metadata": {"namespace": "default"}})
	fs := rule.findings with input as testing.snapshot({"objects": [o]})
	count(fs) == 1
}
