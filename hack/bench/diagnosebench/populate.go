package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/nsguard/nsguard/hack/bench/internal/population"
	"github.com/nsguard/nsguard/hack/bench/internal/sysinfo"
	"github.com/nsguard/nsguard/test/controlplane"
)

// populate creates the CRDs, the namespace and its objects, and waits until
// discovery serves every CRD.
func populate(ctx context.Context, cp *controlplane.ControlPlane, o options, r *results, out io.Writer) error {
	c, err := population.NewCreator(cp.Config)
	if err != nil {
		return err
	}
	crds := population.CRDs(o.crds, o.schemas)
	items := population.Namespace(o.namespace, o.crds, o.crds*o.crsPerCRD, o.objects)
	began := time.Now()
	if err := c.CreateCRDs(ctx, crds); err != nil {
		return err
	}
	if err := c.CreateNamespace(ctx, o.namespace, nil); err != nil {
		return err
	}
	if err := c.Create(ctx, items, o.workers, 0, nil); err != nil {
		return err
	}
	r.Created = len(items)
	r.CreateTime = time.Since(began)
	schemas := "minimal schemas"
	if o.schemas {
		schemas = fmt.Sprintf("schemas of %.1f MiB in all", float64(population.CRDBytes(crds))/(1<<20))
	}
	fmt.Fprintf(out, "Setup    %d CRDs (%s); namespace %q: %d objects created (%d custom resources, some with finalizers no controller handles) in %s\n",
		len(crds), schemas, o.namespace, r.Created, o.crds*o.crsPerCRD, r.CreateTime.Round(100*time.Millisecond))
	// The API server keeps working on new CRDs (OpenAPI, discovery) for a
	// while after they are established.
	settle := time.Now()
	idle, err := sysinfo.WaitIdle(ctx, 0.6, 2*time.Second, 3*time.Minute)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Settle   waited %s for the cores to be idle (%.0f%% idle over the last 2 s)\n", time.Since(settle).Round(time.Second), idle*100)
	return nil
}
