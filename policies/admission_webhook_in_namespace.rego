# METADATA
# title: Fail-closed admission webhook served from the namespace it intercepts
# description: >-
#   A validating or mutating webhook with failurePolicy Fail (the default) is
#   served by a Service in namespace N and intercepts DELETE or UPDATE of
#   objects in N (or of the Namespace itself), and neither its
#   namespaceSelector nor its objectSelector exempts them. Deleting N deletes
#   the webhook's pods; from then on the API server refuses the deletions
#   that the namespace controller sends and the updates that controllers send
#   to remove their finalizers, and the namespace hangs in Terminating.
#   CREATE and CONNECT do not matter here. A namespace's labels always
#   include kubernetes.io/metadata.name. matchConditions (CEL) are not
#   evaluated. Fix: exempt the namespace (namespaceSelector
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
			"%s %s: webhook %s is served by Service %s/%s, fails closed and intercepts %s of objects in namespace %s: once the namespace's pods are deleted, the API server refuses those requests and the namespace hangs in Terminating. Exempt the namespace (namespaceSelector: kubernetes.io/metadata.name NotIn [%s]), set failurePolicy: Ignore, or delete the webhook configuration before the namespace.",
			[w.config.kind, w.config.metadata.name, w.webhook.name, ns, w.service.name, webhooks.operations(w.webhook), ns, ns],
		),
		"object": w.config.ref,
		"namespace": ns,
		"actions": [{"type": "delete-webhook-configuration", "object": w.config.ref}],
	}
}
