package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestFederationByRealPrometheus has Debian's Prometheus scrape miniprom's
// /federate over HTTPS, trusting the test CA, until the federated series
// shows up in its own TSDB.
func TestFederationByRealPrometheus(t *testing.T) {
	ts := startServer(t, serverConfig{prometheusYML: strings.Replace(selfScrapeConfig, "global:\n",
		"global:\n  external_labels:\n    site: edge\n", 1)})
	ts.waitForSelfScrape()

	dir := t.TempDir()
	writeFile(t, dir, "prometheus.yml", fmt.Sprintf(`
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: federate
    scheme: https
    honor_labels: true
    metrics_path: /federate
    params:
      "match[]": ['{job="miniprom",__name__=~"up|prometheus_ready"}']
    tls_config:
      ca_file: %s
    static_configs:
      - targets: [%q]
`, filepath.Join(ts.Dir, "ca.crt"), ts.Addr().String()))
	addr := startDebianPrometheus(t, dir)
	plain := &http.Client{Timeout: 10 * time.Second}

	query := func(q string) []map[string]string {
		resp, err := plain.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		var r struct {
			Data struct {
				Result []struct {
					Metric map[string]string `json:"metric"`
				} `json:"result"`
			} `json:"data"`
		}
		if json.NewDecoder(resp.Body).Decode(&r) != nil {
			return nil
		}
		var out []map[string]string
		for _, s := range r.Data.Result {
			out = append(out, s.Metric)
		}
		return out
	}
	require.Eventually(t, func() bool { return len(query(`up{job="miniprom"}`)) == 1 }, 30*time.Second, 100*time.Millisecond,
		"Prometheus never stored the federated up series")
	require.Equal(t, []map[string]string{{"__name__": "up", "job": "miniprom", "instance": ts.Addr().String(), "site": "edge"}},
		query(`up{job="miniprom"}`))
	require.Len(t, query(`prometheus_ready{job="miniprom",site="edge"}`), 1)
	require.Equal(t, []map[string]string{{"__name__": "up", "job": "federate", "instance": ts.Addr().String()}},
		query(`up{job="federate"} == 1`), "the federation scrape itself is healthy")
}
