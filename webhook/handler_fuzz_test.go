package webhook

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
)

// FuzzHandler feeds arbitrary bodies to the webhook. Invariants: no panic;
// every answer is an AdmissionReview with a response; a refusal carries a
// 4xx code (403 for a denial, 400 or 413 for bad input); and nothing but a
// namespace DELETE is ever refused for what it would do.
//
// Seeds are below and in testdata/fuzz/FuzzHandler; run longer with
//
//	go test -run '^$' -fuzz '^FuzzHandler$' -fuzztime 1m ./webhook
func FuzzHandler(f *testing.F) {
	f.Add(review(admissionv1.Delete, namespacesGVR, namespaceGVK, shopJSON))
	f.Add(review(admissionv1.Update, namespacesGVR, namespaceGVK, shopJSON))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1","operation":"DELETE","resource":{"version":"v1","resource":"namespaces"},"kind":{"version":"v1","kind":"Namespace"},"oldObject":{"metadata":{"name":"x","deletionTimestamp":"2026-01-01T00:00:00Z"}}}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"1","operation":"DELETE"}}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	d := decider(f, &fakeSource{docs: operatorInNamespace}, ModeEnforce, "")
	h := NewWebhook(d)
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var ar admissionv1.AdmissionReview
		if err := json.Unmarshal(rec.Body.Bytes(), &ar); err != nil || ar.Response == nil {
			t.Fatalf("answer is not an AdmissionReview with a response (%v): %s", err, rec.Body.String())
		}
		r := ar.Response
		if r.Allowed {
			return
		}
		if r.Result == nil || r.Result.Code < 400 || r.Result.Code > 499 {
			t.Fatalf("a refusal without a 4xx code: %+v", r.Result)
		}
		if r.Result.Code == http.StatusForbidden {
			var in admissionv1.AdmissionReview
			if json.Unmarshal(body, &in) != nil || in.Request == nil || in.Request.Operation != admissionv1.Delete || in.Request.Resource.Resource != "namespaces" {
				t.Fatalf("denied something that is not a namespace DELETE: %s", body)
			}
		}
	})
}
