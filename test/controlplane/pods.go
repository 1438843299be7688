package controlplane

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ReportPodReady plays the kubelet, which this control plane does not have,
// for the first pod matching selector in namespace: it waits for the pod
// (a ReplicaSet's pods appear a moment after their Deployment) and reports
// it Running and Ready. The replicaset and deployment controllers then count
// it in readyReplicas. It returns the pod's name.
func (cp *ControlPlane) ReportPodReady(ctx context.Context, namespace, selector string) (string, error) {
	var pod *corev1.Pod
	err := cp.WaitFor(ctx, 30*time.Second, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		pods, err := cp.Client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil || len(pods.Items) == 0 {
			return false, err
		}
		pod = &pods.Items[0]
		return true, nil
	})
	if err != nil {
		return "", fmt.Errorf("wait for a pod %s in %s: %w", selector, namespace, err)
	}
	now := metav1.Now()
	pod.Status.Phase = corev1.PodRunning
	pod.Status.StartTime = &now
	pod.Status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
	}
	if _, err := cp.Client.CoreV1().Pods(namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		return "", fmt.Errorf("report pod %s/%s ready: %w", namespace, pod.Name, err)
	}
	return pod.Name, nil
}

// WaitReadyReplicas waits until the Deployment's status counts want ready
// replicas.
func (cp *ControlPlane) WaitReadyReplicas(ctx context.Context, namespace, name string, want int32) error {
	err := cp.WaitFor(ctx, 30*time.Second, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		d, err := cp.Client.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
		return err == nil && d.Status.ReadyReplicas == want, err
	})
	if err != nil {
		return fmt.Errorf("Deployment %s/%s never had %d ready replicas: %w", namespace, name, want, err)
	}
	return nil
}
