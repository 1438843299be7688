// Package webhook is nsguard's validating admission webhook on namespace
// DELETE: it takes a snapshot of the namespace from the shared cache,
// evaluates the same rules as lint and diagnose, and allows, allows with
// warnings, or denies with the blocker and the first safe step.
package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// Modes of the webhook.
const (
	// ModeEnforce denies deletions on findings of severity deny.
	ModeEnforce = "enforce"
	// ModeWarn allows every deletion, with every finding as a warning.
	ModeWarn = "warn"
	// ModeDryRun allows every deletion silently, and logs and counts what
	// enforce would have done.
	ModeDryRun = "dryrun"
)

// Per-rule overrides.
const (
	RuleDeny = "deny"
	RuleWarn = "warn"
	RuleOff  = "off"
)

// BreakGlassAnnotation on a namespace, with a reason, lets its deletion
// through when the requester is in a break-glass group.
const BreakGlassAnnotation = "nsguard.io/allow-deletion"

// DefaultExcludedNamespaces are never checked: Kubernetes refuses to
// delete the first three, and kube-node-lease holds only node heartbeats.
var DefaultExcludedNamespaces = []string{"default", "kube-node-lease", "kube-public", "kube-system"}

// Config is the webhook's configuration file (--config), also given to
// policies as data.nsguard.config.
type Config struct {
	// Mode is enforce, warn or dryrun (the --mode flag overrides it).
	Mode string `json:"mode,omitempty"`
	// Rules override a rule's severity: deny, warn or off.
	Rules map[string]RuleSetting `json:"rules,omitempty"`
	// Exclude lists the namespaces never checked, by name or labels.
	Exclude Exclude `json:"exclude,omitempty"`
	// BreakGlass names the groups whose members may delete a namespace
	// that carries the nsguard.io/allow-deletion annotation.
	BreakGlass BreakGlass `json:"breakGlass,omitempty"`
	// Waivers says which rules an object's ignore.nsguard.io/<rule>
	// annotation may waive at admission. The namespace's owner writes those
	// annotations, so by default none may: a waived deny finding still
	// denies. Rules listed here are lowered to a warning that names the
	// waiver. Lint honours every waiver; it runs on the owner's manifests.
	Waivers Waivers `json:"waivers,omitempty"`
}

// RuleSetting is deny, warn or off. YAML 1.1 reads an unquoted off as
// false: that is off too.
type RuleSetting string

// UnmarshalJSON takes a string, or false for off.
func (r *RuleSetting) UnmarshalJSON(b []byte) error {
	if string(b) == "false" {
		*r = RuleOff
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want deny, warn or off, got %s", b)
	}
	if s == "false" { // sigs.k8s.io/yaml turns an unquoted off into "false"
		s = RuleOff
	}
	*r = RuleSetting(s)
	return nil
}

// Exclude selects namespaces the webhook does not check.
type Exclude struct {
	// Namespaces by name; nil means DefaultExcludedNamespaces, [] none.
	Namespaces []string `json:"namespaces"`
	// Selector excludes namespaces whose labels match it.
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
}

// BreakGlass is who may force a deletion through.
type BreakGlass struct {
	Groups []string `json:"groups,omitempty"`
}

// Waivers is which rules objects may waive at admission.
type Waivers struct {
	Rules []string `json:"rules,omitempty"`
}

// LoadConfig reads and checks a configuration file; "" gives the defaults.
func LoadConfig(path string) (*Config, error) {
	if path == "" {
		c := &Config{}
		return c, c.validate()
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig reads a configuration document (YAML or JSON); unknown
// fields and invalid values are errors.
func ParseConfig(b []byte) (*Config, error) {
	var c Config
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		return nil, err
	}
	return &c, c.validate()
}

func (c *Config) validate() error {
	var errs []error
	switch c.Mode {
	case "", ModeEnforce, ModeWarn, ModeDryRun:
	default:
		errs = append(errs, fmt.Errorf("mode %q: want enforce, warn or dryrun", c.Mode))
	}
	for id, v := range c.Rules {
		switch string(v) {
		case RuleDeny, RuleWarn, RuleOff:
		default:
			errs = append(errs, fmt.Errorf("rules.%s: %q: want deny, warn or off", id, v))
		}
	}
	if c.Exclude.Selector != nil {
		if _, err := metav1.LabelSelectorAsSelector(c.Exclude.Selector); err != nil {
			errs = append(errs, fmt.Errorf("exclude.selector: %w", err))
		}
	}
	for _, g := range c.BreakGlass.Groups {
		if strings.TrimSpace(g) == "" {
			errs = append(errs, errors.New("breakGlass.groups: empty group name"))
		}
		if g == "system:authenticated" || g == "system:unauthenticated" || g == "system:serviceaccounts" {
			errs = append(errs, fmt.Errorf("breakGlass.groups: %q would let nearly anyone through", g))
		}
	}
	if c.Exclude.Namespaces == nil {
		c.Exclude.Namespaces = append([]string(nil), DefaultExcludedNamespaces...)
	}
	return errors.Join(errs...)
}

// CheckRules reports overrides of rules that do not exist (a typo would
// otherwise silently change nothing).
func (c *Config) CheckRules(known map[string]bool) error {
	var unknown []string
	for id := range c.Rules {
		if !known[id] {
			unknown = append(unknown, id)
		}
	}
	for _, id := range c.Waivers.Rules {
		if !known[id] {
			unknown = append(unknown, id)
		}
	}
	sort.Strings(unknown)
	if len(unknown) > 0 {
		return fmt.Errorf("config names unknown rules: %s (see nsguard rules)", strings.Join(unknown, ", "))
	}
	return nil
}

// excluded tells whether a namespace is not checked, and why.
func (c *Config) excluded(name string, nsLabels map[string]string) (bool, string) {
	for _, n := range c.Exclude.Namespaces {
		if n == name {
			return true, "excluded by name"
		}
	}
	if c.Exclude.Selector != nil {
		sel, err := metav1.LabelSelectorAsSelector(c.Exclude.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(nsLabels)) {
			return true, "excluded by label selector"
		}
	}
	return false, ""
}

func (c *Config) waivable(rule string) bool {
	for _, r := range c.Waivers.Rules {
		if r == rule {
			return true
		}
	}
	return false
}

// Data is the configuration as policy data (data.nsguard.config).
func (c *Config) Data() map[string]any {
	rules := map[string]any{}
	for k, v := range c.Rules {
		rules[k] = string(v)
	}
	groups := make([]any, 0, len(c.BreakGlass.Groups))
	for _, g := range c.BreakGlass.Groups {
		groups = append(groups, g)
	}
	excluded := make([]any, 0, len(c.Exclude.Namespaces))
	for _, n := range c.Exclude.Namespaces {
		excluded = append(excluded, n)
	}
	waivable := make([]any, 0, len(c.Waivers.Rules))
	for _, r := range c.Waivers.Rules {
		waivable = append(waivable, r)
	}
	return map[string]any{"nsguard": map[string]any{"config": map[string]any{
		"mode":       c.Mode,
		"rules":      rules,
		"exclude":    map[string]any{"namespaces": excluded},
		"breakGlass": map[string]any{"groups": groups},
		"waivers":    map[string]any{"rules": waivable},
	}}}
}
