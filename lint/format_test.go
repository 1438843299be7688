package lint

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"github.com/nsguard/nsguard/actions"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// sampleReport has what every format must handle: both severities, a fix,
// a cluster-scoped object, characters that need escaping, an input error,
// a clean file and an object without findings.
func sampleReport() *Report {
	r := &Report{
		Tool: Tool{Name: "nsguard", Version: "v0.1.0", InformationURI: "https://github.com/nsguard/nsguard", RulesURI: "https://github.com/nsguard/nsguard/blob/main/docs/rules.md"},
		Rules: []Rule{
			{ID: "controller-in-namespace", Severity: SeverityDeny, Title: "Controller runs in the namespace it finalizes", Description: "Deleting the namespace deletes the controller first; its objects keep their finalizers."},
			{ID: "conversion-webhook-in-namespace", Severity: SeverityDeny, Title: "CRD conversion webhook served from a deletable namespace", Description: "Once the webhook's pod is gone, the CRD's objects cannot be read or deleted."},
			{ID: "hardcoded-finalizer", Severity: SeverityWarn, Title: "Manifest sets metadata.finalizers", Description: "A finalizer set by hand needs a controller to remove it."},
			{ID: "stale-finalizer-controller", Severity: SeverityDeny, Title: "Finalizer controller gone", Description: "Needs a live cluster.", Live: true},
		},
		Files: []string{"deploy/app.yaml", "deploy/crds/widgets.yaml", "clean.yaml", "broken.yaml"},
		Objects: []Object{
			{File: "deploy/app.yaml", Line: 1, APIVersion: "v1", Kind: "Namespace", Name: "shop"},
			{File: "deploy/app.yaml", Line: 8, APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "operator"},
			{File: "deploy/app.yaml", Line: 40, APIVersion: "example.com/v1", Kind: "Widget", Namespace: "shop", Name: "w<1>"},
			{File: "deploy/crds/widgets.yaml", Line: 2, APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition", Name: "widgets.example.com"},
			{File: "clean.yaml", Line: 1, APIVersion: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "settings"},
		},
		Findings: []Finding{
			{Rule: "hardcoded-finalizer", Severity: SeverityWarn, Summary: "Widget shop/w<1> sets finalizer example.com/cleanup in its manifest", Message: "Widget shop/w<1> sets finalizer \"example.com/cleanup\" & nothing else removes it.", File: "deploy/app.yaml", Line: 40, APIVersion: "example.com/v1", Kind: "Widget", Name: "w<1>", Namespace: "shop", ObjectNamespace: "shop"},
			{Rule: "controller-in-namespace", Severity: SeverityDeny, Summary: "Deployment shop/operator handles example.com/cleanup but dies first when shop is deleted", Message: "Deployment shop/operator removes finalizer example.com/cleanup from Widgets in shop, but deleting shop deletes the operator first.",
				Actions:  []actions.Action{{Type: actions.DeleteAll, Target: actions.Target{Group: "example.com", Version: "v1", Resource: "widgets", Kind: "Widget", Namespace: "shop"}}},
				Commands: []string{"kubectl delete widgets.example.com --all -n shop --wait=true"}, File: "deploy/app.yaml", Line: 8, APIVersion: "apps/v1", Kind: "Deployment", Name: "operator", Namespace: "shop", ObjectNamespace: "shop"},
			{Rule: "conversion-webhook-in-namespace", Severity: SeverityDeny, Summary: "CRD widgets.example.com converts through a webhook in shop", Message: "CRD widgets.example.com converts through service shop/webhook.", File: "deploy/crds/widgets.yaml", Line: 2, APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition", Name: "widgets.example.com", Namespace: "shop"},
		},
		Errors: []*InputError{{File: "broken.yaml", Line: 3, Msg: "did not find expected ',' or ']'"}},
	}
	r.Sort()
	return r
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./lint -run TestFormats -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./lint -run TestFormats -update to accept):\n%s", name, got)
	}
}

func format(t *testing.T, name string, opts FormatOptions, r *Report) []byte {
	t.Helper()
	f, err := NewFormatter(name, opts)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Format(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFormats(t *testing.T) {
	for _, tc := range []struct {
		format, golden string
		opts           FormatOptions
		report         *Report
	}{
		{"text", "report.txt", FormatOptions{}, sampleReport()},
		{"text", "report-color.txt", FormatOptions{Color: true}, sampleReport()},
		{"json", "report.json", FormatOptions{}, sampleReport()},
		{"sarif", "report.sarif", FormatOptions{}, sampleReport()},
		{"junit", "report.xml", FormatOptions{}, sampleReport()},
		{"text", "clean.txt", FormatOptions{}, cleanReport()},
		{"json", "clean.json", FormatOptions{}, cleanReport()},
		{"sarif", "clean.sarif", FormatOptions{}, cleanReport()},
		{"junit", "clean.xml", FormatOptions{}, cleanReport()},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			out := format(t, tc.format, tc.opts, tc.report)
			golden(t, tc.golden, out)
			switch tc.format {
			case "json", "sarif":
				var v any
				if err := json.Unmarshal(out, &v); err != nil {
					t.Fatalf("invalid JSON: %v", err)
				}
			case "junit":
				var v junitSuites
				if err := xml.Unmarshal(out, &v); err != nil {
					t.Fatalf("invalid XML: %v", err)
				}
			}
		})
	}
}

