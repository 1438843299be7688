package nsguard.rules.crd_deleted_before_resources_test

import data.nsguard.lib.testing
import data.nsguard.rules.crd_deleted_before_resources as rule

crd(deleting) := {
	"apiVersion": "apiextensions.k8s.io/v1",
	"kind": "CustomResourceDefinition",
	"metadata": object.union({"name": "datavolumes.cdi.kubevirt.io"}, _ts(deleting)),
	"spec": {"group": "cdi.kubevirt.io", "names": {"kind": "DataVolume", "plural": "datavolumes"}, "scope": "Namespaced"},
}

_ts(true) := {"deletionTimestamp": "2025-01-01T00:00:00Z"}

_ts(false) := {}

dv(finalizers) := {
	"apiVersion": "cdi.kubevirt.io/v1beta1",
	"kind": "DataVolume",
	"metadata": {"name": "disk", "namespace": "vms", "finalizers": finalizers},
}

test_fires if {
	fs := rule.findings with input as testing.cluster({"target": "vms", "objects": [crd(true), dv(["cdi.kubevirt.io/dataVolumeFinalizer"])]})
	count(fs) == 1
	some f in fs
	f.namespace == "vms"
	contains(f.msg, "1 DataVolume object(s)")
	contains(f.msg, "cdi.kubevirt.io/dataVolumeFinalizer")
	f.summary == "CustomResourceDefinition datavolumes.cdi.kubevirt.io is being deleted; 1 DataVolume object(s) in vms keep finalizers"
	testing.summaries_fit(fs)
}

test_crd_not_deleted if {
	count(rule.findings) == 0 with input as testing.cluster({"target": "vms", "objects": [crd(false), dv(["x"])]})
}

test_no_finalizers if {
	count(rule.findings) == 0 with input as testing.cluster({"target": "vms", "objects": [crd(true), dv([])]})
}

test_never_in_lint if {
	count(rule.findings) == 0 with input as testing.snapshot({"objects": [crd(true), dv(["x"])]})
}
