package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestScrapeConfigFeatures scrapes real HTTP targets with the parts of
// scrape_configs users lean on: auth, relabelling, honor_labels and limits.
func TestScrapeConfigFeatures(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); r.URL.Path == "/secure" && (!ok || u != "scraper" || p != "pa55") {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/bearer" && r.Header.Get("Authorization") != "Bearer t0ken" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.WriteString(w, "# TYPE thing_total counter\nthing_total{kind=\"a\",job=\"from-target\"} 1\nthing_total{kind=\"b\",job=\"from-target\"} 2\nthing_total{kind=\"c\",job=\"from-target\"} 3\nnoise 1\n")
	}))
	t.Cleanup(target.Close)
	addr := strings.TrimPrefix(target.URL, "http://")
	cfg := fmt.Sprintf(`
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: secure
    metrics_path: /secure
    basic_auth: {username: scraper, password: pa55}
    static_configs: [{targets: [%[1]q], labels: {env: test}}]
    relabel_configs:
      - {target_label: team, replacement: core}
    metric_relabel_configs:
      - {source_labels: [__name__], regex: noise, action: drop}
  - job_name: bearer
    metrics_path: /bearer
    authorization: {credentials: t0ken}
    honor_labels: true
    static_configs: [{targets: [%[1]q]}]
  - job_name: wrong-password
    metrics_path: /secure
    basic_auth: {username: scraper, password: nope}
    static_configs: [{targets: [%[1]q]}]
  - job_name: limited
    sample_limit: 2
    static_configs: [{targets: [%[1]q]}]
  - job_name: small-body
    body_size_limit: 10B
    static_configs: [{targets: [%[1]q]}]
`, addr)
	ts := startServer(t, serverConfig{prometheusYML: cfg})

	type targetState struct {
		ScrapePool string `json:"scrapePool"`
		Health     string `json:"health"`
		LastError  string `json:"lastError"`
	}
	health := func() map[string]targetState {
		_, r := ts.api("/api/v1/targets")
		var d struct {
			ActiveTargets []targetState `json:"activeTargets"`
		}
		require.NoError(t, json.Unmarshal(r.Data, &d))
		m := map[string]targetState{}
		for _, tg := range d.ActiveTargets {
			m[tg.ScrapePool] = tg
		}
		return m
	}
	ts.eventually(func() bool {
		h := health()
		for _, pool := range []string{"secure", "bearer", "wrong-password", "limited", "small-body"} {
			if h[pool].Health == "unknown" || h[pool].Health == "" {
				return false
			}
		}
		return true
	}, "not every target was scraped")

	h := health()
	require.Equal(t, "up", h["secure"].Health, h["secure"].LastError)
	require.Equal(t, "up", h["bearer"].Health, h["bearer"].LastError)
	require.Equal(t, "down", h["wrong-password"].Health)
	require.Contains(t, h["wrong-password"].LastError, "401")
	require.Equal(t, "down", h["limited"].Health)
	require.Contains(t, h["limited"].LastError, "sample limit")
	require.Equal(t, "down", h["small-body"].Health)
	require.Contains(t, h["small-body"].LastError, "body size limit")

	// Relabelling: the target label and static labels were added, the
	// target's job label was renamed (honor_labels off), noise was dropped.
	_, r := ts.api(`/api/v1/series?match[]=thing_total{job="secure"}`)
	var series []map[string]string
	require.NoError(t, json.Unmarshal(r.Data, &series))
	require.Len(t, series, 3)
	for _, s := range series {
		require.Equal(t, "core", s["team"])
		require.Equal(t, "test", s["env"])
		require.Equal(t, "from-target", s["exported_job"])
	}
	_, r = ts.api(`/api/v1/series?match[]=noise{job="secure"}`)
	require.JSONEq(t, `[]`, string(r.Data))

	// honor_labels keeps the target's job label.
	_, r = ts.api(`/api/v1/series?match[]=thing_total{job="from-target"}`)
	require.NoError(t, json.Unmarshal(r.Data, &series))
	require.Len(t, series, 3)
}
