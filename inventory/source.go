package inventory

import (
	"context"

	"k8s.io/client-go/rest"
)

// Source gives snapshots of namespaces. diagnose reads the cluster once
// (Lister); nsguard serve's webhook and remediator share a Cache. The
// analysis and the rules never know which one they got.
type Source interface {
	Snapshot(ctx context.Context, namespace string) (*Snapshot, error)
}

// Lister is the one-shot Source: each snapshot reads the cluster
// (FromCluster).
type Lister struct {
	Config  *rest.Config
	Options ClusterOptions
}

// Snapshot reads the namespace from the cluster.
func (l Lister) Snapshot(ctx context.Context, namespace string) (*Snapshot, error) {
	return FromCluster(ctx, l.Config, namespace, l.Options)
}

var (
	_ Source = Lister{}
	_ Source = (*Cache)(nil)
)
