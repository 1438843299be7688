package diagnose

import (
	"fmt"
	"strings"

	"github.com/nsguard/nsguard/inventory"
	"github.com/nsguard/nsguard/policies"
)

// findingGroup is the findings of one rule and severity whose messages
// differ only in the object they name: the 200 custom resources that keep
// one orphaned finalizer are one cause, said once.
type findingGroup struct {
	// first is the first finding of the group, in the order given.
	first   policies.Finding
	objects []inventory.ObjectRef
}

// groupFindings groups findings in the order of their first appearance.
func groupFindings(fs []policies.Finding) []findingGroup {
	var groups []findingGroup
	index := map[string]int{}
	for _, f := range fs {
		key := f.Rule + "\x00" + f.Severity + "\x00" + strings.ReplaceAll(f.Message, objectWords(f.Object), "\x00")
		if i, ok := index[key]; ok {
			groups[i].objects = append(groups[i].objects, f.Object)
			continue
		}
		index[key] = len(groups)
		groups = append(groups, findingGroup{first: f, objects: []inventory.ObjectRef{f.Object}})
	}
	return groups
}

// objectWords is how messages name an object: "Kind namespace/name", or
// "Kind name" when it is cluster-scoped.
func objectWords(r inventory.ObjectRef) string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

// others names the objects of the group beyond the first, at most max of
// them.
func (g findingGroup) others(max int) string {
	rest := g.objects[1:]
	names := make([]string, 0, min(len(rest), max))
	for _, o := range rest[:min(len(rest), max)] {
		names = append(names, objectWords(o))
	}
	s := strings.Join(names, ", ")
	if len(rest) > max {
		s += fmt.Sprintf(" and %d more", len(rest)-max)
	}
	return s
}
