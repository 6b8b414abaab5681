package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/server"
	"github.com/miniprom/miniprom/pkg/storage/storagetest"
)

func TestSelfScrapeOverHTTPS(t *testing.T) {
	ts := startServer(t, serverConfig{})
	ts.waitForSelfScrape()

	code, r := ts.api("/api/v1/label/job/values")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "success", r.Status)
	require.JSONEq(t, `["miniprom"]`, string(r.Data))

	// The scrape went through the scrape client's TLS and is healthy.
	code, r = ts.api("/api/v1/targets")
	require.Equal(t, http.StatusOK, code)
	var targets struct {
		ActiveTargets []struct {
			Labels     map[string]string `json:"labels"`
			ScrapePool string            `json:"scrapePool"`
			ScrapeURL  string            `json:"scrapeUrl"`
			LastError  string            `json:"lastError"`
			LastScrape string            `json:"lastScrape"`
			Health     string            `json:"health"`
		} `json:"activeTargets"`
	}
	require.NoError(t, json.Unmarshal(r.Data, &targets))
	require.Len(t, targets.ActiveTargets, 1)
	tg := targets.ActiveTargets[0]
	require.Equal(t, "up", tg.Health)
	require.Empty(t, tg.LastError)
	require.Equal(t, "https://"+ts.Addr().String()+"/metrics", tg.ScrapeURL)
	require.Equal(t, map[string]string{"instance": ts.Addr().String(), "job": "miniprom"}, tg.Labels)
	require.NotEqual(t, "0001-01-01T00:00:00Z", tg.LastScrape)

	// Self-metrics the scrape brought in: TSDB, engine, HTTP and scrape.
	for _, metric := range []string{
		"prometheus_tsdb_head_series",
		"prometheus_engine_queries",
		"prometheus_http_requests_total",
		"prometheus_target_interval_length_seconds_count",
		"go_goroutines",
		"process_resident_memory_bytes",
		"prometheus_config_last_reload_successful",
		"prometheus_ready",
	} {
		ts.eventually(func() bool {
			code, r := ts.api("/api/v1/query?query=" + metric)
			return code == 200 && strings.Contains(string(r.Data), `"__name__":"`+metric+`"`)
		}, "no samples of "+metric)
	}

	code, r = ts.api("/api/v1/query?query=sum(up)")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(r.Data), `"resultType":"vector"`)
	require.Contains(t, string(r.Data), `"1"]`)

	code, r = ts.api("/api/v1/scrape_pools")
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"scrapePools":["miniprom"]}`, string(r.Data))

	code, r = ts.api("/api/v1/metadata?metric=go_goroutines")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(r.Data), `"type":"gauge"`)
}

func TestErrorEnvelope(t *testing.T) {
	ts := startServer(t, serverConfig{})
	for _, tc := range []struct {
		name, path string
		code       int
		errorType  string
	}{
		{"bad PromQL", "/api/v1/query?query=sum(", http.StatusBadRequest, "bad_data"},
		{"bad time", "/api/v1/query?query=up&time=yesterday", http.StatusBadRequest, "bad_data"},
		{"bad step", "/api/v1/query_range?query=up&start=0&end=10&step=0", http.StatusBadRequest, "bad_data"},
		{"execution error", `/api/v1/query?query=label_replace(vector(1),"x","y","z","(")`, http.StatusUnprocessableEntity, "execution"},
		{"unknown endpoint", "/api/v1/nope", http.StatusNotFound, ""},
		{"admin api off", "/api/v1/admin/tsdb/clean_tombstones", http.StatusMethodNotAllowed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := ts.get(tc.path)
			require.Equal(t, tc.code, code, body)
			if tc.errorType != "" {
				var r apiResponse
				require.NoError(t, json.Unmarshal([]byte(body), &r))
				require.Equal(t, "error", r.Status)
				require.Equal(t, tc.errorType, r.ErrorType)
				require.NotEmpty(t, r.Error)
			}
		})
	}
}

func TestQueryFormPOST(t *testing.T) {
	ts := startServer(t, serverConfig{})
	resp, err := ts.Client.PostForm(ts.Base+"/api/v1/query", map[string][]string{"query": {"1+1"}, "time": {"100"}})
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var r apiResponse
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&r))
	require.JSONEq(t, `{"resultType":"scalar","result":[100,"2"]}`, string(r.Data))
}

func TestStatusEndpoints(t *testing.T) {
	ts := startServer(t, serverConfig{
		prometheusYML: selfScrapeConfig + `
  - job_name: secret
    basic_auth:
      username: u
      password: hunter2-password
    static_configs:
      - targets: ["127.0.0.1:1"]
`,
	})
	code, r := ts.api("/api/v1/status/config")
	require.Equal(t, http.StatusOK, code)
	var cfg struct{ YAML string }
	require.NoError(t, json.Unmarshal(r.Data, &cfg))
	require.NotContains(t, cfg.YAML, "hunter2-password")
	require.Contains(t, cfg.YAML, "password: <secret>")
	require.NoError(t, ts.Reload(context.Background()))
	require.NotContains(t, ts.logs.String(), "hunter2-password", "secret in the log")

	code, r = ts.api("/api/v1/status/flags")
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"config.file":"prometheus.yml"}`, string(r.Data))

	code, r = ts.api("/api/v1/status/runtimeinfo")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(r.Data), `"reloadConfigSuccess":true`)
	// A day, or the 80% of /dev/shm's free space it may fill.
	require.Regexp(t, `"storageRetention":"1d or \d+(GiB|MiB)`, string(r.Data))

	for _, p := range []string{"buildinfo", "tsdb", "walreplay"} {
		code, r = ts.api("/api/v1/status/" + p)
		require.Equal(t, http.StatusOK, code, p)
		require.Equal(t, "success", r.Status, p)
	}
	for _, p := range []string{"rules", "alerts", "alertmanagers", "targets/metadata?match_target={job=\"miniprom\"}", "format_query?query=sum(up)by(job)", "parse_query?query=up", "query_exemplars?query=up&start=0&end=1"} {
		code, r = ts.api("/api/v1/" + p)
		require.Equal(t, http.StatusOK, code, p)
		require.Equal(t, "success", r.Status, p)
	}
}

func TestShutdownRemovesTempState(t *testing.T) {
	tmp := storagetest.MemoryDir(t)
	ts := startServer(t, serverConfig{options: func(o *server.Options) { o.MemoryDir = tmp }})
	ts.waitForSelfScrape()
	entries, err := os.ReadDir(tmp)
	require.NoError(t, err)
	require.NotEmpty(t, entries, "the TSDB's private dir lives in the memory dir while running")

	require.NoError(t, ts.stop())
	entries, err = os.ReadDir(tmp)
	require.NoError(t, err)
	require.Empty(t, entries)
}

// TestRequestBodyLimit: a body over the limit answers 413, as the README
// says (Prometheus: 400 "no expression found").
func TestRequestBodyLimit(t *testing.T) {
	ts := startServer(t, serverConfig{})
	huge := strings.NewReader("query=" + strings.Repeat("x", 40<<20))
	resp, err := ts.Client.Post(ts.Base+"/api/v1/query", "application/x-www-form-urlencoded", huge)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
}
