# Helpers shared by the rules: which namespaces can be deleted, how objects
# are named in messages and kubectl commands, what the Kubernetes version
# implies.
package nsguard.lib.k8s

# Kubernetes refuses to delete these (NamespaceLifecycle admission plugin).
immortal_namespaces := {"default", "kube-system", "kube-public"}

target := object.get(input, "target", "")

# live is true when the input comes from a cluster: only then are the live
# facts (liveness, conditions, endpoints, discovery) present.
live if input.source == "cluster"

# deletable(ns): Kubernetes lets namespace ns be deleted. A namespace the
# snapshot does not list (e.g. one a webhook's Service points to) is
# deletable unless it is one of the immortal ones.
deletable(ns) if input.namespaces[ns].deletable == true

deletable(ns) if {
	ns != ""
	not input.namespaces[ns]
	not ns in immortal_namespaces
}

# candidate(ns): a namespace whose deletion the rules reason about: the
# target on a cluster, every deletable namespace in lint.
candidate(ns) if {
	target == ""
	deletable(ns)
}

candidate(ns) if {
	target != ""
	ns == target
	deletable(ns)
}

# candidates: candidate() of every namespace the snapshot lists, computed
# once per evaluation; use it in loops over objects.
candidates contains ns if {
	some ns, _ in input.namespaces
	candidate(ns)
}

# namespace_labels(ns): the namespace's labels, always with the
# kubernetes.io/metadata.name label that Kubernetes sets.
namespace_labels(ns) := object.union(
	{"kubernetes.io/metadata.name": ns},
	object.get(input.namespaces, [ns, "labels"], {}),
)

# pods_deleted_first: since Kubernetes 1.34 (OrderedNamespaceDeletion,
# KEP-5080) the namespace controller deletes pods before anything else. An
# unknown version is taken as the newest.
pods_deleted_first if input.kubeVersion.major > 1

pods_deleted_first if {
	input.kubeVersion.major == 1
	input.kubeVersion.minor >= 34
}

pods_deleted_first if object.get(input, ["kubeVersion", "major"], 0) == 0

# group_resource(ref): "resource.group" as kubectl accepts it; the
# lowercase kind stands in for an unknown resource (kubectl resolves it).
#
# These helpers run for every finding or object: each is one chain of
# else branches, tried in order, rather than definitions that are all
# evaluated on every call.
group_resource(ref) := resource_name(ref) if {
	object.get(ref, "group", "") == ""
} else := concat(".", [resource_name(ref), ref.group])

resource_name(ref) := r if {
	r := object.get(ref, "resource", "")
	r != ""
} else := lower(ref.kind)

# kubectl_object(ref): the arguments that name the object for kubectl.
kubectl_object(ref) := sprintf("%s %s -n %s", [group_resource(ref), ref.name, ref.namespace]) if {
	object.get(ref, "namespace", "") != ""
} else := sprintf("%s %s", [group_resource(ref), ref.name])

# guess_resource(kind): the resource (lowercase plural) of a kind, guessed
# the way Kubernetes does when it does not know the kind
# (meta.UnsafeGuessKindToResource). The inventory sets ref.resource; this is
# for refs that come without it.
guess_resource(kind) := concat("", [lower(kind), "es"]) if {
	endswith(kind, "s")
} else := concat("", [trim_suffix(lower(kind), "y"), "ies"]) if {
	endswith(kind, "y")
} else := concat("", [lower(kind), "s"])

# resource(ref): the object's resource, guessed from its kind when unknown.
resource(ref) := r if {
	r := object.get(ref, "resource", "")
	r != ""
} else := guess_resource(ref.kind)

# group_kind(ref): "Kind.group", or "Kind" for the core group, as in
# input.index.byKind and finalizer facts' kinds.
group_kind(ref) := ref.kind if {
	object.get(ref, "group", "") == ""
} else := sprintf("%s.%s", [ref.kind, ref.group])

# describe(ref): "Kind namespace/name" or "Kind name" for messages.
describe(ref) := sprintf("%s %s/%s", [ref.kind, ref.namespace, ref.name]) if {
	ref.namespace
} else := sprintf("%s %s", [ref.kind, ref.name])

# namespace_ref(ns): the ref of the Namespace object, or a ref with id -1
# when the snapshot does not hold it.
namespace_ref(ns) := ref if ref := _declared_namespace_ref(ns)

namespace_ref(ns) := {
	"id": -1,
	"apiVersion": "v1",
	"group": "",
	"version": "v1",
	"kind": "Namespace",
	"resource": "namespaces",
	"name": ns,
} if {
	not _declared_namespace_ref(ns)
}

_declared_namespace_ref(ns) := input.objects[input.namespaces[ns].objectID].ref

# conversion_service(crd): the Service of a CRD's conversion webhook
# (apiextensions.k8s.io/v1, or the v1beta1 field name).
conversion_service(crd) := svc if {
	crd.spec.conversion.strategy == "Webhook"
	svc := crd.spec.conversion.webhook.clientConfig.service
}

conversion_service(crd) := svc if {
	crd.spec.conversion.strategy == "Webhook"
	not crd.spec.conversion.webhook.clientConfig.service
	svc := crd.spec.conversion.webhookClientConfig.service
}

# service_down(key): why the Service "namespace/name" cannot serve, from
# the live facts; undefined when it can or when nothing is known.
service_down(key) := "does not exist" if input.services[key].exists == false

service_down(key) := "has no ready endpoints" if {
	object.get(input.services[key], "exists", true) != false
	input.services[key].readyEndpoints == 0
}

crd_kind := "CustomResourceDefinition.apiextensions.k8s.io"

# crd_group_kind(crd): "Kind.group" of the objects a CRD defines.
crd_group_kind(crd) := sprintf("%s.%s", [crd.spec.names.kind, crd.spec.group])

# holds(ns, gk): namespace ns holds objects of kind gk ("Kind.group").
holds(ns, gk) if input.index.counts[ns][gk] > 0

# holds_none(ns, gk): ns is known to hold no object of kind gk: in lint the
# bundle has none (what it shows stands for the namespace); on a cluster
# none was listed and nothing was left unlisted.
holds_none(ns, gk) if {
	not holds(ns, gk)
	not live
}

holds_none(ns, gk) if {
	not holds(ns, gk)
	live
	input.complete == true
}

apiservice_kind := "APIService.apiregistration.k8s.io"

# max_summary: the longest summary, in characters. Admission warnings
# should stay under 120 characters, and kubectl prints one per line.
max_summary := 120

# summary(candidates): the first of the candidate summaries, most detailed
# first, that fits in max_summary characters; else the last one, cut to fit.
# The first three are tried one at a time: every finding calls this, and a
# comprehension over the candidates costs several times more.
summary(candidates) := candidates[0] if {
	count(candidates[0]) <= max_summary
} else := candidates[1] if {
	count(candidates[1]) <= max_summary
} else := candidates[2] if {
	count(candidates[2]) <= max_summary
} else := fits[0] if {
	fits := [c | some c in candidates; count(c) <= max_summary]
	count(fits) > 0
} else := concat("", [substring(candidates[count(candidates) - 1], 0, max_summary - 1), "…"])

# waiver_hint(id): how to waive a rule on an object, for messages.
waiver_hint(id) := sprintf("ignore.nsguard.io/%s: \"<reason>\"", [id])
