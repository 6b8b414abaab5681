package server_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/server"
)

// TestExperimentalFunctionsNeedTheFeature: sort_by_label is refused as in
// Prometheus without --enable-feature=promql-experimental-functions, and
// works with it, in queries and in rule files alike.
func TestExperimentalFunctionsNeedTheFeature(t *testing.T) {
	const rule = "groups:\n  - name: g\n    rules:\n      - record: sorted\n        expr: sort_by_label(up, \"job\")\n"
	q := "/api/v1/query?query=" + url.QueryEscape(`sort_by_label(vector(1), "job")`)

	off := startServer(t, serverConfig{webConfigYML: "-"})
	code, r := off.api(q)
	require.Equal(t, 400, code)
	require.Contains(t, r.Error, "function \"sort_by_label\" is not enabled")
	// The same parser checks rule files: a reload with the rule fails.
	writeFile(t, off.Dir, "rules.yml", rule)
	writeFile(t, off.Dir, "prometheus.yml", selfScrapeConfig+"rule_files: [rules.yml]\n")
	require.ErrorContains(t, off.Reload(t.Context()), "sort_by_label")

	on := startServer(t, serverConfig{
		webConfigYML:  "-",
		prometheusYML: selfScrapeConfig + "rule_files: [rules.yml]\n",
		files:         map[string]string{"rules.yml": rule},
		options: func(o *server.Options) {
			f, err := server.ParseFeatures([]string{"promql-experimental-functions,promql-delayed-name-removal"}, false, promslog.NewNopLogger())
			require.NoError(t, err)
			o.Features = f
		},
	})
	code, r = on.api(q)
	require.Equal(t, 200, code, r.Error)
	require.Contains(t, string(r.Data), `"value":[`)

	// /api/v1/features reports what is on, from upstream's registry.
	code, r = on.api("/api/v1/features")
	require.Equal(t, 200, code, r.Error)
	var feats map[string]map[string]bool
	require.NoError(t, json.Unmarshal(r.Data, &feats))
	assert.True(t, feats["promql_functions"]["sort_by_label"])
	assert.True(t, feats["promql"]["delayed_name_removal"])
	assert.True(t, feats["prometheus"]["server_mode"])
	assert.False(t, feats["prometheus"]["agent_mode"])
	assert.True(t, feats["service_discovery_providers"]["file"])
	assert.True(t, feats["rules"]["keep_firing_for"])
	assert.True(t, feats["api"]["query_stats"])
	assert.NotEmpty(t, feats["templating_functions"])
	code, r = off.api("/api/v1/features")
	require.Equal(t, 200, code)
	require.NoError(t, json.Unmarshal(r.Data, &feats))
	assert.False(t, feats["promql_functions"]["sort_by_label"])
}

// TestBlocksIsEmptyList: in memory there are no blocks, and Prometheus
// answers an empty list, not null.
func TestBlocksIsEmptyList(t *testing.T) {
	ts := startServer(t, serverConfig{webConfigYML: "-"})
	code, body := ts.get("/api/v1/status/tsdb/blocks")
	require.Equal(t, 200, code)
	require.JSONEq(t, `{"status":"success","data":{"blocks":[]}}`, body)
}

// TestAutoReload: with an auto-reload interval, a change to the config file
// is applied without SIGHUP; a broken file is retried until it is fixed.
func TestAutoReload(t *testing.T) {
	ts := startServer(t, serverConfig{
		webConfigYML: "-",
		options:      func(o *server.Options) { o.Tuning.AutoReloadInterval = time.Second },
	})
	reloads := func() int { return strings.Count(ts.logs.String(), "Completed loading of configuration file") }
	writeFile(t, ts.Dir, "prometheus.yml", strings.Replace(selfScrapeConfig, "scrape_interval: 1s", "scrape_interval: 3s", 1))
	ts.eventually(func() bool {
		_, r := ts.api("/api/v1/status/config")
		return strings.Contains(string(r.Data), "scrape_interval: 3s")
	}, "config change never applied")
	require.Contains(t, ts.logs.String(), "Configuration file change detected")

	writeFile(t, ts.Dir, "prometheus.yml", "global: [\n")
	ts.eventually(func() bool { return strings.Count(ts.logs.String(), "Error reloading config") >= 2 }, "broken config not retried")
	before := reloads()
	writeFile(t, ts.Dir, "prometheus.yml", selfScrapeConfig)
	ts.eventually(func() bool { return reloads() == before+1 }, "fixed config never applied")
}

