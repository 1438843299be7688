package actions

import (
	"encoding/json"
	"strings"
	"testing"
)

func widget(name string) Target {
	return Target{Group: "example.com", Version: "v1", Resource: "widgets", Kind: "Widget", Namespace: "shop", Name: name, UID: "1f0c-22"}
}

func TestCommand(t *testing.T) {
	one := int32(1)
	for _, tc := range []struct {
		a    Action
		want string
	}{
		{Action{Type: RemoveFinalizer, Target: widget("w1"), Finalizer: "example.com/cleanup", Index: 1},
			`kubectl patch widgets.example.com w1 -n shop --type=json -p '[{"op":"test","path":"/metadata/uid","value":"1f0c-22"},{"op":"test","path":"/metadata/finalizers/1","value":"example.com/cleanup"},{"op":"remove","path":"/metadata/finalizers/1"}]'`},
		{Action{Type: DeleteObject, Target: widget("w1")}, "kubectl delete widgets.example.com w1 -n shop"},
		{Action{Type: DeleteAll, Target: Target{Group: "example.com", Version: "v1", Resource: "widgets", Namespace: "shop"}}, "kubectl delete widgets.example.com --all -n shop --wait=true"},
		{Action{Type: DeleteAPIService, Target: Target{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices", Name: "v1beta1.metrics.k8s.io"}},
			"kubectl delete apiservices.apiregistration.k8s.io v1beta1.metrics.k8s.io"},
		{Action{Type: PatchWebhookFailurePolicy, Target: Target{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingwebhookconfigurations", Name: "policy"}, Webhook: "validate.example.com", Index: 2, FailurePolicy: "Ignore"},
			`kubectl patch validatingwebhookconfigurations.admissionregistration.k8s.io policy --type=json -p '[{"op":"test","path":"/webhooks/2/name","value":"validate.example.com"},{"op":"replace","path":"/webhooks/2/failurePolicy","value":"Ignore"}]'`},
		{Action{Type: ScaleWorkload, Target: Target{Group: "apps", Version: "v1", Resource: "deployments", Namespace: "keda", Name: "keda-operator"}, Replicas: &one},
			"kubectl scale deployments.apps keda-operator -n keda --replicas=1"},
		{Action{Type: SetConversionNone, Target: Target{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions", Name: "widgets.example.com"}},
			`kubectl patch customresourcedefinitions.apiextensions.k8s.io widgets.example.com --type=json -p '[{"op":"replace","path":"/spec/conversion","value":{"strategy":"None"}}]'`},
	} {
		got, err := Command(tc.a)
		if err != nil || got != tc.want {
			t.Errorf("Command(%s) = %q, %v\nwant %q", tc.a.Type, got, err, tc.want)
		}
	}
}

// What nsguard never does cannot be expressed: every way of asking for it
// fails validation, so it is neither rendered nor executed.
func TestForbiddenStepsDoNotValidate(t *testing.T) {
	ns := Target{Version: "v1", Resource: "namespaces", Kind: "Namespace", Name: "shop"}
	crb := Target{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings", Name: "anonymous-admin"}
	crd := Target{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions", Name: "widgets.example.com"}
	for name, a := range map[string]Action{
		"unknown type":                         {Type: "finalize", Target: ns},
		"delete a namespace":                   {Type: DeleteObject, Target: ns},
		"delete every namespace":               {Type: DeleteAll, Target: Target{Version: "v1", Resource: "namespaces"}},
		"delete RBAC":                          {Type: DeleteObject, Target: crb},
		"delete a CRD (and all its objects)":   {Type: DeleteObject, Target: crd},
		"remove-finalizer without a name":      {Type: RemoveFinalizer, Target: widget("w1")},
		"remove-finalizer at a negative index": {Type: RemoveFinalizer, Target: widget("w1"), Finalizer: "x", Index: -1},
		"shell in a name":                      {Type: DeleteObject, Target: widget("w1; kubectl proxy")},
		"quote in a finalizer":                 {Type: RemoveFinalizer, Target: widget("w1"), Finalizer: "a'b"},
		"delete-apiservice of something else":  {Type: DeleteAPIService, Target: widget("w1")},
		"failurePolicy other than Ignore/Fail": {Type: PatchWebhookFailurePolicy, Target: Target{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingwebhookconfigurations", Name: "p"}, Webhook: "w", FailurePolicy: "Skip"},
	} {
		if err := a.Validate(); err == nil {
			t.Errorf("%s: validates", name)
		}
		if c, err := Command(a); err == nil {
			t.Errorf("%s: rendered as %q", name, c)
		}
	}
}

// A removal's patch tests the UID and the value before it removes, so it
// never removes another finalizer or touches another object.
func TestJSONPatchTestsFirst(t *testing.T) {
	a := Action{Type: RemoveFinalizer, Target: widget("w1"), Finalizer: "example.com/cleanup", Index: 0}
	var ops []map[string]any
	if err := json.Unmarshal(a.JSONPatch(), &ops); err != nil {
		t.Fatal(err)
	}
	if len(ops) != 3 || ops[0]["op"] != "test" || ops[0]["path"] != "/metadata/uid" || ops[1]["op"] != "test" || ops[2]["op"] != "remove" {
		t.Errorf("patch = %v", ops)
	}
	if (Action{Type: DeleteObject, Target: widget("w1")}).JSONPatch() != nil {
		t.Error("delete-object has a patch")
	}
}

func TestCommandsMergesDeleteAll(t *testing.T) {
	all := func(r string) Action {
		return Action{Type: DeleteAll, Target: Target{Group: "example.com", Version: "v1", Resource: r, Namespace: "shop"}}
	}
	got, err := Commands([]Action{all("widgets"), all("gadgets"), all("widgets"), {Type: DeleteObject, Target: widget("w1")}})
	if err != nil {
		t.Fatal(err)
	}
	want := "kubectl delete gadgets.example.com,widgets.example.com --all -n shop --wait=true\nkubectl delete widgets.example.com w1 -n shop"
	if strings.Join(got, "\n") != want {
		t.Errorf("Commands = %q", got)
	}
}
