package server

import (
	"regexp"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	dto "github.com/prometheus/client_model/go"
)

// newSelfRegistry is the registry for miniprom's own metrics, starting with
// the process-level collectors Prometheus 3.16's main registers, under the
// same names: prometheus_build_info (fleet dashboards key on it), the Go
// collector with Prometheus's choice of runtime/metrics (GC, scheduler,
// mutex wait) and the process collector.
func newSelfRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
			collectors.MetricsGC,
			collectors.MetricsScheduler,
			collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/sync/mutex/wait/total:seconds$`)},
		)),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		versioncollector.NewCollector("prometheus"),
	)
	return reg
}

// gatherer is what /metrics and the API serve: the server's registry plus
// the net_conntrack_* and prometheus_template_* families. Those come from
// go-conntrack, which Prometheus's HTTP clients (scrapes, notifier, remote
// write) and miniprom's listeners report to, and from upstream's template
// package (alert templates); both register only with client_golang's
// process-wide default registry.
func (s *Server) gatherer() prometheus.Gatherer {
	return prometheus.Gatherers{s.reg, conntrackGatherer{prometheus.DefaultGatherer}}
}

type conntrackGatherer struct{ prometheus.Gatherer }

func (g conntrackGatherer) Gather() ([]*dto.MetricFamily, error) {
	mfs, err := g.Gatherer.Gather()
	kept := mfs[:0]
	for _, mf := range mfs {
		if name := mf.GetName(); strings.HasPrefix(name, "net_conntrack_") || strings.HasPrefix(name, "prometheus_template_") {
			kept = append(kept, mf)
		}
	}
	return kept, err
}
