package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// refPrometheusEnv names the Prometheus 3.16 binary the compatibility test
// compares against; .ci/run builds it and sets it.
const refPrometheusEnv = "MINIPROM_REF_PROMETHEUS"

// fixtureStart is the first timestamp of the fixture data, in whole minutes
// so query times line up.
func fixtureStart() time.Time { return time.Now().Add(-30 * time.Minute).Truncate(time.Minute) }

// fixtureExposition serves the same samples, with explicit timestamps, to
// every scraper: both servers then hold identical data whenever they scrape.
func fixtureExposition(start time.Time) string {
	var b strings.Builder
	b.WriteString("# HELP demo_requests_total Requests served.\n# TYPE demo_requests_total counter\n")
	for i := range 20 {
		ts := start.Add(time.Duration(i) * 15 * time.Second).UnixMilli()
		for _, s := range []struct{ method, code string }{{"get", "200"}, {"get", "500"}, {"post", "200"}} {
			fmt.Fprintf(&b, "demo_requests_total{method=%q,code=%q} %d %d\n", s.method, s.code, i*len(s.method)*7+len(s.code), ts)
		}
	}
	b.WriteString("# HELP demo_temperature_celsius Room temperature.\n# TYPE demo_temperature_celsius gauge\n")
	for i := range 20 {
		ts := start.Add(time.Duration(i) * 15 * time.Second).UnixMilli()
		for j, room := range []string{"kitchen", "lab", "attic"} {
			fmt.Fprintf(&b, "demo_temperature_celsius{room=%q} %g %d\n", room, 18.5+float64((i*(j+3))%7)/2, ts)
		}
	}
	b.WriteString("# HELP demo_latency_seconds Request latency.\n# TYPE demo_latency_seconds histogram\n")
	for i := range 20 {
		ts := start.Add(time.Duration(i) * 15 * time.Second).UnixMilli()
		cum := 0
		for k, le := range []string{"0.1", "0.5", "1", "+Inf"} {
			cum += i*(4-k) + 1
			fmt.Fprintf(&b, "demo_latency_seconds_bucket{le=%q} %d %d\n", le, cum, ts)
		}
		fmt.Fprintf(&b, "demo_latency_seconds_sum %g %d\n", float64(i)*1.25, ts)
		fmt.Fprintf(&b, "demo_latency_seconds_count %d %d\n", cum, ts)
	}
	return b.String()
}

