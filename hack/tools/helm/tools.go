//go:build tools

// Package tools pins helm, which make chart-test uses to lint and render
// charts/nsguard. It is a module of its own so that helm's dependencies
// never mix with nsguard's.
package tools

import (
	_ "helm.sh/helm/v4/cmd/helm"
)
