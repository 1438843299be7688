package diagnose

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/client-go/rest"

	"github.com/nsguard/nsguard/inventory"
	"github.com/nsguard/nsguard/policies"
	"github.com/nsguard/nsguard/policies/catalog"
)

// RunOptions configures Run.
type RunOptions struct {
	// Timeout bounds the cluster inventory; when it expires the report is
	// built from what was gathered and marked incomplete. Zero: only ctx
	// bounds it.
	Timeout time.Duration
	// Cluster configures the inventory; its Catalog defaults to the
	// engine's (built-in plus --data).
	Cluster inventory.ClusterOptions
	// Now is the clock of the report and of liveness (default time.Now).
	Now func() time.Time
}

// Engine is what Run needs of the policy engine; *policies.Engine is one.
// The command passes one whose policies compile while the inventory runs.
type Engine interface {
	Catalog() *catalog.Catalog
	Evaluate(ctx context.Context, s *inventory.Snapshot) ([]policies.Finding, error)
}

// Result is a diagnosis with the snapshot it was made from.
type Result struct {
	Report   *Report
	Snapshot *inventory.Snapshot
	// Inventory is how long the cluster inventory took; Evaluate the rules.
	Inventory, Evaluate time.Duration
}

// Run diagnoses one namespace of a live cluster: inventory, rules, report.
// It is what `nsguard diagnose` runs, so tests that call it exercise the
// command's code path.
func Run(ctx context.Context, cfg *rest.Config, namespace string, engine Engine, opts RunOptions) (*Result, error) {
	if engine == nil {
		return nil, errors.New("diagnose: no policy engine")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Cluster.Catalog == nil {
		opts.Cluster.Catalog = engine.Catalog()
	}
	if opts.Cluster.Now == nil {
		opts.Cluster.Now = opts.Now
	}
	ictx := ctx
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ictx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	began := time.Now()
	s, err := inventory.FromCluster(ictx, cfg, namespace, opts.Cluster)
	if err != nil {
		return nil, err
	}
	res := &Result{Snapshot: s, Inventory: time.Since(began)}
	began = time.Now()
	// The rules run on what was gathered even when the inventory's deadline
	// has passed: a partial report beats none.
	findings, err := engine.Evaluate(context.WithoutCancel(ctx), s)
	if err != nil {
		return nil, fmt.Errorf("evaluate policies: %w", err)
	}
	res.Evaluate = time.Since(began)
	res.Report = Build(s, findings, Options{Catalog: engine.Catalog(), Now: opts.Now})
	return res, nil
}
