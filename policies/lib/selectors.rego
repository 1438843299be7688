# Kubernetes label selectors (metav1.LabelSelector) evaluated in Rego.
package nsguard.lib.selectors

# matches(selector, labels): the selector selects an object with these
# labels. A null or empty selector matches everything; an unknown operator
# matches nothing (the API server would have rejected it).
matches(selector, labels) if {
	every k, v in match_labels(selector) {
		labels[k] == v
	}
	every e in match_expressions(selector) {
		expression_matches(e, labels)
	}
}

# empty(selector): the selector selects everything.
empty(selector) if {
	count(match_labels(selector)) == 0
	count(match_expressions(selector)) == 0
}

match_labels(s) := m if {
	is_object(s)
	m := s.matchLabels
	is_object(m)
} else := {}

match_expressions(s) := e if {
	is_object(s)
	e := s.matchExpressions
	is_array(e)
} else := []

expression_matches(e, labels) if {
	e.operator == "In"
	labels[e.key] in _values(e)
}

# NotIn also matches objects without the key.
expression_matches(e, labels) if {
	e.operator == "NotIn"
	not e.key in object.keys(labels)
}

expression_matches(e, labels) if {
	e.operator == "NotIn"
	not labels[e.key] in _values(e)
	e.key in object.keys(labels)
}

expression_matches(e, labels) if {
	e.operator == "Exists"
	e.key in object.keys(labels)
}

expression_matches(e, labels) if {
	e.operator == "DoesNotExist"
	not e.key in object.keys(labels)
}

_values(e) := v if {
	v := e.values
	is_array(v)
} else := []
