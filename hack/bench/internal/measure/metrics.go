package measure

import (
	"fmt"
	"strconv"
	"strings"
)

// MetricSum sums the samples of one metric in Prometheus' text format
// (every label set), and says whether there was any.
func MetricSum(text, name string) (float64, bool) {
	var sum float64
	found := false
	for _, s := range MetricSamples(text, name) {
		sum += s.Value
		found = true
	}
	return sum, found
}

// MetricSample is one sample of a metric: its labels and its value.
type MetricSample struct {
	Labels map[string]string
	Value  float64
}

// MetricSamples returns the samples of one metric in Prometheus' text
// format, with their labels. Lines that do not parse are skipped.
func MetricSamples(text, name string) []MetricSample {
	var out []MetricSample
	for line := range strings.SplitSeq(text, "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		labels := map[string]string{}
		if rest[0] == '{' {
			var ok bool
			if labels, rest, ok = parseLabels(rest[1:]); !ok {
				continue
			}
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		out = append(out, MetricSample{Labels: labels, Value: v})
	}
	return out
}

// parseLabels reads `k="v",k2="v2"}` (the opening brace already read) and
// returns the labels and what follows the closing brace. Values may hold
// the escapes \\, \" and \n.
func parseLabels(s string) (map[string]string, string, bool) {
	labels := map[string]string{}
	for {
		s = strings.TrimLeft(s, " ,")
		if strings.HasPrefix(s, "}") {
			return labels, s[1:], true
		}
		k, rest, ok := strings.Cut(s, `="`)
		if !ok {
			return nil, "", false
		}
		var v strings.Builder
		i := 0
		for ; i < len(rest) && rest[i] != '"'; i++ {
			if rest[i] == '\\' && i+1 < len(rest) {
				i++
				if rest[i] == 'n' {
					v.WriteByte('\n')
					continue
				}
			}
			v.WriteByte(rest[i])
		}
		if i == len(rest) {
			return nil, "", false
		}
		labels[strings.TrimSpace(k)] = v.String()
		s = rest[i+1:]
	}
}

// ParseSizes reads a comma-separated list of positive integers, the value
// of flag.
func ParseSizes(flag, s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-%s: %q is not a positive number", flag, f)
		}
		out = append(out, n)
	}
	return out, nil
}
