package lint

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"unicode"
)

// sarifFormatter writes SARIF 2.1.0 as GitHub code scanning reads it:
// tool.driver.rules with help, results with ruleId, ruleIndex, level, a
// relative artifactLocation.uri and region.startLine.
type sarifFormatter struct{}

const (
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
	sarifVersion = "2.1.0"
	// sarifFingerprint names nsguard's stable fingerprint: the rule and the
	// object, so that a finding keeps its identity when lines move.
	sarifFingerprint = "nsguardObject/v1"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Invocations []sarifInvocation `json:"invocations"`
	Results     []sarifResult     `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri,omitempty"`
	Version        string      `json:"version,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string             `json:"id"`
	Name                 string             `json:"name"`
	ShortDescription     sarifText          `json:"shortDescription"`
	FullDescription      sarifText          `json:"fullDescription"`
	Help                 sarifHelp          `json:"help"`
	HelpURI              string             `json:"helpUri,omitempty"`
	DefaultConfiguration sarifConfiguration `json:"defaultConfiguration"`
	Properties           sarifRuleProps     `json:"properties"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifHelp struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown"`
}

type sarifConfiguration struct {
	Level string `json:"level"`
}

type sarifRuleProps struct {
	Tags []string `json:"tags"`
	Live bool     `json:"live,omitempty"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          map[string]string `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifInvocation struct {
	ExecutionSuccessful        bool                `json:"executionSuccessful"`
	ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications"`
}

type sarifNotification struct {
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations,omitempty"`
}

// sarifLevel maps a severity to a SARIF level.
func sarifLevel(severity string) string {
	if severity == SeverityWarn {
		return "warning"
	}
	return "error"
}

func (sarifFormatter) Format(w io.Writer, r *Report) error {
	driver := sarifDriver{Name: r.Tool.Name, InformationURI: r.Tool.InformationURI, Version: r.Tool.Version, Rules: []sarifRule{}}
	index := map[string]int{}
	addRule := func(ru Rule) {
		index[ru.ID] = len(driver.Rules)
		driver.Rules = append(driver.Rules, sarifRuleOf(ru, r.Tool))
	}
	for _, ru := range r.Rules {
		addRule(ru)
	}
	results := make([]sarifResult, 0, len(r.Findings))
	for _, f := range r.Findings {
		i, ok := index[f.Rule]
		if !ok {
			addRule(r.rule(f.Rule))
			i = index[f.Rule]
		}
		msg := f.Summary + "\n" + f.Message
		for _, c := range f.Commands {
			msg += "\nFix: " + c
		}
		file, line := f.File, f.Line
		if file == "" && len(r.Files) > 0 {
			// Code scanning needs a location: the bundle's first file.
			file, line = r.Files[0], 1
		}
		props := map[string]string{"kind": f.Kind, "name": f.Name}
		for k, v := range map[string]string{"apiVersion": f.APIVersion, "namespace": f.Namespace, "objectNamespace": f.ObjectNamespace, "fix": strings.Join(f.Commands, "\n")} {
			if v != "" {
				props[k] = v
			}
		}
		results = append(results, sarifResult{
			RuleID:              f.Rule,
			RuleIndex:           i,
			Level:               sarifLevel(f.Severity),
			Message:             sarifText{Text: msg},
			Locations:           []sarifLocation{sarifLocationOf(file, line)},
			PartialFingerprints: map[string]string{sarifFingerprint: fingerprint(f)},
			Properties:          props,
		})
	}
	inv := sarifInvocation{ExecutionSuccessful: len(r.Errors) == 0, ToolExecutionNotifications: []sarifNotification{}}
	for _, e := range r.Errors {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sarifNotification{
			Level:     "error",
			Message:   sarifText{Text: e.Msg},
			Locations: []sarifLocation{sarifLocationOf(e.File, e.Line)},
		})
	}
	log := sarifLog{
		Schema:  sarifSchema,
		Version: sarifVersion,
		Runs:    []sarifRun{{Tool: sarifTool{Driver: driver}, Invocations: []sarifInvocation{inv}, Results: results}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(log)
}

func sarifRuleOf(ru Rule, tool Tool) sarifRule {
	title := ru.Title
	if title == "" {
		title = ru.ID
	}
	desc := ru.Description
	if desc == "" {
		desc = title
	}
	help := sarifHelp{Text: desc, Markdown: "**" + title + "**\n\n" + desc}
	var helpURI string
	if tool.RulesURI != "" {
		helpURI = tool.RulesURI + "#" + ru.ID
		help.Text += "\n\nSee " + helpURI
		help.Markdown += "\n\n[Rule reference](" + helpURI + ")"
	}
	tags := []string{"kubernetes", "namespace-deletion"}
	return sarifRule{
		ID:                   ru.ID,
		Name:                 pascalCase(ru.ID),
		ShortDescription:     sarifText{Text: title},
		FullDescription:      sarifText{Text: desc},
		Help:                 help,
		HelpURI:              helpURI,
		DefaultConfiguration: sarifConfiguration{Level: sarifLevel(ru.Severity)},
		Properties:           sarifRuleProps{Tags: tags, Live: ru.Live},
	}
}

func sarifLocationOf(file string, line int) sarifLocation {
	loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: sarifURI(file)}}}
	loc.PhysicalLocation.Region = &sarifRegion{StartLine: max(line, 1)}
	return loc
}

// sarifURI turns a file name into a relative URI reference: forward
// slashes, no leading "./", each segment escaped. Absolute paths (files
// outside the working directory) become file:// URIs.
func sarifURI(file string) string {
	if file == "" {
		return "(bundle)"
	}
	p := filepath.ToSlash(file)
	abs := strings.HasPrefix(p, "/")
	for strings.HasPrefix(p, "./") {
		p = p[2:]
	}
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	out := strings.Join(segs, "/")
	if abs {
		return "file:///" + out
	}
	return out
}

// fingerprint identifies a finding by rule and object, not by line.
func fingerprint(f Finding) string {
	h := sha256.Sum256([]byte(strings.Join([]string{f.Rule, f.APIVersion, f.Kind, f.ObjectNamespace, f.Name, f.Namespace}, "\x00")))
	return hex.EncodeToString(h[:16])
}

// pascalCase turns "controller-in-namespace" into "ControllerInNamespace",
// the form SARIF suggests for rule names.
func pascalCase(id string) string {
	var b strings.Builder
	up := true
	for _, r := range id {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			up = true
			continue
		}
		if up {
			r = unicode.ToUpper(r)
			up = false
		}
		b.WriteRune(r)
	}
	return b.String()
}
