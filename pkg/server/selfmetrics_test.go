package server_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPrometheusSelfMetricFamilies: /metrics carries the process-level
// families Prometheus 3.16 exports under the same names: build info, the
// Go runtime metrics Prometheus enables, and conntrack for the listener
// and for scrape connections.
func TestPrometheusSelfMetricFamilies(t *testing.T) {
	ts := startServer(t, serverConfig{})
	ts.waitForSelfScrape()
	code, body := ts.get("/metrics")
	require.Equal(t, 200, code)
	for _, want := range []string{
		`prometheus_build_info{branch=`,
		"go_gc_gogc_percent ",
		"go_sched_gomaxprocs_threads ",
		"go_sync_mutex_wait_total_seconds_total ",
		`net_conntrack_listener_conn_accepted_total{listener_name="http"} `,
		`net_conntrack_dialer_conn_established_total{dialer_name="miniprom"} `,
		"prometheus_sd_discovered_targets{",
	} {
		require.Contains(t, body, want)
	}
	// One HELP line per family: the conntrack families come from one place.
	require.Equal(t, 1, strings.Count(body, "# HELP net_conntrack_listener_conn_accepted_total "))
}
