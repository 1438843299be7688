package inventory

// serviceRef names a Service that something in the snapshot depends on.
type serviceRef struct{ namespace, name string }

// dependedServices returns the in-cluster Services an object of group/kind
// calls: a CRD's conversion webhook, an APIService's backend, an admission
// webhook configuration's webhooks. top is the object's top level, whole
// (as listed from a cluster) or trimmed (Object.Body): the fields read here
// are kept by trimming.
func dependedServices(group, kind string, top map[string]any) []serviceRef {
	var configs []any
	switch group + "/" + kind {
	case "apiextensions.k8s.io/CustomResourceDefinition":
		spec, _ := top["spec"].(map[string]any)
		conv, _ := spec["conversion"].(map[string]any)
		if str(conv["strategy"]) != "Webhook" {
			return nil
		}
		if wh, ok := conv["webhook"].(map[string]any); ok {
			configs = append(configs, wh["clientConfig"])
		}
		// apiextensions.k8s.io/v1beta1 named it webhookClientConfig.
		configs = append(configs, conv["webhookClientConfig"])
	case "apiregistration.k8s.io/APIService":
		// spec.service sits where a webhook's clientConfig.service does.
		configs = append(configs, top["spec"])
	case "admissionregistration.k8s.io/ValidatingWebhookConfiguration", "admissionregistration.k8s.io/MutatingWebhookConfiguration":
		hooks, _ := top["webhooks"].([]any)
		for _, h := range hooks {
			hm, _ := h.(map[string]any)
			configs = append(configs, hm["clientConfig"])
		}
	}
	var out []serviceRef
	for _, c := range configs {
		cm, _ := c.(map[string]any)
		svc, _ := cm["service"].(map[string]any)
		if ns, name := str(svc["namespace"]), str(svc["name"]); ns != "" && name != "" {
			out = append(out, serviceRef{namespace: ns, name: name})
		}
	}
	return out
}
