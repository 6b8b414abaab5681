package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// jsonShape renders a JSON document's structure without its values:
// objects as their sorted keys with each value's shape, arrays as the shape
// of their first element, scalars as their type. Two servers answering the
// same request alike have the same shape even where timestamps, ports or
// sample values differ.
func jsonShape(v any) string {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%q:%s", k, jsonShape(x[k])))
		}
		return "{" + strings.Join(parts, ",") + "}"
	case []any:
		if len(x) == 0 {
			return "[]"
		}
		return "[" + jsonShape(x[0]) + "]"
	case nil:
		return "null"
	default:
		return fmt.Sprintf("%T", x)
	}
}

// TestAPISweepMatchesPrometheus requests every /api/v1 endpoint of
// miniprom and of a real Prometheus 3.16 run with the same config, and
// compares the status codes and the JSON shapes (jsonShape).
func TestAPISweepMatchesPrometheus(t *testing.T) {
	ref := os.Getenv(refPrometheusEnv)
	if ref == "" {
		t.Skipf("set %s to a Prometheus 3.16 binary (.ci/run builds one)", refPrometheusEnv)
	}
	_, port := exporter(t)
	rules := "groups:\n  - name: g\n    rules:\n      - record: job:discovered:sum\n        expr: sum(discovered_metric)\n      - alert: Always\n        expr: vector(1)\n"
	cfg := fmt.Sprintf("global: {scrape_interval: 1s, evaluation_interval: 1s}\nrule_files: [rules.yml]\nscrape_configs:\n  - job_name: app\n    static_configs: [{targets: ['127.0.0.1:%d']}]\n", port)
	mini := startServer(t, serverConfig{webConfigYML: "-", prometheusYML: cfg, files: map[string]string{"rules.yml": rules}})
	refDir := t.TempDir()
	writeFile(t, refDir, "rules.yml", rules)
	promURL := startReferencePrometheus(t, ref, strings.Replace(cfg, "rules.yml", refDir+"/rules.yml", 1))

	settled := func(base string) func() bool {
		return func() bool {
			code, body, _ := fetch(nil, http.MethodGet, base+"/api/v1/query?query="+url.QueryEscape(`count_over_time(job:discovered:sum[1m]) >= 3 and on() ALERTS{alertstate="firing"}`))
			return code == 200 && strings.Contains(body, `"value":[`)
		}
	}
	require.Eventually(t, settled(promURL), 60*time.Second, 200*time.Millisecond, "Prometheus never evaluated its rules")
	require.Eventually(t, settled(mini.Base), 60*time.Second, 200*time.Millisecond, "miniprom never evaluated its rules")

	now := time.Now().Unix()
	from, to := fmt.Sprint(now-60), fmt.Sprint(now)
	q := url.QueryEscape
	inst := fmt.Sprintf("127.0.0.1:%d", port)
	for _, path := range []string{
		"/api/v1/query?query=" + q("discovered_metric"),
		"/api/v1/query_range?start=" + from + "&end=" + to + "&step=15&query=" + q("discovered_metric"),
		"/api/v1/series?match[]=" + q("discovered_metric"),
		"/api/v1/labels",
		"/api/v1/label/job/values",
		"/api/v1/query_exemplars?start=" + from + "&end=" + to + "&query=" + q("discovered_metric"),
		"/api/v1/format_query?query=" + q("sum(x)by(y)"),
		"/api/v1/parse_query?query=" + q("sum(x) by (y)"),
		"/api/v1/targets",
		"/api/v1/targets?state=dropped",
		"/api/v1/targets/metadata?match_target=" + q(`{job="app"}`),
		"/api/v1/targets/relabel_steps?scrapePool=app&labels=" + q(fmt.Sprintf(`{"__address__":%q,"job":"app"}`, inst)),
		"/api/v1/scrape_pools",
		"/api/v1/metadata",
		"/api/v1/rules",
		"/api/v1/rules?type=alert",
		"/api/v1/alerts",
		"/api/v1/alertmanagers",
		"/api/v1/notifications",
		// Discoveries not built in are absent: compared in
		// TestSelfMetricsAndFeaturesMatchPrometheus.
		"/api/v1/features",
		"/api/v1/status/config",
		// /api/v1/status/flags: the harness passes no command line;
		// cmd/miniprom's TestStatusFlagsIsPrometheusSet compares it.
		"/api/v1/status/runtimeinfo",
		"/api/v1/status/buildinfo",
		"/api/v1/status/tsdb",
		"/api/v1/status/tsdb/blocks",
		"/api/v1/status/walreplay",
		"/api/v1/admin/tsdb/snapshot",
		"/api/v1/nope",
	} {
		t.Run(path, func(t *testing.T) {
			wantCode, want, err := fetch(nil, http.MethodGet, promURL+path)
			require.NoError(t, err)
			gotCode, got, err := fetch(nil, http.MethodGet, mini.Base+path)
			require.NoError(t, err)
			require.Equal(t, wantCode, gotCode, "status code\nPrometheus: %s\nminiprom:   %s", want, got)
			var w, g any
			if json.Unmarshal([]byte(want), &w) != nil {
				return // not JSON (404 page): the status code is the answer
			}
			require.NoError(t, json.Unmarshal([]byte(got), &g), got)
			if strings.HasPrefix(path, "/api/v1/features") {
				delete(w.(map[string]any)["data"].(map[string]any), "service_discovery_providers")
				delete(g.(map[string]any)["data"].(map[string]any), "service_discovery_providers")
			}
			assert.Equal(t, jsonShape(w), jsonShape(g), "Prometheus: %s\nminiprom:   %s", want, got)
		})
	}
}
