package diagnose

import (
	"fmt"
	"sort"

	"github.com/nsguard/nsguard/policies"
)

// findingRank puts the causes that stall every namespace first.
func findingRank(f policies.Finding) int {
	switch f.Object.Group + "/" + f.Object.Kind {
	case "apiregistration.k8s.io/APIService":
		return rankAPIService
	case "apiextensions.k8s.io/CustomResourceDefinition":
		return rankConversion
	case "admissionregistration.k8s.io/ValidatingWebhookConfiguration", "admissionregistration.k8s.io/MutatingWebhookConfiguration":
		return rankAdmission
	case "apps/Deployment", "apps/StatefulSet", "apps/DaemonSet":
		return rankController
	case "/Namespace":
		// What the namespace controller reports is the symptom: after the
		// causes.
		return rankVerify
	}
	return rankOther
}

// rootCauseObjects is how many objects a root cause names beyond its first;
// the findings name them all.
const rootCauseObjects = 5

// rootCause says why the namespace hangs (or would): the messages of the
// deny findings, cluster-wide causes first, one for the findings of a rule
// that differ only in the object they name. Without any, a Terminating
// namespace is explained from its facts: what is left and who removes it.
func rootCause(r *Report) []string {
	var deny []policies.Finding
	for _, f := range r.Findings {
		if f.Severity == policies.SeverityDeny {
			deny = append(deny, f)
		}
	}
	sort.SliceStable(deny, func(i, j int) bool { return findingRank(deny[i]) < findingRank(deny[j]) })
	out := []string{}
	for _, g := range groupFindings(deny) {
		c := g.first.Message
		if len(g.objects) > 1 {
			c += fmt.Sprintf(" The same holds for %s: %s.", plural(len(g.objects)-1, "more object"), g.others(rootCauseObjects))
		}
		out = append(out, c)
	}
	if len(out) > 0 || r.State != StateTerminating {
		return out
	}
	for _, fin := range r.Finalizers {
		switch fin.Liveness {
		case "alive":
			out = append(out, fmt.Sprintf("%s still carry finalizer %s; its controller is alive, so the deletion is in progress (or its cleanup keeps failing: see its logs).", countObjects(fin.Objects), fin.Name))
		default:
			out = append(out, fmt.Sprintf("%s still carry finalizer %s; its controller is %s.", countObjects(fin.Objects), fin.Name, fin.Liveness))
		}
	}
	if len(out) > 0 {
		return out
	}
	for _, c := range r.Conditions {
		if c.Status == "True" && c.Message != "" {
			out = append(out, "The namespace controller reports: "+c.Message)
		}
	}
	switch {
	case len(out) > 0:
	case !r.Complete:
		out = append(out, "Nothing nsguard could check holds it up, but not everything was checked (see below): what was not may.")
	default:
		out = append(out, "Nothing left in the namespace holds it up: the namespace controller should finish within about 15 seconds.")
	}
	return out
}
