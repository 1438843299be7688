package nsguard.rules.large_namespace_test

import data.nsguard.lib.testing
import data.nsguard.rules.large_namespace as rule

cms(n, ns) := [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": sprintf("c%d", [i]), "namespace": ns}} | some i in numbers.range(1, n)]

test_fires_over_threshold if {
	fs := rule.findings with input as testing.cluster({"target": "big", "objects": cms(3, "big")}) with data.nsguard.config.largeNamespaceThreshold as 3
	count(fs) == 1
	some f in fs
	f.namespace == "big"
	contains(f.msg, "3 ConfigMap objects")
	f.summary == "Namespace big holds 3 ConfigMap objects, too many to delete in one request"
	testing.summaries_fit(fs)
}

test_under_threshold if {
	count(rule.findings) == 0 with input as testing.cluster({"target": "big", "objects": cms(2, "big")}) with data.nsguard.config.largeNamespaceThreshold as 3
}

test_default_threshold if {
	count(rule.findings) == 0 with input as testing.cluster({"target": "big", "objects": cms(5, "big")})
}

test_immortal if {
	count(rule.findings) == 0 with input as testing.cluster({"target": "default", "objects": cms(3, "default")}) with data.nsguard.config.largeNamespaceThreshold as 3
}

test_never_in_lint if {
	count(rule.findings) == 0 with input as testing.snapshot({"objects": cms(3, "big")}) with data.nsguard.config.largeNamespaceThreshold as 3
}
