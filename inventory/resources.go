package inventory

import (
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// resourceInfo is what a manifest cannot say about its own kind.
type resourceInfo struct {
	Resource   string
	Namespaced bool
}

// builtinResources covers the kinds of a standard Kubernetes API server;
// custom kinds come from the CRDs of the bundle, and anything else is
// guessed (namespaced, regular plural), as kubectl does offline.
var builtinResources = map[gk]resourceInfo{
	{"", "Binding"}:               {"bindings", true},
	{"", "ComponentStatus"}:       {"componentstatuses", false},
	{"", "ConfigMap"}:             {"configmaps", true},
	{"", "Endpoints"}:             {"endpoints", true},
	{"", "Event"}:                 {"events", true},
	{"", "LimitRange"}:            {"limitranges", true},
	{"", "Namespace"}:             {"namespaces", false},
	{"", "Node"}:                  {"nodes", false},
	{"", "PersistentVolume"}:      {"persistentvolumes", false},
	{"", "PersistentVolumeClaim"}: {"persistentvolumeclaims", true},
	{"", "Pod"}:                   {"pods", true},
	{"", "PodTemplate"}:           {"podtemplates", true},
	{"", "ReplicationController"}: {"replicationcontrollers", true},
	{"", "ResourceQuota"}:         {"resourcequotas", true},
	{"", "Secret"}:                {"secrets", true},
	{"", "Service"}:               {"services", true},
	{"", "ServiceAccount"}:        {"serviceaccounts", true},
	{"admissionregistration.k8s.io", "MutatingWebhookConfiguration"}:     {"mutatingwebhookconfigurations", false},
	{"admissionregistration.k8s.io", "ValidatingWebhookConfiguration"}:   {"validatingwebhookconfigurations", false},
	{"admissionregistration.k8s.io", "ValidatingAdmissionPolicy"}:        {"validatingadmissionpolicies", false},
	{"admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"}: {"validatingadmissionpolicybindings", false},
	{"admissionregistration.k8s.io", "MutatingAdmissionPolicy"}:          {"mutatingadmissionpolicies", false},
	{"admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"}:   {"mutatingadmissionpolicybindings", false},
	{"apiextensions.k8s.io", "CustomResourceDefinition"}:                 {"customresourcedefinitions", false},
	{"apiregistration.k8s.io", "APIService"}:                             {"apiservices", false},
	{"apps", "ControllerRevision"}:                                       {"controllerrevisions", true},
	{"apps", "DaemonSet"}:                                                {"daemonsets", true},
	{"apps", "Deployment"}:                                               {"deployments", true},
	{"apps", "ReplicaSet"}:                                               {"replicasets", true},
	{"apps", "StatefulSet"}:                                              {"statefulsets", true},
	{"autoscaling", "HorizontalPodAutoscaler"}:                           {"horizontalpodautoscalers", true},
	{"batch", "CronJob"}:                                                 {"cronjobs", true},
	{"batch", "Job"}:                                                     {"jobs", true},
	{"certificates.k8s.io", "CertificateSigningRequest"}:                 {"certificatesigningrequests", false},
	{"coordination.k8s.io", "Lease"}:                                     {"leases", true},
	{"discovery.k8s.io", "EndpointSlice"}:                                {"endpointslices", true},
	{"events.k8s.io", "Event"}:                                           {"events", true},
	{"flowcontrol.apiserver.k8s.io", "FlowSchema"}:                       {"flowschemas", false},
	{"flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"}:       {"prioritylevelconfigurations", false},
	{"networking.k8s.io", "Ingress"}:                                     {"ingresses", true},
	{"networking.k8s.io", "IngressClass"}:                                {"ingressclasses", false},
	{"networking.k8s.io", "NetworkPolicy"}:                               {"networkpolicies", true},
	{"networking.k8s.io", "IPAddress"}:                                   {"ipaddresses", false},
	{"networking.k8s.io", "ServiceCIDR"}:                                 {"servicecidrs", false},
	{"node.k8s.io", "RuntimeClass"}:                                      {"runtimeclasses", false},
	{"policy", "PodDisruptionBudget"}:                                    {"poddisruptionbudgets", true},
	{"rbac.authorization.k8s.io", "ClusterRole"}:                         {"clusterroles", false},
	{"rbac.authorization.k8s.io", "ClusterRoleBinding"}:                  {"clusterrolebindings", false},
	{"rbac.authorization.k8s.io", "Role"}:                                {"roles", true},
	{"rbac.authorization.k8s.io", "RoleBinding"}:                         {"rolebindings", true},
	{"resource.k8s.io", "DeviceClass"}:                                   {"deviceclasses", false},
	{"resource.k8s.io", "ResourceClaim"}:                                 {"resourceclaims", true},
	{"resource.k8s.io", "ResourceClaimTemplate"}:                         {"resourceclaimtemplates", true},
	{"resource.k8s.io", "ResourceSlice"}:                                 {"resourceslices", false},
	{"scheduling.k8s.io", "PriorityClass"}:                               {"priorityclasses", false},
	{"storage.k8s.io", "CSIDriver"}:                                      {"csidrivers", false},
	{"storage.k8s.io", "CSINode"}:                                        {"csinodes", false},
	{"storage.k8s.io", "CSIStorageCapacity"}:                             {"csistoragecapacities", true},
	{"storage.k8s.io", "StorageClass"}:                                   {"storageclasses", false},
	{"storage.k8s.io", "VolumeAttachment"}:                               {"volumeattachments", false},
	{"storage.k8s.io", "VolumeAttributesClass"}:                          {"volumeattributesclasses", false},
	{"policy", "Eviction"}:                                               {"evictions", true},
	{"authentication.k8s.io", "TokenReview"}:                             {"tokenreviews", false},
	{"authorization.k8s.io", "SubjectAccessReview"}:                      {"subjectaccessreviews", false},
	{"authorization.k8s.io", "SelfSubjectAccessReview"}:                  {"selfsubjectaccessreviews", false},
	{"authorization.k8s.io", "LocalSubjectAccessReview"}:                 {"localsubjectaccessreviews", true},
	{"snapshot.storage.k8s.io", "VolumeSnapshotClass"}:                   {"volumesnapshotclasses", false},
	{"snapshot.storage.k8s.io", "VolumeSnapshotContent"}:                 {"volumesnapshotcontents", false},
	{"snapshot.storage.k8s.io", "VolumeSnapshot"}:                        {"volumesnapshots", true},
	{"gateway.networking.k8s.io", "GatewayClass"}:                        {"gatewayclasses", false},
	{"gateway.networking.k8s.io", "Gateway"}:                             {"gateways", true},
	{"gateway.networking.k8s.io", "HTTPRoute"}:                           {"httproutes", true},
	{"monitoring.coreos.com", "ServiceMonitor"}:                          {"servicemonitors", true},
	{"monitoring.coreos.com", "PodMonitor"}:                              {"podmonitors", true},
	{"monitoring.coreos.com", "PrometheusRule"}:                          {"prometheusrules", true},
	{"cert-manager.io", "ClusterIssuer"}:                                 {"clusterissuers", false},
	{"cert-manager.io", "Issuer"}:                                        {"issuers", true},
	{"cert-manager.io", "Certificate"}:                                   {"certificates", true},
}

// Mapper tells the resource (plural) of a kind and whether it is
// namespaced: from the built-in table, then from the CRDs it was given.
type Mapper struct {
	custom map[gk]resourceInfo
}

// gk keys the tables without building a string per lookup.
type gk struct{ group, kind string }

// NewMapper returns a mapper that knows the built-in kinds.
func NewMapper() *Mapper { return &Mapper{custom: map[gk]resourceInfo{}} }

// AddCRD teaches the mapper the kind a CustomResourceDefinition defines.
func (m *Mapper) AddCRD(o *Object) {
	if o.Ref.Group != "apiextensions.k8s.io" || o.Ref.Kind != "CustomResourceDefinition" {
		return
	}
	spec, _ := o.Body["spec"].(map[string]any)
	names, _ := spec["names"].(map[string]any)
	group, kind, plural := str(spec["group"]), str(names["kind"]), str(names["plural"])
	if kind == "" {
		return
	}
	if plural == "" {
		plural = guessResource(group, kind)
	}
	m.custom[gk{group, kind}] = resourceInfo{Resource: plural, Namespaced: str(spec["scope"]) != "Cluster"}
}

// Lookup returns the resource of group/kind, whether it is namespaced, and
// whether the answer is known rather than guessed.
func (m *Mapper) Lookup(group, kind string) (resource string, namespaced, known bool) {
	key := gk{group, kind}
	if ri, ok := m.custom[key]; ok {
		return ri.Resource, ri.Namespaced, true
	}
	if ri, ok := builtinResources[key]; ok {
		return ri.Resource, ri.Namespaced, true
	}
	return guessResource(group, kind), true, false
}

func guessResource(group, kind string) string {
	plural, _ := meta.UnsafeGuessKindToResource(schema.GroupVersionKind{Group: group, Kind: kind})
	return strings.ToLower(plural.Resource)
}
