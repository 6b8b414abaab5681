package server_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/server"
)

func lifecycleOn(o *server.Options) { o.EnableLifecycle = true }

func TestReloadGoodAndBad(t *testing.T) {
	ts := startServer(t, serverConfig{options: lifecycleOn})
	ts.waitForSelfScrape()

	// A good change: a second job appears.
	writeFile(t, ts.Dir, "prometheus.yml", selfScrapeConfig+`
  - job_name: second
    static_configs:
      - targets: ["127.0.0.1:1"]
`)
	code, body := ts.post("/-/reload")
	require.Equal(t, http.StatusOK, code, body)
	// Scrape pools follow once discovery has synced.
	ts.eventually(func() bool {
		_, r := ts.api("/api/v1/scrape_pools")
		return string(r.Data) == `{"scrapePools":["miniprom","second"]}`
	}, "the new job never appeared")
	require.Equal(t, 1.0, ts.metricValue("prometheus_config_last_reload_successful", nil))

	// A bad change: the server answers 500, names the file, and keeps the
	// running configuration.
	writeFile(t, ts.Dir, "prometheus.yml", "scrape_configs:\n  - job_name: [oops\n")
	code, body = ts.post("/-/reload")
	require.Equal(t, http.StatusInternalServerError, code)
	require.Contains(t, body, "failed to reload config")
	require.Contains(t, body, "prometheus.yml")
	require.Equal(t, 0.0, ts.metricValue("prometheus_config_last_reload_successful", nil))
	code, r := ts.api("/api/v1/scrape_pools")
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"scrapePools":["miniprom","second"]}`, string(r.Data))
	code, r = ts.api("/api/v1/status/runtimeinfo")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(r.Data), `"reloadConfigSuccess":false`)
	// Still scraping and answering on the old config.
	ts.waitForSelfScrape()

	// The same path as SIGHUP, called directly.
	require.Error(t, ts.Reload(context.Background()))
	writeFile(t, ts.Dir, "prometheus.yml", selfScrapeConfig)
	require.NoError(t, ts.Reload(context.Background()))
	require.Equal(t, 1.0, ts.metricValue("prometheus_config_last_reload_successful", nil))
}

func TestBadRuleFileKeepsOldConfig(t *testing.T) {
	ts := startServer(t, serverConfig{options: lifecycleOn})
	writeFile(t, ts.Dir, "rules.yml", "groups:\n  - name: g\n    rules:\n      - record: x\n        expr: sum(\n")
	writeFile(t, ts.Dir, "prometheus.yml", selfScrapeConfig+"rule_files: [rules.yml]\n")
	code, body := ts.post("/-/reload")
	require.Equal(t, http.StatusInternalServerError, code)
	require.Contains(t, body, "rules.yml")
	code, r := ts.api("/api/v1/status/config")
	require.Equal(t, http.StatusOK, code)
	require.NotContains(t, string(r.Data), "rules.yml")
}

func TestLifecycleEndpoints(t *testing.T) {
	t.Run("off by default", func(t *testing.T) {
		ts := startServer(t, serverConfig{})
		for _, p := range []string{"/-/reload", "/-/quit"} {
			code, body := ts.post(p)
			require.Equal(t, http.StatusForbidden, code, p)
			require.Equal(t, "Lifecycle API is not enabled.", body)
			code, _ = ts.get(p)
			require.Equal(t, http.StatusMethodNotAllowed, code, p)
		}
	})
	t.Run("quit stops the server", func(t *testing.T) {
		ts := startServer(t, serverConfig{options: lifecycleOn})
		code, body := ts.post("/-/quit")
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, "Requesting termination... Goodbye!", body)
		require.NoError(t, <-ts.done)
		ts.cancel = nil
	})
}

// TestReloadAllOrNothing: a config that loads but that a component would
// refuse halfway (an Alertmanager CA file that does not exist) changes
// nothing: before, the rules and scrape jobs of the new config were running
// while /api/v1/status/config still showed the old one.
func TestReloadAllOrNothing(t *testing.T) {
	ts := startServer(t, serverConfig{options: lifecycleOn})
	ts.waitForSelfScrape()
	_, before := ts.api("/api/v1/status/config")

	writeFile(t, ts.Dir, "rules.yml", "groups:\n  - name: new\n    rules:\n      - record: new_rule\n        expr: vector(1)\n")
	writeFile(t, ts.Dir, "prometheus.yml", selfScrapeConfig+`
  - job_name: second
    static_configs:
      - targets: ["127.0.0.1:1"]
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - tls_config:
        ca_file: no-such-ca.crt
      static_configs:
        - targets: ["127.0.0.1:2"]
`)
	code, body := ts.post("/-/reload")
	require.Equal(t, http.StatusInternalServerError, code, body)
	require.Contains(t, body, "no-such-ca.crt")

	_, r := ts.api("/api/v1/rules")
	require.NotContains(t, string(r.Data), "new_rule", "the rules of the refused config run")
	_, r = ts.api("/api/v1/status/config")
	require.Equal(t, string(before.Data), string(r.Data))
	_, r = ts.api("/api/v1/scrape_pools")
	require.Equal(t, `{"scrapePools":["miniprom"]}`, string(r.Data))
	require.Equal(t, 0.0, ts.metricValue("prometheus_config_last_reload_successful", nil))
}
