//go:build tools

// Package tools pins the KubeRay operator that `dataplane cluster` runs. registry/platform.yaml
// names 1.7.0, but the Go module proxy refuses github.com/ray-project/kuberay/ray-operator@v1.7.0's
// source zip (403 "This module version is not available", checked 2026-12-07 16:20 UTC), so
// go.mod requires v1.6.1, the newest that builds (docs/validation.md, "On a real control plane").
package tools

import _ "github.com/ray-project/kuberay/ray-operator"
