package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/server"
)

// TestSeriesLimit scrapes a real target whose series grow to ten times
// --storage.max-series. The server keeps the series it has, refuses new
// ones with a reason in the target's last error and a counter, keeps
// writing the old ones and answering queries; remote write at the bound
// answers 400 naming the limit.
func TestSeriesLimit(t *testing.T) {
	const limit = 1000
	var scrapes atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := min(int(scrapes.Add(1))*limit/2, 10*limit)
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "grow_series{i=\"%d\"} %d\n", i, i)
		}
		w.Write([]byte(b.String()))
	}))
	t.Cleanup(target.Close)
	ts := startServer(t, serverConfig{
		prometheusYML: fmt.Sprintf(`
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: grow
    static_configs: [{targets: [%q]}]
`, strings.TrimPrefix(target.URL, "http://")),
		options: func(o *server.Options) {
			o.MaxSeries = limit
			o.EnableRemoteWriteReceiver = true
		},
	})

	// The target outgrows the bound: its last error says what happened.
	ts.eventually(func() bool {
		_, r := ts.api("/api/v1/targets")
		return strings.Contains(string(r.Data), "limit of 1000 series (--storage.max-series)")
	}, "the target never reported the refusal")
	ts.eventually(func() bool { return scrapes.Load() > 20 }, "the target stopped being scraped")

	// Existing series are still written; the series count holds at the
	// bound (the scrape's own up/scrape_* series are among them).
	// count is safe to poll: it fails no test, it answers -1.
	count := func(q string) float64 {
		resp, err := ts.Client.Get(ts.Base + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return -1
		}
		defer resp.Body.Close()
		var r struct {
			Data struct{ Result []struct{ Value [2]any } }
		}
		if json.NewDecoder(resp.Body).Decode(&r) != nil || len(r.Data.Result) != 1 {
			return -1
		}
		s, _ := r.Data.Result[0].Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return -1
		}
		return v
	}
	all := count(`count({__name__=~".+"})`)
	require.Positive(t, all)
	require.LessOrEqual(t, all, float64(limit))
	require.Greater(t, count(`count({__name__="grow_series"})`), float64(limit-10))
	written := count(`count_over_time(grow_series{i="0"}[1h])`)
	ts.eventually(func() bool { return count(`count_over_time(grow_series{i="0"}[1h])`) > written },
		"an existing series stopped being written")

	_, metrics := ts.get("/metrics")
	require.Regexp(t, `miniprom_tsdb_series_refused_total [1-9]`, metrics)
	require.Contains(t, metrics, "miniprom_tsdb_series_limit 1000")

	resp, body := ts.postBody("/api/v1/write", rw1Body(t, "brand_new", time.Now().UnixMilli(), 1), map[string]string{
		"Content-Type": rw1ContentType, "Content-Encoding": "snappy", "X-Prometheus-Remote-Write-Version": "0.1.0",
	})
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Contains(t, body, "limit of 1000 series")
}
