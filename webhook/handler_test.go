package webhook

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// review is an AdmissionReview as the API server sends it.
func review(op admissionv1.Operation, resource metav1.GroupVersionResource, kind metav1.GroupVersionKind, old string) []byte {
	ar := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: "3a7c", Kind: kind, Resource: resource, Operation: op, Name: "shop",
			UserInfo: authenticationv1.UserInfo{Username: "bob", Groups: []string{"developers"}},
		},
	}
	if old != "" {
		ar.Request.OldObject = runtime.RawExtension{Raw: []byte(old)}
	}
	b, err := json.Marshal(ar)
	if err != nil {
		panic(err)
	}
	return b
}

var (
	namespacesGVR = metav1.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	namespaceGVK  = metav1.GroupVersionKind{Version: "v1", Kind: "Namespace"}
	shopJSON      = `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}}`
)

// post sends body to the webhook and decodes its AdmissionReview answer.
func post(t *testing.T, srv *httptest.Server, contentType string, body []byte) (int, *admissionv1.AdmissionResponse) {
	t.Helper()
	resp, err := http.Post(srv.URL+Path, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ar admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&ar); err != nil {
		t.Fatalf("the answer is not an AdmissionReview: %v", err)
	}
	if ar.Response == nil {
		t.Fatal("AdmissionReview without a response")
	}
	return resp.StatusCode, ar.Response
}

func testServer(t *testing.T, src *fakeSource) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(Path, NewWebhook(decider(t, src, ModeEnforce, "")))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// Bad input gets a clear 4xx answer, or an allowed one where the API says
// so, and the server keeps serving.
func TestHandlerInput(t *testing.T) {
	src := &fakeSource{docs: operatorInNamespace}
	srv := testServer(t, src)
	cases := []struct {
		name        string
		contentType string
		body        []byte
		allowed     bool
		code        int32
		message     string
	}{
		{"a namespace DELETE that would hang", "application/json", review(admissionv1.Delete, namespacesGVR, namespaceGVK, shopJSON), false, http.StatusForbidden, "controller-in-namespace"},
		{"malformed", "application/json", []byte(`{"apiVersion":`), false, http.StatusBadRequest, ""},
		{"truncated", "application/json", review(admissionv1.Delete, namespacesGVR, namespaceGVK, shopJSON)[:100], false, http.StatusBadRequest, ""},
		{"empty body", "application/json", nil, false, http.StatusBadRequest, "request body is empty"},
		{"not JSON", "text/plain", []byte("hello"), false, http.StatusBadRequest, "expected application/json"},
		{"huge body", "application/json", bytes.Repeat([]byte(" "), 8<<20), false, http.StatusRequestEntityTooLarge, "too large"},
		{"another resource", "application/json", review(admissionv1.Delete, metav1.GroupVersionResource{Version: "v1", Resource: "pods"}, metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, `{"kind":"Pod"}`), true, http.StatusOK, "namespace deletions only"},
		{"a wrong kind", "application/json", review(admissionv1.Delete, namespacesGVR, metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, shopJSON), true, http.StatusOK, "namespace deletions only"},
		{"a subresource", "application/json", func() []byte {
			var ar admissionv1.AdmissionReview
			_ = json.Unmarshal(review(admissionv1.Delete, namespacesGVR, namespaceGVK, shopJSON), &ar)
			ar.Request.SubResource = "finalize"
			b, _ := json.Marshal(ar)
			return b
		}(), true, http.StatusOK, "namespace deletions only"},
		{"another operation", "application/json", review(admissionv1.Create, namespacesGVR, namespaceGVK, shopJSON), true, http.StatusOK, ""},
		{"a DELETE without the old object", "application/json", review(admissionv1.Delete, namespacesGVR, namespaceGVK, ""), false, http.StatusBadRequest, "without oldObject"},
		{"an old object that is not a namespace", "application/json", review(admissionv1.Delete, namespacesGVR, namespaceGVK, `{"metadata":"x"}`), false, http.StatusBadRequest, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, r := post(t, srv, tc.contentType, tc.body)
			code := int32(http.StatusOK)
			msg := ""
			if r.Result != nil {
				code, msg = r.Result.Code, r.Result.Message
			}
			if r.Allowed != tc.allowed || code != tc.code || !strings.Contains(msg, tc.message) {
				t.Errorf("allowed %v, code %d, message %q; want %v, %d, containing %q", r.Allowed, code, msg, tc.allowed, tc.code, tc.message)
			}
		})
	}
}

// The break-glass audit annotation reaches the admission response.
func TestHandlerAuditAnnotation(t *testing.T) {
	d := decider(t, &fakeSource{docs: operatorInNamespace}, ModeEnforce, "breakGlass: {groups: [developers]}")
	mux := http.NewServeMux()
	mux.Handle(Path, NewWebhook(d))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	old := `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop","annotations":{"nsguard.io/allow-deletion":"decommissioned"}}}`
	_, r := post(t, srv, "application/json", review(admissionv1.Delete, namespacesGVR, namespaceGVK, old))
	if !r.Allowed || !strings.Contains(r.AuditAnnotations["nsguard.io/break-glass"], "bob (groups developers): decommissioned") {
		t.Errorf("allowed %v, audit %v; want allowed with the break-glass audit annotation", r.Allowed, r.AuditAnnotations)
	}
	if len(r.Warnings) == 0 {
		t.Error("no warning says break-glass was used")
	}
}
