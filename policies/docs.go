package policies

import (
	"bytes"
	"fmt"
	"strings"
)

// RulesMarkdown renders the rule reference, docs/rules.md, from the rules'
// metadata. Example manifests are linked for the rules that run in lint
// (examples/<rule-id>.yaml).
func RulesMarkdown(rules []Rule) []byte {
	var b bytes.Buffer
	b.WriteString(`# Rule reference

<!-- Generated from the rules' METADATA by ` + "`make docs`" + ` (go run ./hack/gendocs). Do not edit. -->

Every rule is a Rego package in [policies/](../policies/) with its tests beside
it. ` + "`nsguard rules`" + ` lists them, with your own rules when given ` + "`--policy DIR`" + `.

- **Severity**: ` + "`deny`" + ` findings make ` + "`nsguard lint`" + ` fail by default (` + "`--fail-on`" + `);
  ` + "`warn`" + ` findings are reported. A finding may carry a stronger or weaker
  severity than its rule's default (for example ` + "`controller-in-namespace`" + `
  before Kubernetes 1.34).
- **Live** rules need facts that only a cluster has (controller liveness,
  APIService availability, Service endpoints, namespace conditions). They
  run in ` + "`nsguard diagnose`" + ` and never fire in ` + "`nsguard lint`" + `.
- **Waivers**: an object waives a rule with the annotation
  ` + "`ignore.nsguard.io/<rule-id>: \"<reason>\"`" + `. A waiver without a reason
  waives nothing and is reported by ` + "`waiver-without-reason`" + `.

The input the rules read is described in [policy-input.md](policy-input.md).

| Rule | Severity | Live | Finds |
| --- | --- | --- | --- |
`)
	for _, r := range rules {
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s | %s | %s |\n", r.ID, r.ID, r.Severity, yesNo(r.Live), mdEscape(r.Title))
	}
	for _, r := range rules {
		fmt.Fprintf(&b, "\n## %s\n\n**%s**\n\n", r.ID, mdEscape(r.Title))
		fmt.Fprintf(&b, "- Severity: `%s`\n", r.Severity)
		if r.Live {
			b.WriteString("- Live: yes — runs on clusters (`nsguard diagnose`), never in `nsguard lint`\n")
		} else {
			b.WriteString("- Live: no — runs in `nsguard lint` and on clusters\n")
		}
		test := strings.TrimSuffix(r.File, ".rego") + "_test.rego"
		fmt.Fprintf(&b, "- Policy: `%s` in [%s](../%s), tests in [%s](../%s)\n", r.Package, r.File, r.File, test, test)
		if !r.Live {
			fmt.Fprintf(&b, "- Example: [examples/%s.yaml](../examples/%s.yaml)\n", r.ID, r.ID)
		}
		fmt.Fprintf(&b, "- Waiver: `ignore.nsguard.io/%s: \"<reason>\"`\n", r.ID)
		if r.Description != "" {
			fmt.Fprintf(&b, "\n%s\n", r.Description)
		}
	}
	return b.Bytes()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// mdEscape keeps a title from breaking a table row.
func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
