# METADATA
# title: Fail-closed admission webhook served from the namespace it intercepts
# description: >-
#   A validating or mutating webhook with failurePolicy Fail (the default) is
#   served by a Service in namespace N and intercepts requests that deleting
#   N needs, and neither its namespaceSelector nor its objectSelector exempts
#   them. Deleting N deletes the webhook's pods; from then on the API server
#   refuses those requests and the namespace hangs in Terminating. The
#   requests: DELETE of everything N holds; UPDATE of what carries a
#   finalizer (controllers removing it), or will get one from its
#   controller; and the namespace controller's DELETE, finalize and status
#   updates of the Namespace itself. CREATE and CONNECT do not matter. What N
#   holds is matched by apiGroups, resources (a subresource such as
#   pods/status is not the object) and scope: the objects in N (in lint, the
#   bundle's), what its workloads and Services create at run time (Pods,
#   ReplicaSets, ControllerRevisions, Jobs, Endpoints, EndpointSlices; a
#   Job's pods carry a finalizer), and the ConfigMap kube-root-ca.crt and
#   ServiceAccount default that every namespace holds. So a webhook on its
#   operator's own kinds fires only when N holds some. A namespace's labels
#   always include kubernetes.io/metadata.name. matchConditions (CEL) are
#   not evaluated. Fix: exempt the namespace (namespaceSelector
#   kubernetes.io/metadata.name NotIn [N]), use failurePolicy Ignore, or
#   delete the webhook configuration before the namespace.
# custom:
#   id: admission-webhook-in-namespace
#   severity: deny
#   live: false
package nsguard.rules.admission_webhook_in_namespace

import data.nsguard.lib.k8s
import data.nsguard.lib.webhooks

findings contains f if {
	some w in webhooks.webhooks
	ns := w.service.namespace
	k8s.candidate(ns)
	webhooks.fail_closed(w.config, w.webhook)
	webhooks.intercepts(w.webhook, ns)
	f := {
		"msg": sprintf(
			"Webhook %s fails closed, is served from namespace %s and intercepts %s of %s there: once its pods are gone, those requests are refused and the namespace hangs in Terminating. Exempt it (namespaceSelector kubernetes.io/metadata.name NotIn [%s]), set failurePolicy: Ignore, or delete %s %s first.",
			[w.webhook.name, ns, webhooks.operations(w.webhook), webhooks.what(w.webhook, ns), ns, w.config.kind, w.config.metadata.name],
		),
		"summary": k8s.summary([
			sprintf("%s %s: webhook %s fails closed, served from namespace %s", [w.config.kind, w.config.metadata.name, w.webhook.name, ns]),
			sprintf("%s %s: fail-closed webhook served from namespace %s", [w.config.kind, w.config.metadata.name, ns]),
			sprintf("%s: fail-closed webhook served from namespace %s", [w.config.metadata.name, ns]),
		]),
		"object": w.config.ref,
		"namespace": ns,
		"actions": [{"type": "delete-webhook-configuration", "object": w.config.ref}],
	}
}
