package remediate

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/nsguard/nsguard/actions"
)

// maxNote is the longest Event note the API accepts (1 kB).
const maxNote = 1000

// eventNote cuts a note to what an Event may hold.
func eventNote(msg string) string {
	if len(msg) > maxNote {
		return msg[:maxNote-len("…")] + "…"
	}
	return msg
}

// relatedObject is the object an action changes, as an Event's related
// object; nil for an action on the namespace as a whole.
func relatedObject(a actions.Action) *metav1.PartialObjectMetadata {
	t := a.Target
	if t.Name == "" {
		return nil
	}
	return &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: schema.GroupVersion{Group: t.Group, Version: t.Version}.String(), Kind: t.Kind},
		ObjectMeta: metav1.ObjectMeta{Name: t.Name, Namespace: t.Namespace, UID: types.UID(t.UID)},
	}
}

// EventFor is the events.k8s.io Event that records one step of the
// remediation of namespace ns, as the controller's Events do (same reasons,
// regarding the namespace, related to the action's object), for clients
// that write their Events themselves: nsguard remediate and nsguard delete.
// An Event about a Namespace, which is cluster-scoped, lives in "default".
func EventFor(ns *corev1.Namespace, a actions.Action, typ, reason, controller, instance, note string, now time.Time) *eventsv1.Event {
	ev := &eventsv1.Event{
		// Named as client-go's recorders name theirs.
		ObjectMeta:          metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", ns.Name, now.UnixNano()), Namespace: metav1.NamespaceDefault},
		EventTime:           metav1.NewMicroTime(now),
		ReportingController: controller,
		ReportingInstance:   instance,
		Action:              actionName(a),
		Reason:              reason,
		Type:                typ,
		Note:                eventNote(note),
		Regarding: corev1.ObjectReference{
			APIVersion: "v1", Kind: "Namespace", Name: ns.Name, UID: ns.UID, ResourceVersion: ns.ResourceVersion,
		},
	}
	if r := relatedObject(a); r != nil {
		ev.Related = &corev1.ObjectReference{
			APIVersion: r.APIVersion, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name, UID: r.UID,
		}
	}
	return ev
}

// actionName is an Event's action: the action type, or Remediate for a
// message about the namespace as a whole.
func actionName(a actions.Action) string {
	if a.Target.Name == "" {
		return "Remediate"
	}
	return string(a.Type)
}
