//go:build !kubernetes

package main

// kubernetesBuiltIn says this test binary has Kubernetes discovery.
const kubernetesBuiltIn = false
