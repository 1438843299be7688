package population

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/nsguard/nsguard/test/controlplane"
)

// Creator creates CRDs, namespaces and objects with many requests in
// flight.
type Creator struct {
	dyn    dynamic.Interface
	client kubernetes.Interface
}

// NewCreator returns a Creator for the cluster of cfg.
func NewCreator(cfg *rest.Config) (*Creator, error) {
	cfg = rest.CopyConfig(cfg)
	// client-go's default of 5 requests/s would make creation the slowest
	// part of a benchmark by far.
	cfg.QPS, cfg.Burst = 5000, 10000
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return &Creator{dyn: dyn, client: client}, nil
}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// CreateCRDs creates crds, waits until they are established and until
// discovery serves every one of them.
func (c *Creator) CreateCRDs(ctx context.Context, crds []*unstructured.Unstructured) error {
	if err := Parallel(ctx, crds, 8, func(ctx context.Context, crd *unstructured.Unstructured) error {
		_, err := c.dyn.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create CRD %s: %w", crd.GetName(), err)
		}
		return nil
	}); err != nil {
		return err
	}
	if err := controlplane.WaitFor(ctx, 2*time.Minute, 250*time.Millisecond, func(ctx context.Context) (bool, error) {
		list, err := c.dyn.Resource(crdGVR).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		established := 0
		for _, crd := range list.Items {
			conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
			for _, c := range conds {
				if m, ok := c.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
					established++
				}
			}
		}
		return established >= len(crds), nil
	}); err != nil {
		return fmt.Errorf("wait for the CRDs to be established: %w", err)
	}
	// Discovery must list every CRD before anything is measured.
	if err := controlplane.WaitFor(ctx, time.Minute, 500*time.Millisecond, func(ctx context.Context) (bool, error) {
		// A partial discovery failure still returns what it found.
		lists, _ := c.client.Discovery().ServerPreferredNamespacedResources()
		n := 0
		for _, l := range lists {
			if strings.HasSuffix(strings.Split(l.GroupVersion, "/")[0], GroupSuffix) {
				n += len(l.APIResources)
			}
		}
		return n >= len(crds), nil
	}); err != nil {
		return fmt.Errorf("wait for discovery to serve the CRDs: %w", err)
	}
	return nil
}

// CreateNamespace creates a namespace with labels (an existing one is
// left as it is).
func (c *Creator) CreateNamespace(ctx context.Context, name string, labels map[string]string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if _, err := c.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

// Create creates items on workers goroutines. progress, when not nil, is
// called with the number of objects created so far, from one goroutine at
// a time, at most every interval.
func (c *Creator) Create(ctx context.Context, items []Item, workers int, interval time.Duration, progress func(done int)) error {
	var done atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if progress != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					progress(int(done.Load()))
				}
			}
		}()
	}
	err := Parallel(ctx, items, workers, func(ctx context.Context, it Item) error {
		if err := c.createObject(ctx, it); err != nil {
			return err
		}
		done.Add(1)
		return nil
	})
	close(stop)
	wg.Wait()
	return err
}

// createObject creates one object, retrying briefly while the API server
// does not serve a freshly established custom resource yet, or (pods)
// while the namespace's default service account is not there yet.
func (c *Creator) createObject(ctx context.Context, it Item) error {
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		_, err = c.dyn.Resource(it.GVR).Namespace(it.Obj.GetNamespace()).Create(ctx, it.Obj, metav1.CreateOptions{})
		if err == nil || apierrors.IsAlreadyExists(err) {
			return nil
		}
		retry := apierrors.IsNotFound(err) || apierrors.IsTooManyRequests(err) || apierrors.IsServerTimeout(err) ||
			(apierrors.IsForbidden(err) && strings.Contains(err.Error(), "service account"))
		if !retry {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("create %s %s/%s: %w", it.GVR.Resource, it.Obj.GetNamespace(), it.Obj.GetName(), err)
}

// Parallel runs fn on every element of items on workers goroutines and
// returns the first error; the others are not started after it.
func Parallel[T any](ctx context.Context, items []T, workers int, fn func(context.Context, T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan T)
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range ch {
				if err := fn(ctx, it); err != nil {
					once.Do(func() { firstErr = err; cancel() })
				}
			}
		}()
	}
feed:
	for _, it := range items {
		select {
		case ch <- it:
		case <-ctx.Done():
			break feed
		}
	}
	close(ch)
	wg.Wait()
	return firstErr
}

// CRDBytes is the size of the CRDs as JSON, what a client that lists them
// in full receives (before compression).
func CRDBytes(crds []*unstructured.Unstructured) int {
	n := 0
	for _, c := range crds {
		if b, err := json.Marshal(c.Object); err == nil {
			n += len(b)
		}
	}
	return n
}