// TestRuntimeLogLevel: runtime.log_level in the config file sets the log
// level at start and at each reload, as in Prometheus.
func TestRuntimeLogLevel(t *testing.T) {
	level := promslog.NewLevel()
	require.NoError(t, level.Set("info"))
	withLevel := func(l string) string {
		return strings.Replace(selfScrapeConfig, "global:\n", "runtime:\n  log_level: "+l+"\nglobal:\n", 1)
	}
	logs := &syncBuffer{}
	ts := startServer(t, serverConfig{
		webConfigYML:  "-",
		prometheusYML: withLevel("debug"),
		options: func(o *server.Options) {
			o.Logger = promslog.New(&promslog.Config{Level: level, Writer: logs})
			o.Tuning.LogLevel = level
		},
	})
	require.Equal(t, "debug", level.String())
	ts.eventually(func() bool { return strings.Contains(logs.String(), "level=DEBUG") }, "no debug log at runtime.log_level: debug")

	writeFile(t, ts.Dir, "prometheus.yml", withLevel("warn"))
	require.NoError(t, ts.Reload(t.Context()))
	require.Equal(t, "warn", level.String())
}

// TestStartTimestampStorage: st-storage reaches the TSDB, which then
// reports it in /api/v1/features as Prometheus's does.
func TestStartTimestampStorage(t *testing.T) {
	ts := startServer(t, serverConfig{
		webConfigYML: "-",
		options: func(o *server.Options) {
			f, err := server.ParseFeatures([]string{"st-storage"}, false, promslog.NewNopLogger())
			require.NoError(t, err)
			o.Features = f
		},
	})
	ts.waitForSelfScrape()
	code, r := ts.api("/api/v1/features")
	require.Equal(t, 200, code)
	var feats map[string]map[string]bool
	require.NoError(t, json.Unmarshal(r.Data, &feats))
	assert.True(t, feats["tsdb"]["st_storage"])
	assert.True(t, feats["tsdb"]["histograms_st_encoding"])
}

// TestUserAssets: --web.user-assets serves a directory at /user/, under the
// route prefix, as Prometheus does.
func TestUserAssets(t *testing.T) {
	assets := t.TempDir()
	writeFile(t, assets, "logo.txt", "hello from assets")
	ts := startServer(t, serverConfig{
		webConfigYML: "-",
		options:      func(o *server.Options) { o.Tuning.UserAssetsPath = assets; o.RoutePrefix = "/prom" },
	})
	code, body := ts.get("/user/logo.txt")
	require.Equal(t, 200, code)
	require.Equal(t, "hello from assets", body)
}

// TestFederationUsesFeatureParser: with promql-unquoted-utf8-names,
// /federate accepts dotted metric names in match[], as queries do.
func TestFederationUsesFeatureParser(t *testing.T) {
	match := "/federate?match[]=" + url.QueryEscape("app.requests_total")
	off := startServer(t, serverConfig{webConfigYML: "-"})
	code, _ := off.get(match)
	require.Equal(t, 400, code)
	on := startServer(t, serverConfig{
		webConfigYML: "-",
		options: func(o *server.Options) {
			f, err := server.ParseFeatures([]string{"promql-unquoted-utf8-names"}, false, promslog.NewNopLogger())
			require.NoError(t, err)
			o.Features = f
		},
	})
	code, body := on.get(match)
	require.Equal(t, 200, code, body)
}

// TestTuningReachesManagers: flags beyond the core set reach upstream's
// managers, seen in the self-metrics that report them.
func TestTuningReachesManagers(t *testing.T) {
	ts := startServer(t, serverConfig{
		webConfigYML: "-",
		options: func(o *server.Options) {
			o.Tuning.NotificationQueueCapacity = 123
		},
	})
	_, body := ts.get("/metrics")
	require.Contains(t, body, "\nprometheus_notifications_queue_capacity 123\n")
}
