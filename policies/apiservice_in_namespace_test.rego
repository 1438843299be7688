package nsguard.rules.apiservice_in_namespace_test

import data.nsguard.lib.testing
import data.nsguard.rules.apiservice_in_namespace as rule

apiservice(svc) := {
	"apiVersion": "apiregistration.k8s.io/v1",
	"kind": "APIService",
	"metadata": {"name": "v1beta1.metrics.k8s.io"},
	"spec": {"group": "metrics.k8s.io", "version": "v1beta1", "service": svc, "groupPriorityMinimum": 100, "versionPriority": 100},
}

test_fires if {
	fs := rule.findings with input as testing.snapshot({"objects": [apiservice({"namespace": "monitoring", "name": "metrics-server"})]})
	count(fs) == 1
	some f in fs
	f.namespace == "monitoring"
	f.object.name == "v1beta1.metrics.k8s.io"
	f.actions == [{"type": "delete-apiservice", "object": f.object}]
	contains(f.msg, "every namespace in the cluster")
	f.summary == "APIService v1beta1.metrics.k8s.io: served from namespace monitoring, whose deletion stalls every namespace deletion"
	testing.summaries_fit(fs)
}

test_summary_fits_long_names if {
	a := object.union(apiservice({"namespace": "custom-metrics-adapter-system", "name": "prometheus-adapter"}), {"metadata": {"name": "v1beta1.external.metrics.k8s.io"}})
	fs := rule.findings with input as testing.snapshot({"objects": [a]})
	testing.summaries_fit(fs)
	some f in fs
	f.summary == "APIService v1beta1.external.metrics.k8s.io: served from namespace custom-metrics-adapter-system"
}

test_local_apiservice if {
	a := json.remove(apiservice({}), ["spec/service"])
	fs := rule.findings with input as testing.snapshot({"objects": [a]})
	count(fs) == 0
}

test_null_service if {
	fs := rule.findings with input as testing.snapshot({"objects": [apiservice(null)]})
	count(fs) == 0
}

test_kube_system if {
	fs := rule.findings with input as testing.snapshot({"objects": [apiservice({"namespace": "kube-system", "name": "metrics-server"})]})
	count(fs) == 0
}

test_waiver_is_applied_by_the_engine_not_the_rule if {
	a := object.union(apiservice({"namespace": "monitoring", "name": "m"}), {"metadata": {"annotations": {"ignore.nsguard.io/apiservice-in-namespace": "removed by the uninstall hook"}}})
	fs := rule.findings with input as testing.snapshot({"objects": [a]})
	count(fs) == 1
}