// TestCompatibilityWithPrometheus serves the same data to miniprom and to a
// real Prometheus 3.16 and asserts that the API answers with the same status
// code and byte-for-byte the same JSON.
func TestCompatibilityWithPrometheus(t *testing.T) {
	ref := os.Getenv(refPrometheusEnv)
	if ref == "" {
		t.Skipf("set %s to a Prometheus 3.16 binary (.ci/run builds one)", refPrometheusEnv)
	}
	start := fixtureStart()
	body := fixtureExposition(start)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		io.WriteString(w, body)
	}))
	t.Cleanup(target.Close)
	cfg := fmt.Sprintf(`
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: fixture
    static_configs:
      - targets: [%q]
`, strings.TrimPrefix(target.URL, "http://"))

	mini := startServer(t, serverConfig{prometheusYML: cfg, webConfigYML: "-"})
	promURL := startReferencePrometheus(t, ref, cfg)

	ready := func(base string) func() bool {
		return func() bool {
			resp, err := http.Get(base + "/api/v1/query?query=count(demo_latency_seconds_count)&time=" + fmt.Sprint(start.Add(5*time.Minute).Unix()))
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return bytes.Contains(b, []byte(`"1"]`))
		}
	}
	require.Eventually(t, ready(mini.Base), 30*time.Second, 50*time.Millisecond, "miniprom never stored the fixture")
	require.Eventually(t, ready(promURL), 60*time.Second, 100*time.Millisecond, "Prometheus never stored the fixture")

	at := fmt.Sprint(start.Add(3 * time.Minute).Unix())
	from, to := fmt.Sprint(start.Unix()), fmt.Sprint(start.Add(5*time.Minute).Unix())
	q := func(expr string) string { return url.QueryEscape(expr) }
	match := "match[]=" + q(`{__name__=~"demo_.*"}`)
	for _, path := range []string{
		"/api/v1/query?time=" + at + "&query=" + q("demo_requests_total"),
		"/api/v1/query?time=" + at + "&query=" + q("sum by (method) (rate(demo_requests_total[1m]))"),
		"/api/v1/query?time=" + at + "&query=" + q("histogram_quantile(0.9, rate(demo_latency_seconds_bucket[2m]))"),
		"/api/v1/query?time=" + at + "&query=" + q("demo_temperature_celsius[1m]"),
		"/api/v1/query?time=" + at + "&query=" + q("scalar(max(demo_temperature_celsius))"),
		"/api/v1/query?time=" + at + "&query=" + q(`"a string"`),
		"/api/v1/query?time=" + at + "&query=" + q("topk(2, demo_temperature_celsius) > 19"),
		"/api/v1/query?time=" + at + "&query=" + q("absent(nope)"),
		"/api/v1/query?time=" + at + "&query=" + q("demo_requests_total offset 1m / on(method,code) demo_requests_total"),
		"/api/v1/query?time=" + at + "&query=" + q("avg_over_time(demo_temperature_celsius[2m:30s])"),
		"/api/v1/query?time=" + at + "&query=" + q("rate(demo_requests_total[5m])") + "&limit=2",
		"/api/v1/query_range?start=" + from + "&end=" + to + "&step=30&query=" + q("demo_temperature_celsius"),
		"/api/v1/query_range?start=" + from + "&end=" + to + "&step=60&query=" + q("sum(increase(demo_requests_total[2m]))"),
		"/api/v1/series?start=" + from + "&end=" + to + "&" + match,
		"/api/v1/labels?start=" + from + "&end=" + to + "&" + match,
		"/api/v1/label/__name__/values?start=" + from + "&end=" + to + "&" + match,
		"/api/v1/label/room/values",
		"/api/v1/label/nope/values",
		"/api/v1/metadata?metric=demo_requests_total",
		"/api/v1/metadata?limit=1&metric=demo_latency_seconds",
		"/api/v1/targets/metadata?metric=demo_temperature_celsius",
		"/api/v1/scrape_pools",
		"/api/v1/status/config",
		"/api/v1/rules",
		"/api/v1/status/walreplay",
		"/api/v1/alerts",
		"/api/v1/alertmanagers",
		"/api/v1/query_exemplars?start=" + from + "&end=" + to + "&query=" + q("demo_requests_total"),
		"/api/v1/format_query?query=" + q("sum(rate(x[5m]))by(job)"),
		"/api/v1/parse_query?query=" + q("sum by (job) (rate(x[5m]))"),
		// Errors: the envelope, status code and message.
		"/api/v1/query?query=" + q("sum("),
		"/api/v1/query?query=up&time=bad",
		"/api/v1/query_range?query=up&start=10&end=0&step=1",
		"/api/v1/query_range?query=up&start=0&end=100000000&step=1",
		"/api/v1/query?time=" + at + "&query=" + q(`label_replace(vector(1),"a","b","c","(")`),
		"/api/v1/series",
		"/api/v1/label/" + q("bad name!") + "/values",
		"/api/v1/query_exemplars?query=" + q("sum("),
		"/api/v1/admin/tsdb/snapshot",
	} {
		t.Run(path, func(t *testing.T) {
			wantCode, want, err := fetch(nil, http.MethodGet, promURL+path)
			require.NoError(t, err)
			gotCode, got, err := fetch(nil, http.MethodGet, mini.Base+path)
			require.NoError(t, err)
			require.Equal(t, wantCode, gotCode, "status code\nPrometheus: %s\nminiprom:   %s", want, got)
			require.Equal(t, want, got)
		})
	}
	// TSDB status: the head's newest timestamp is the last scrape's, and
	// upstream orders equal counts by map iteration; the rest is identical.
	t.Run("/api/v1/status/tsdb", func(t *testing.T) {
		normalize := func(body string) map[string]any {
			var r struct {
				Data map[string]any `json:"data"`
			}
			require.NoError(t, json.Unmarshal([]byte(body), &r), body)
			delete(r.Data["headStats"].(map[string]any), "maxTime")
			for k, v := range r.Data {
				if list, ok := v.([]any); ok {
					sort.Slice(list, func(i, j int) bool {
						return fmt.Sprint(list[i]) < fmt.Sprint(list[j])
					})
					r.Data[k] = list
				}
			}
			return r.Data
		}
		wantCode, want, err := fetch(nil, http.MethodGet, promURL+"/api/v1/status/tsdb?limit=3")
		require.NoError(t, err)
		gotCode, got, err := fetch(nil, http.MethodGet, mini.Base+"/api/v1/status/tsdb?limit=3")
		require.NoError(t, err)
		require.Equal(t, wantCode, gotCode)
		require.Equal(t, normalize(want), normalize(got))
	})
	// A dashboard refresh: the range queries again, as asked and slid
	// forward, now answered (partly) from miniprom's results cache, and
	// still byte-for-byte Prometheus's answers.
	t.Run("range queries from the results cache", func(t *testing.T) {
		cachedSteps := func() float64 {
			return mini.metricValue("miniprom_query_cache_steps_total", map[string]string{"result": "hit"})
		}
		before := cachedSteps()
		for _, expr := range []string{"demo_temperature_celsius", "sum(increase(demo_requests_total[2m]))", "histogram_quantile(0.9, rate(demo_latency_seconds_bucket[2m]))"} {
			for _, slide := range []time.Duration{0, 0, 30 * time.Second, 2 * time.Minute} {
				path := fmt.Sprintf("/api/v1/query_range?start=%d&end=%d&step=30&query=%s",
					start.Add(slide).Unix(), start.Add(5*time.Minute+slide).Unix(), q(expr))
				wantCode, want, err := fetch(nil, http.MethodGet, promURL+path)
				require.NoError(t, err)
				gotCode, got, err := fetch(nil, http.MethodGet, mini.Base+path)
				require.NoError(t, err)
				require.Equal(t, wantCode, gotCode, path)
				require.Equal(t, want, got, path)
			}
		}
		require.Greater(t, cachedSteps(), before, "no answer came from the cache")
	})
	t.Run("POST form", func(t *testing.T) {
		form := url.Values{"query": {"sum(demo_temperature_celsius)"}, "time": {at}}
		want := postForm(t, promURL+"/api/v1/query", form)
		got := postForm(t, mini.Base+"/api/v1/query", form)
		require.Equal(t, want, got)
	})
}

func postForm(t *testing.T, u string, form url.Values) string {
	t.Helper()
	resp, err := http.PostForm(u, form)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return fmt.Sprint(resp.StatusCode, " ", string(b))
}

// startReferencePrometheus runs the real Prometheus on a free loopback port
// with cfg and args and returns its base URL.
func startReferencePrometheus(t *testing.T, bin, cfg string, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "prometheus.yml", cfg)
	port := freePort(t)
	cmd := exec.Command(bin, append([]string{
		"--config.file=" + filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=127.0.0.1:" + port,
		// miniprom's in-memory default; Prometheus's is 15d.
		"--storage.tsdb.retention.time=1d",
	}, args...)...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	base := "http://127.0.0.1:" + port
	require.Eventually(t, httpOK(http.DefaultClient, base+"/-/ready"), 60*time.Second, 100*time.Millisecond, "Prometheus never became ready")
	return base
}
