//go:build tools

// Package tools pins conftest, the baseline that make bench-lint compares
// nsguard lint against. It is a module of its own so that conftest's
// dependencies never mix with nsguard's.
package tools

import (
	_ "github.com/open-policy-agent/conftest"
)
