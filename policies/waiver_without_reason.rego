# METADATA
# title: Waiver annotation without a reason
# description: >-
#   An object carries ignore.nsguard.io/<rule> with an empty value. A waiver
#   needs a reason, so that the next reader knows why the rule does not apply;
#   without one it waives nothing. Fix: write the reason as the annotation's
#   value.
# custom:
#   id: waiver-without-reason
#   severity: warn
#   live: false
package nsguard.rules.waiver_without_reason

import data.nsguard.lib.k8s

findings contains f if {
	some w in input.index.waivers
	trim_space(w.reason) == ""
	f := {
		"msg": sprintf(
			"%s: annotation ignore.nsguard.io/%s has no reason, so it waives nothing. Write why the rule does not apply as its value.",
			[k8s.describe(w.ref), w.rule],
		),
		"summary": k8s.summary([
			sprintf("%s: waiver ignore.nsguard.io/%s has no reason", [k8s.describe(w.ref), w.rule]),
			sprintf("%s %s: waiver ignore.nsguard.io/%s has no reason", [w.ref.kind, w.ref.name, w.rule]),
			sprintf("%s: waiver without a reason", [k8s.describe(w.ref)]),
		]),
		"object": w.ref,
		"namespace": object.get(w.ref, "namespace", ""),
	}
}
