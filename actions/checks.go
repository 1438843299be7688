package actions

import "fmt"

// Read-only commands that help a person look before acting. They change
// nothing, and are rendered here so that every command nsguard prints comes
// from this package.

// Describe is `kubectl describe` of a workload.
func Describe(t Target) string {
	return fmt.Sprintf("kubectl describe %s/%s -n %s", t.GroupResource(), t.Name, t.Namespace)
}

// Logs is `kubectl logs` of a workload's pods.
func Logs(t Target) string {
	return fmt.Sprintf("kubectl logs %s/%s -n %s --tail=100", t.GroupResource(), t.Name, t.Namespace)
}

// EndpointSlices lists the EndpointSlices of a Service.
func EndpointSlices(namespace, service string) string {
	return fmt.Sprintf("kubectl get endpointslices -n %s -l kubernetes.io/service-name=%s", namespace, service)
}

// ConversionService shows the Service a CRD's conversion webhook calls.
func ConversionService(crd string) string {
	return fmt.Sprintf("kubectl get customresourcedefinition %s -o jsonpath='{.spec.conversion.webhook.clientConfig.service}'", crd)
}

// WaitDeleted waits for a namespace to go.
func WaitDeleted(namespace string) string {
	return fmt.Sprintf("kubectl wait --for=delete namespace/%s --timeout=5m", namespace)
}

// Diagnose runs nsguard's diagnosis of a namespace again.
func Diagnose(namespace string) string {
	return "kubectl nsguard diagnose " + namespace
}
