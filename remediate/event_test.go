package remediate

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nsguard/nsguard/actions"
)

// The command line's Events look like the controller's: about the
// namespace, in "default", related to the object the action changes, with
// a note the API accepts.
func TestEventFor(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "ns-uid", ResourceVersion: "7"}}
	a := removal("absent", safe).Action
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	ev := EventFor(ns, a, corev1.EventTypeNormal, ReasonRemediated, "nsguard.io/cli", "nsguard@host", "did it", now)
	if ev.Namespace != metav1.NamespaceDefault || !strings.HasPrefix(ev.Name, "shop.") || len(ev.Name) <= len("shop.") {
		t.Errorf("Event in %q named %q, want default and shop.<time>", ev.Namespace, ev.Name)
	}
	if ev.Regarding.Kind != "Namespace" || ev.Regarding.Name != "shop" || ev.Regarding.UID != "ns-uid" {
		t.Errorf("regarding %+v, want the namespace", ev.Regarding)
	}
	if ev.Related == nil || ev.Related.Kind != "Widget" || ev.Related.APIVersion != "example.com/v1" || ev.Related.Name != "w1" || ev.Related.Namespace != "shop" || ev.Related.UID != "u1" {
		t.Errorf("related %+v, want the Widget", ev.Related)
	}
	if ev.Action != string(actions.RemoveFinalizer) || ev.Reason != ReasonRemediated || ev.Type != corev1.EventTypeNormal || !ev.EventTime.Time.Equal(now) {
		t.Errorf("action %q, reason %q, type %q, time %v", ev.Action, ev.Reason, ev.Type, ev.EventTime)
	}
	if ev.ReportingController != "nsguard.io/cli" || ev.ReportingInstance != "nsguard@host" {
		t.Errorf("reported by %q/%q", ev.ReportingController, ev.ReportingInstance)
	}

	long := EventFor(ns, actions.Action{}, corev1.EventTypeWarning, ReasonFailed, "c", "i", strings.Repeat("x", 5000), now)
	if len(long.Note) > 1000 || !strings.HasSuffix(long.Note, "…") {
		t.Errorf("a long note is %d bytes, want at most 1000 and cut with …", len(long.Note))
	}
	if long.Related != nil || long.Action != "Remediate" {
		t.Errorf("an Event about the namespace as a whole: related %+v, action %q", long.Related, long.Action)
	}
}
