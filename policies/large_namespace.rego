# METADATA
# title: Very large namespace
# description: >-
#   The namespace holds so many objects of one type (10,000 by default; set
#   data.nsguard.config.largeNamespaceThreshold with --data to change it)
#   that the namespace controller's LIST and DELETECOLLECTION for that type
#   can time out and retry without progress, leaving the namespace
#   Terminating for a long time or for good (kubernetes#107948). Live only:
#   what piles up (Events, Jobs' pods, Secrets) is created at run time, not
#   in manifests. Fix: delete the objects in batches before deleting the
#   namespace.
# custom:
#   id: large-namespace
#   severity: warn
#   live: true
package nsguard.rules.large_namespace

import data.nsguard.lib.k8s

threshold := data.nsguard.config.largeNamespaceThreshold

threshold := 10000 if not data.nsguard.config.largeNamespaceThreshold

findings contains f if {
	k8s.live
	some ns, counts in input.index.counts
	k8s.candidate(ns)
	some gk, n in counts
	n >= threshold
	f := {
		"msg": sprintf(
			"Namespace %s holds %d %s objects: the namespace controller lists and deletes each type in one request, which at this size can time out and retry without progress, leaving the namespace Terminating. Delete them in batches before deleting the namespace.",
			[ns, n, gk],
		),
		"summary": k8s.summary([
			sprintf("Namespace %s holds %d %s objects, too many to delete in one request", [ns, n, gk]),
			sprintf("Namespace %s holds %d %s objects", [ns, n, gk]),
			sprintf("Namespace %s holds %d objects of one type", [ns, n]),
		]),
		"object": k8s.namespace_ref(ns),
		"namespace": ns,
	}
}
