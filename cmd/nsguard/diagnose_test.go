package main

import (
	"bytes"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

// The command against a real cluster is tested in test/e2e; these are the
// usage errors it reports before it connects to anything.
func TestDiagnoseUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"diagnose"}, "which namespace?"},
		{[]string{"diagnose", "a", "-n", "b"}, "namespace given twice"},
		{[]string{"diagnose", "a", "b"}, "accepts at most 1 arg"},
		{[]string{"diagnose", "a", "-o", "yaml"}, `unknown output format "yaml"`},
		{[]string{"diagnose", "a", "--color", "sometimes"}, `unknown --color "sometimes"`},
		{[]string{"diagnose", "a", "--workers", "0"}, "--workers must be at least 1"},
		{[]string{"diagnose", "a", "--kubeconfig", "/nonexistent/kubeconfig"}, "load kubeconfig"},
	} {
		var out, errOut bytes.Buffer
		code := run(c.args, &streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
		if code != exitUsage || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("nsguard %s: exit %d, stderr %q; want exit %d and %q", strings.Join(c.args, " "), code, errOut.String(), exitUsage, c.want)
		}
	}
}

func TestDiagnoseNamespace(t *testing.T) {
	for _, c := range []struct {
		args    []string
		flag    string
		want    string
		wantErr bool
	}{
		{args: []string{"shop"}, want: "shop"},
		{flag: "shop", want: "shop"}, // -n alone, as kubectl users type it
		{args: []string{"shop"}, flag: "shop", want: "shop"},
		{args: []string{"shop"}, flag: "other", wantErr: true},
		{wantErr: true},
	} {
		o := &diagnoseOptions{overrides: &clientcmd.ConfigOverrides{}}
		o.overrides.Context.Namespace = c.flag
		got, err := o.namespace(c.args)
		if got != c.want || (err != nil) != c.wantErr {
			t.Errorf("args %q -n %q: %q, %v; want %q (error %v)", c.args, c.flag, got, err, c.want, c.wantErr)
		}
	}
}
