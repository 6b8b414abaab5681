package server

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/discovery"

	// The service discoveries miniprom offers besides static_configs,
	// file_sd_configs and http_sd_configs (imported in server.go): upstream's
	// own discoverers, registered by import. Each adds to the binary; the
	// README lists the size each one costs. Kubernetes (26 MB, more than
	// the rest of miniprom's budget) is in discovery_kubernetes.go, built
	// with -tags kubernetes.
	_ "github.com/prometheus/prometheus/discovery/consul" // consul_sd_configs
	_ "github.com/prometheus/prometheus/discovery/dns"    // dns_sd_configs
	_ "github.com/prometheus/prometheus/discovery/moby"   // docker_sd_configs, dockerswarm_sd_configs
)

// registerDiscoveryMetrics registers the discovery metrics Prometheus has:
// the per-mechanism prometheus_sd_* families and the Kubernetes client's.
func registerDiscoveryMetrics(reg prometheus.Registerer) (*discovery.SDMetrics, error) {
	if err := discovery.RegisterK8sClientMetricsWithPrometheus(reg); err != nil {
		return nil, err
	}
	return discovery.CreateAndRegisterSDMetrics(reg)
}

// DiscoveryKinds are the config keys of the service discoveries built in,
// sorted.
func DiscoveryKinds() []string {
	kinds := []string{"static_configs"}
	for _, n := range discovery.RegisteredConfigNames() {
		kinds = append(kinds, n+"_sd_configs")
	}
	slices.Sort(kinds)
	return kinds
}

var unknownSD = regexp.MustCompile(`field (\w+_sd_configs) not found`)

// explainUnknownDiscovery turns the YAML decoder's "field X_sd_configs not
// found" into a message saying the discovery is not built in, and which
// are. Prometheus's own binary has every kind, so a config that passes
// `promtool check config` can meet this error only in miniprom.
func explainUnknownDiscovery(err error) error {
	m := unknownSD.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	hint := ""
	if m[1] == "kubernetes_sd_configs" {
		hint = "; build with `make build GOTAGS=kubernetes` to add it"
	}
	return fmt.Errorf("service discovery %s is not built into miniprom (built in: %s%s): %w", m[1], strings.Join(DiscoveryKinds(), ", "), hint, err)
}