func cleanReport() *Report {
	r := sampleReport()
	r.Findings, r.Errors = nil, nil
	r.Files = r.Files[:3]
	return r
}

func TestUnknownFormat(t *testing.T) {
	for _, name := range []string{"yaml", "", "TEXT", "sarif2"} {
		if _, err := NewFormatter(name, FormatOptions{}); err == nil {
			t.Errorf("NewFormatter(%q) succeeded, want an error", name)
		}
	}
}

func TestJSONArraysNeverNull(t *testing.T) {
	out := format(t, "json", FormatOptions{}, &Report{})
	var v map[string]any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"findings", "errors"} {
		if _, ok := v[k].([]any); !ok {
			t.Errorf("%s = %#v, want an array", k, v[k])
		}
	}
}

// TestSARIFShape checks what GitHub code scanning requires of an upload.
func TestSARIFShape(t *testing.T) {
	var log struct {
		Schema  string `json:"$schema"`
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID                   string         `json:"id"`
						ShortDescription     map[string]any `json:"shortDescription"`
						Help                 map[string]any `json:"help"`
						DefaultConfiguration struct {
							Level string `json:"level"`
						} `json:"defaultConfiguration"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Message   struct {
					Text string `json:"text"`
				} `json:"message"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	r := sampleReport()
	r.Findings[0].File = "./deploy/my app.yaml"
	if err := json.Unmarshal(format(t, "sarif", FormatOptions{}, r), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || log.Schema == "" || len(log.Runs) != 1 || log.Runs[0].Tool.Driver.Name != "nsguard" {
		t.Fatalf("bad envelope: %+v", log)
	}
	rules := log.Runs[0].Tool.Driver.Rules
	for _, ru := range rules {
		if ru.ID == "" || ru.ShortDescription["text"] == "" || ru.Help["text"] == "" || ru.Help["markdown"] == "" || ru.DefaultConfiguration.Level == "" {
			t.Errorf("rule %+v lacks required metadata", ru)
		}
	}
	for _, res := range log.Runs[0].Results {
		if res.RuleIndex < 0 || res.RuleIndex >= len(rules) || rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("result %s has ruleIndex %d", res.RuleID, res.RuleIndex)
		}
		if res.Level != "error" && res.Level != "warning" || res.Message.Text == "" || len(res.Locations) != 1 {
			t.Errorf("bad result %+v", res)
		}
		loc := res.Locations[0].PhysicalLocation
		if loc.Region.StartLine < 1 || loc.ArtifactLocation.URI == "" || loc.ArtifactLocation.URI[0] == '.' || loc.ArtifactLocation.URI[0] == '/' {
			t.Errorf("bad location %+v", loc)
		}
	}
	if got := log.Runs[0].Results[0].Locations[0].PhysicalLocation.ArtifactLocation.URI; got != "deploy/my%20app.yaml" {
		t.Errorf("uri = %q, want deploy/my%%20app.yaml", got)
	}
}

func TestExitCode(t *testing.T) {
	deny := Finding{Severity: SeverityDeny}
	warn := Finding{Severity: SeverityWarn}
	for _, tc := range []struct {
		findings []Finding
		errs     int
		failOn   FailOn
		want     int
	}{
		{nil, 0, FailOnDeny, ExitOK},
		{[]Finding{warn}, 0, FailOnDeny, ExitOK},
		{[]Finding{warn}, 0, FailOnWarn, ExitFindings},
		{[]Finding{deny}, 0, FailOnDeny, ExitFindings},
		{[]Finding{deny}, 0, FailOnNever, ExitOK},
		{[]Finding{deny}, 1, FailOnNever, ExitInput},
		{nil, 1, FailOnDeny, ExitInput},
	} {
		r := &Report{Findings: tc.findings}
		for range tc.errs {
			r.Errors = append(r.Errors, &InputError{File: "f", Msg: "bad"})
		}
		if got := ExitCode(r, tc.failOn); got != tc.want {
			t.Errorf("findings %v, %d errors, --fail-on %s: exit %d, want %d", tc.findings, tc.errs, tc.failOn, got, tc.want)
		}
	}
	if _, err := ParseFailOn("error"); err == nil {
		t.Error("ParseFailOn(error) succeeded")
	}
}
