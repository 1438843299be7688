package inventory

// FieldMask says which fields of a decoded object a reader must build for
// trimming to give the same result as from the whole object: a key mapped
// to nil keeps its whole value, a key mapped to a mask keeps what that mask
// keeps (of every element, for a list), an absent key may be skipped. A nil
// FieldMask keeps everything.
//
// It lets a manifest reader skip, for instance, the containers of a pod
// template, most of a Deployment's bytes, without knowing what trimming
// keeps. TestBodyMaskKeepsWhatTrimmingReads holds it to that.
type FieldMask map[string]FieldMask

// Child returns the mask of key's value and whether key is kept at all.
func (m FieldMask) Child(key string) (FieldMask, bool) {
	if m == nil {
		return nil, true
	}
	sub, ok := m[key]
	return sub, ok
}

// Apply returns the part of v that m keeps (v itself when m is nil).
func (m FieldMask) Apply(v any) any {
	if m == nil {
		return v
	}
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(m))
		for k, sub := range m {
			if x, ok := t[k]; ok {
				out[k] = sub.Apply(x)
			}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = m.Apply(x)
		}
		return out
	}
	return v
}

// objectMeta is kept whole by every mask: NewObject reads it for every kind.
var objectMeta = FieldMask{"apiVersion": nil, "kind": nil, "metadata": nil}

// workloadMask is what trimWorkload reads.
var workloadMask = withMeta(FieldMask{
	"spec": {
		"replicas": nil,
		"selector": nil,
		"template": {
			"metadata": {"labels": nil},
			"spec":     {"serviceAccountName": nil, "serviceAccount": nil},
		},
	},
	"status": nil,
})

// bodyMasks cover the kinds whose bodies are large and mostly dropped;
// the other kinds of keptBody are read whole (nil mask).
var bodyMasks = map[gk]FieldMask{
	{"apps", "Deployment"}:  workloadMask,
	{"apps", "StatefulSet"}: workloadMask,
	{"apps", "DaemonSet"}:   workloadMask,
	{"apps", "ReplicaSet"}:  workloadMask,
	{"", "Pod"}: withMeta(FieldMask{
		"spec":   {"serviceAccountName": nil, "serviceAccount": nil, "nodeName": nil},
		"status": {"phase": nil, "conditions": nil},
	}),
}

func withMeta(m FieldMask) FieldMask {
	for k := range objectMeta {
		m[k] = nil
	}
	return m
}

// BodyMask returns the fields of an object of group/kind that a reader must
// build, for the kinds whose body rules read (KeepsBody); nil means all.
func BodyMask(group, kind string) FieldMask {
	return bodyMasks[gk{group, kind}]
}
