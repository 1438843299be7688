# METADATA
# title: Fail-closed admission webhook unavailable
# description: >-
#   A webhook with failurePolicy Fail intercepts requests that deleting the
#   namespace needs (DELETE of what it holds, UPDATE of what carries a
#   finalizer, or requests about the Namespace itself, matched by apiGroups,
#   resources and scope as admission-webhook-in-namespace describes; its
#   selectors do not exempt them), and its Service does not exist or has no
#   ready endpoints. The API server refuses
#   those requests, so neither the namespace controller nor the controllers
#   removing finalizers make progress, and the namespace stays Terminating.
#   Fix: bring the webhook's Service and pods back, or, if its owner was
#   uninstalled, delete the webhook configuration.
# custom:
#   id: admission-webhook-unavailable
#   severity: deny
#   live: true
package nsguard.rules.admission_webhook_unavailable

import data.nsguard.lib.k8s
import data.nsguard.lib.webhooks

findings contains f if {
	k8s.live
	ns := k8s.target
	ns != ""
	some w in webhooks.webhooks
	why := k8s.service_down(sprintf("%s/%s", [w.service.namespace, w.service.name]))
	webhooks.fail_closed(w.config, w.webhook)
	webhooks.intercepts(w.webhook, ns)
	f := object.union(
		{
			"msg": sprintf(
				"Webhook %s fails closed and its Service %s/%s %s, so the API server refuses %s of %s in namespace %s and the namespace stays Terminating. Bring the webhook's Service and pods back, or delete %s %s if its owner was uninstalled.",
				[w.webhook.name, w.service.namespace, w.service.name, why, webhooks.operations(w.webhook), webhooks.what(w.webhook, ns), ns, w.config.kind, w.config.metadata.name],
			),
			"summary": k8s.summary([
				sprintf("%s %s: webhook %s fails closed and its Service %s/%s %s", [w.config.kind, w.config.metadata.name, w.webhook.name, w.service.namespace, w.service.name, why]),
				sprintf("%s %s fails closed and its Service %s/%s %s", [w.config.kind, w.config.metadata.name, w.service.namespace, w.service.name, why]),
				sprintf("%s %s fails closed and its Service %s", [w.config.kind, w.config.metadata.name, why]),
			]),
			"object": w.config.ref,
			"namespace": ns,
		},
		_fix(w, why),
	)
}

# Deleting the configuration is the fix when its Service is gone.
_fix(w, why) := {"actions": [{"type": "delete-webhook-configuration", "object": w.config.ref}]} if why == "does not exist"

_fix(_, why) := {} if why != "does not exist"
