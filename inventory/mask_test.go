package inventory

import (
	"reflect"
	"testing"

	"sigs.k8s.io/yaml"
)

// A reader that builds only what BodyMask keeps must get from NewObject
// exactly what it would get from the whole object.
func TestBodyMaskKeepsWhatTrimmingReads(t *testing.T) {
	docs := map[string]string{
		"Deployment": `apiVersion: apps/v1
kind: Deployment
metadata: {name: op, namespace: ops, labels: {app: op}, annotations: {a: b}, finalizers: [x/y]}
spec:
  replicas: 2
  selector: {matchLabels: {app: op}, matchExpressions: [{key: tier, operator: In, values: [a]}]}
  strategy: {type: RollingUpdate}
  template:
    metadata: {labels: {app: op}, annotations: {checksum: abc}}
    spec:
      serviceAccountName: op
      containers:
        - name: op
          image: op:1
          env: [{name: A, value: "1"}]
      volumes: [{name: v, emptyDir: {}}]
status: {replicas: 2, readyReplicas: 1, conditions: [{type: Available, status: "True"}]}`,
		"StatefulSet": `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: data}
spec:
  serviceName: db
  template:
    spec:
      serviceAccount: db
      containers: [{name: db, image: db:1}]
  volumeClaimTemplates: [{metadata: {name: data}}]`,
		"Pod": `apiVersion: v1
kind: Pod
metadata: {name: p, namespace: a}
spec:
  serviceAccountName: sa
  nodeName: n1
  containers: [{name: c, image: i}]
status: {phase: Running, conditions: [{type: Ready, status: "True"}], podIP: 10.0.0.1}`,
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			var u map[string]any
			if err := yaml.Unmarshal([]byte(doc), &u); err != nil {
				t.Fatal(err)
			}
			full, err := NewObject(u)
			if err != nil {
				t.Fatal(err)
			}
			mask := BodyMask(full.Ref.Group, full.Ref.Kind)
			if mask == nil {
				t.Fatalf("no mask for %s", name)
			}
			masked, err := NewObject(mask.Apply(u).(map[string]any))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(full, masked) {
				t.Errorf("trimming the masked object differs:\nfull:   %#v\nmasked: %#v", full.Body, masked.Body)
			}
			if reflect.DeepEqual(mask.Apply(u), u) {
				t.Errorf("the mask kept everything of %s: it prunes nothing", name)
			}
		})
	}
	if BodyMask("", "ConfigMap") != nil || BodyMask("apiextensions.k8s.io", "CustomResourceDefinition") != nil {
		t.Error("kinds without a mask are read whole")
	}
}
