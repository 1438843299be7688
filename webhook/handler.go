package webhook

import (
	"context"
	"errors"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// Path is where the webhook serves.
const Path = "/validate-namespace-delete"

// Validator is the typed controller-runtime validator of Namespaces: only
// DELETE is checked, on the old object (the namespace as it is).
type Validator struct {
	Decider *Decider
}

var _ admission.Validator[*corev1.Namespace] = (*Validator)(nil)

// ValidateCreate allows: nsguard checks deletions only.
func (v *Validator) ValidateCreate(context.Context, *corev1.Namespace) (admission.Warnings, error) {
	return nil, nil
}

// ValidateUpdate allows: nsguard checks deletions only.
func (v *Validator) ValidateUpdate(context.Context, *corev1.Namespace, *corev1.Namespace) (admission.Warnings, error) {
	return nil, nil
}

// ValidateDelete decides on the deletion of ns.
func (v *Validator) ValidateDelete(ctx context.Context, ns *corev1.Namespace) (admission.Warnings, error) {
	var r Request
	if req, err := admission.RequestFromContext(ctx); err == nil {
		r = Request{User: req.UserInfo.Username, Groups: req.UserInfo.Groups, DryRun: req.DryRun != nil && *req.DryRun}
	}
	dec := v.Decider.Decide(ctx, r, ns)
	if rec, ok := ctx.Value(recordKey{}).(*record); ok {
		rec.audit = dec.Audit
	}
	if !dec.Allowed {
		return dec.Warnings, errors.New(dec.Message)
	}
	return dec.Warnings, nil
}

// NewWebhook returns the admission webhook for Path: the typed validator,
// behind a guard that lets through, untouched, any request that is not a
// namespace DELETE (a misconfigured webhook must not break other
// requests), and that puts the decision's audit annotations on the
// response.
func NewWebhook(d *Decider) *admission.Webhook {
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	typed := admission.WithValidator[*corev1.Namespace](scheme, &Validator{Decider: d})
	recover := true
	return &admission.Webhook{Handler: &guard{inner: typed.Handler}, RecoverPanic: &recover}
}

type recordKey struct{}

// record carries what ValidateDelete decided that the typed interface has
// no room for.
type record struct{ audit map[string]string }

type guard struct{ inner admission.Handler }

func (g *guard) Handle(ctx context.Context, req admission.Request) admission.Response {
	if req.Resource.Group != "" || req.Resource.Resource != "namespaces" || req.SubResource != "" || req.Kind.Kind != "Namespace" {
		return admission.Allowed("nsguard checks namespace deletions only")
	}
	if req.Operation != admissionv1.Delete {
		return admission.Allowed("nsguard checks namespace deletions only")
	}
	if len(req.OldObject.Raw) == 0 {
		return admission.Errored(http.StatusBadRequest, errors.New("a namespace DELETE review without oldObject: the API server sends the namespace being deleted"))
	}
	rec := &record{}
	resp := g.inner.Handle(context.WithValue(ctx, recordKey{}, rec), req)
	if len(rec.audit) > 0 {
		resp.AuditAnnotations = rec.audit
	}
	return resp
}
