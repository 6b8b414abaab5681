//go:build kubernetes

package server

// Kubernetes service discovery is upstream's, as the others, but its client
// (k8s.io/client-go with every API group) adds about 26 MB to the stripped
// binary, which would take miniprom past its 64 MB budget; it is built only
// with -tags kubernetes (make build GOTAGS=kubernetes).
import _ "github.com/prometheus/prometheus/discovery/kubernetes" // kubernetes_sd_configs
