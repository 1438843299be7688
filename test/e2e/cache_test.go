package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nsguard/nsguard/inventory"
)

// The informer-backed Cache (behind nsguard serve) and FromCluster (behind
// diagnose) give the same snapshot of a namespace: the same objects in it,
// the same finalizer facts with the same verdicts, the same Services.
// Both ways of reading the namespace's contents are checked.
func TestCacheSnapshotMatchesFromCluster(t *testing.T) {
	t.Parallel()
	cp := requireCluster(t)
	ctx := t.Context()
	ns := cp.NewNamespace(t, "cache")
	if err := cp.Apply(ctx, fmt.Sprintf(operatorManifest, ns)); err != nil {
		t.Fatal(err)
	}
	markDeploymentReady(t, cp, ns, "operator")
	waitReadyReplicas(t, cp, ns, "operator", 1)
	t.Cleanup(func() { removeWidgetFinalizers(cp, ns) })

	for _, mode := range []string{inventory.ContentsWatch, inventory.ContentsList} {
		t.Run(mode, func(t *testing.T) {
			c, err := inventory.NewCache(cp.Config, inventory.CacheOptions{Contents: mode})
			if err != nil {
				t.Fatal(err)
			}
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			if err := c.Start(cctx); err != nil {
				t.Fatal(err)
			}
			began := time.Now()
			if !c.WaitForSync(cctx) {
				t.Fatal("the cache never synced")
			}
			t.Logf("%s: synced in %s; sizes %v", mode, time.Since(began).Round(time.Millisecond), c.Sizes())

			want, err := inventory.FromCluster(ctx, cp.Config, ns, inventory.ClusterOptions{NoCache: true})
			if err != nil {
				t.Fatal(err)
			}
			var got *inventory.Snapshot
			// The informers see the latest writes a moment after the LISTs.
			err = cp.WaitFor(ctx, 10*time.Second, poll, func(ctx context.Context) (bool, error) {
				s, err := c.Snapshot(ctx, ns)
				if err != nil {
					return false, err
				}
				got = s
				return summarizeSnapshot(s) == summarizeSnapshot(want), nil
			})
			if err != nil {
				t.Errorf("cache snapshot differs from FromCluster's:\ncache:\n%s\nFromCluster:\n%s", summarizeSnapshot(got), summarizeSnapshot(want))
			}
			if !got.Complete {
				t.Errorf("cache snapshot incomplete: %q", got.Incomplete)
			}
		})
	}
}

// summarizeSnapshot words what must agree: the target's objects, its
// finalizer facts with their verdicts and handlers, the Services facts.
func summarizeSnapshot(s *inventory.Snapshot) string {
	if s == nil {
		return "<none>"
	}
	var lines []string
	for _, o := range s.Objects {
		if o.Ref.Namespace == s.Target || (o.Ref.Kind == "Namespace" && o.Ref.Name == s.Target) {
			lines = append(lines, fmt.Sprintf("object %s %s/%s finalizers=%v", o.Ref.GroupKind(), o.Ref.Namespace, o.Ref.Name, o.Metadata.Finalizers))
		}
	}
	for _, f := range s.Finalizers {
		if f.Namespace != s.Target {
			continue
		}
		var hs []string
		for _, h := range f.Handlers {
			hs = append(hs, fmt.Sprintf("%s/%s:%s:%s", h.Workload.Kind, h.Workload.Name, strings.Join(h.Via, ","), h.Liveness))
		}
		sort.Strings(hs)
		lines = append(lines, fmt.Sprintf("fact %s %s %s objects=%d handlers=%v", f.Finalizer, f.Liveness, f.HandledBy, len(f.Objects), hs))
	}
	for k, v := range s.Services {
		lines = append(lines, fmt.Sprintf("service %s exists=%v ready=%v", k, deref(v.Exists), deref(v.ReadyEndpoints)))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// removeWidgetFinalizers lets the operator scenario's namespace go.
func removeWidgetFinalizers(cp interface {
	Kubectl(context.Context, ...string) ([]byte, error)
}, ns string) {
	ctx := context.Background()
	out, _ := cp.Kubectl(ctx, "get", "widgets.operator.e2e.nsguard.io", "-n", ns, "-o", "name")
	for _, name := range strings.Fields(string(out)) {
		_, _ = cp.Kubectl(ctx, "patch", name, "-n", ns, "--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
	}
}
