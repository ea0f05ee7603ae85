//go:build tools

// Package tools pins the KubeRay operator at the version registry/platform.yaml names.
package tools

import _ "github.com/ray-project/kuberay/ray-operator"
