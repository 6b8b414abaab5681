package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/server"
)

// rwSeries is a remote write 1.0 body with one series.
func rwSeries(t testing.TB, lbls map[string]string, samples []prompb.Sample) []byte {
	t.Helper()
	ts := prompb.TimeSeries{Samples: samples}
	ts.Labels = append(ts.Labels, prompb.Label{Name: "__name__", Value: lbls["__name__"]})
	for k, v := range lbls {
		if k != "__name__" {
			ts.Labels = append(ts.Labels, prompb.Label{Name: k, Value: v})
		}
	}
	b, err := (&prompb.WriteRequest{Timeseries: []prompb.TimeSeries{ts}}).Marshal()
	require.NoError(t, err)
	return snappy.Encode(nil, b)
}

// A dashboard's second look at the same window comes from the cache, and
// what makes cached steps wrong (a backfilled sample, an admin delete)
// drops them: the answers follow the data.
func TestQueryCacheFollowsBackfillAndDeletes(t *testing.T) {
	ts := startServer(t, serverConfig{
		prometheusYML: "global: {}\n",
		options: func(o *server.Options) {
			o.EnableRemoteWriteReceiver = true
			o.EnableAdminAPI = true
		},
	})
	now := time.Now().Truncate(time.Minute)
	var samples []prompb.Sample
	for at := now.Add(-time.Hour); !at.After(now); at = at.Add(15 * time.Second) {
		samples = append(samples, prompb.Sample{Timestamp: at.UnixMilli(), Value: float64(at.Unix() % 1000)})
	}
	ts.remoteWrite(rwSeries(t, map[string]string{"__name__": "dash_metric", "source": "live"}, samples))

	// A window ending 20 minutes ago is final: every step can be cached.
	start, end := now.Add(-50*time.Minute), now.Add(-20*time.Minute)
	hits := func() float64 {
		return ts.metricValue("miniprom_query_cache_range_queries_total", map[string]string{"result": "hit"})
	}
	require.Len(t, ts.queryRangeSeries("dash_metric", start, end, 30*time.Second), 1)
	before := hits()
	require.Len(t, ts.queryRangeSeries("dash_metric", start, end, 30*time.Second), 1)
	require.Equal(t, before+1, hits(), "the second identical query came from the cache")

	// A new series backfilled into the window: the cached answer is stale.
	invalidations := ts.metricValue("miniprom_query_cache_invalidations_total", nil)
	ts.remoteWrite(rwSeries(t, map[string]string{"__name__": "dash_metric", "source": "late"},
		[]prompb.Sample{{Timestamp: now.Add(-30 * time.Minute).UnixMilli(), Value: 1}}))
	require.Equal(t, invalidations+1, ts.metricValue("miniprom_query_cache_invalidations_total", nil))
	require.ElementsMatch(t, []map[string]string{
		{"__name__": "dash_metric", "source": "live"},
		{"__name__": "dash_metric", "source": "late"},
	}, ts.queryRangeSeries("dash_metric", start, end, 30*time.Second))

	// Now cached again with both series; an admin delete drops one.
	require.Len(t, ts.queryRangeSeries("dash_metric", start, end, 30*time.Second), 2)
	code, body := ts.post("/api/v1/admin/tsdb/delete_series?match[]=" + url.QueryEscape(`dash_metric{source="late"}`))
	require.Equal(t, http.StatusNoContent, code, body)
	require.Equal(t, []map[string]string{{"__name__": "dash_metric", "source": "live"}},
		ts.queryRangeSeries("dash_metric", start, end, 30*time.Second))

	require.Positive(t, ts.metricValue("miniprom_query_cache_size_bytes", nil))
}

// --query.cache-size=0 turns the cache off; range queries still work.
func TestQueryCacheOff(t *testing.T) {
	ts := startServer(t, serverConfig{
		prometheusYML: "global: {}\n",
		options: func(o *server.Options) {
			o.EnableRemoteWriteReceiver = true
			o.QueryCacheSize = 0
		},
	})
	now := time.Now().Truncate(time.Minute)
	ts.remoteWrite(rwSeries(t, map[string]string{"__name__": "dash_metric"},
		[]prompb.Sample{{Timestamp: now.Add(-30 * time.Minute).UnixMilli(), Value: 1}}))
	require.Len(t, ts.queryRangeSeries("dash_metric", now.Add(-40*time.Minute), now.Add(-20*time.Minute), time.Minute), 1)
	mfs, err := ts.Registry().Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		require.NotEqual(t, "miniprom_query_cache_range_queries_total", mf.GetName())
	}
}

// With a query log, every query goes to the engine, so the log lists them
// all as Prometheus's does.
func TestQueryCacheBypassedWithQueryLog(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, serverConfig{
		prometheusYML: fmt.Sprintf("global:\n  query_log_file: %s/queries.log\n", dir),
		options:       func(o *server.Options) { o.EnableRemoteWriteReceiver = true },
	})
	now := time.Now().Truncate(time.Minute)
	ts.remoteWrite(rwSeries(t, map[string]string{"__name__": "dash_metric"},
		[]prompb.Sample{{Timestamp: now.Add(-30 * time.Minute).UnixMilli(), Value: 1}}))
	for range 2 {
		require.Len(t, ts.queryRangeSeries("dash_metric", now.Add(-40*time.Minute), now.Add(-20*time.Minute), time.Minute), 1)
	}
	require.Equal(t, 2.0, ts.metricValue("miniprom_query_cache_range_queries_total", map[string]string{"result": "bypass", "reason": "query_log"}))
	require.Zero(t, ts.metricValue("miniprom_query_cache_range_queries_total", map[string]string{"result": "hit"}))
	log, err := os.ReadFile(filepath.Join(dir, "queries.log"))
	require.NoError(t, err)
	require.Equal(t, 2, strings.Count(string(log), `"query":"dash_metric"`))
}

// The TSDB loads blocks copied into --storage.tsdb.path (a backfill with
// promtool tsdb create-blocks-from, a restored snapshot) at its next block
// reload, without any append the cache's tracker sees: cached answers must
// follow them all the same.
func TestQueryCacheFollowsBlocksAddedToTheDataDir(t *testing.T) {
	data := t.TempDir()
	ts := startServer(t, serverConfig{
		prometheusYML: "global: {}\n",
		options: func(o *server.Options) {
			durable(data)(o)
			o.Tuning.BlockReloadInterval = time.Second
		},
	})
	now := time.Now().Truncate(time.Minute)
	var samples []prompb.Sample
	for at := now.Add(-time.Hour); !at.After(now); at = at.Add(15 * time.Second) {
		samples = append(samples, prompb.Sample{Timestamp: at.UnixMilli(), Value: 1})
	}
	ts.remoteWrite(rwSeries(t, map[string]string{"__name__": "dash_metric", "source": "live"}, samples))

	// A first block sets the oldest sample storage holds, which the cache
	// watches; the second, inside the window, moves nothing.
	addBlock(t, ts, data, "early", now.Add(-55*time.Minute))
	start, end := now.Add(-50*time.Minute), now.Add(-20*time.Minute)
	require.Len(t, ts.queryRangeSeries("dash_metric", start, end, 30*time.Second), 1)
	require.Len(t, ts.queryRangeSeries("dash_metric", start, end, 30*time.Second), 1)
	require.Equal(t, 1.0, ts.metricValue("miniprom_query_cache_range_queries_total", map[string]string{"result": "hit"}))

	addBlock(t, ts, data, "late", now.Add(-30*time.Minute))
	require.ElementsMatch(t, []map[string]string{
		{"__name__": "dash_metric", "source": "live"},
		{"__name__": "dash_metric", "source": "late"},
	}, ts.queryRangeSeries("dash_metric", start, end, 30*time.Second))
}

// addBlock writes a block with one sample of dash_metric{source=source}
// elsewhere, moves it into the data directory and waits until queries see
// it.
func addBlock(t *testing.T, ts *testServer, data, source string, at time.Time) {
	t.Helper()
	other, err := tsdb.Open(t.TempDir(), nil, nil, tsdb.DefaultOptions(), nil)
	require.NoError(t, err)
	app := other.Appender(context.Background())
	_, err = app.Append(0, labels.FromStrings("__name__", "dash_metric", "source", source), at.UnixMilli(), 2)
	require.NoError(t, err)
	require.NoError(t, app.Commit())
	blocks := t.TempDir()
	require.NoError(t, other.Snapshot(blocks, true))
	require.NoError(t, other.Close())
	entries, err := os.ReadDir(blocks)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.NoError(t, os.Rename(filepath.Join(blocks, entries[0].Name()), filepath.Join(data, entries[0].Name())))

	q := url.Values{"query": {fmt.Sprintf(`dash_metric{source=%q}`, source)}, "time": {fmt.Sprint(at.Unix())}}
	require.Eventually(t, func() bool {
		code, r := ts.api("/api/v1/query?" + q.Encode())
		return code == http.StatusOK && strings.Contains(string(r.Data), source)
	}, 30*time.Second, 100*time.Millisecond, "the TSDB loads the block")
}

// Statistics (stats=true) describe an evaluation of the whole range, so a
// query asking for them is not answered from the cache.
func TestQueryCacheLeavesStatsToTheEngine(t *testing.T) {
	ts := startServer(t, serverConfig{
		prometheusYML: "global: {}\n",
		options:       func(o *server.Options) { o.EnableRemoteWriteReceiver = true },
	})
	now := time.Now().Truncate(time.Minute)
	var samples []prompb.Sample
	for at := now.Add(-time.Hour); !at.After(now); at = at.Add(15 * time.Second) {
		samples = append(samples, prompb.Sample{Timestamp: at.UnixMilli(), Value: 1})
	}
	ts.remoteWrite(rwSeries(t, map[string]string{"__name__": "dash_metric"}, samples))
	v := url.Values{"query": {"dash_metric"}, "stats": {"true"}, "step": {"30s"},
		"start": {fmt.Sprint(now.Add(-50 * time.Minute).Unix())}, "end": {fmt.Sprint(now.Add(-20 * time.Minute).Unix())}}
	queryable := func() float64 {
		code, r := ts.api("/api/v1/query_range?" + v.Encode())
		require.Equal(t, http.StatusOK, code, r.Error)
		var data struct {
			Stats struct {
				Samples struct {
					TotalQueryableSamples float64 `json:"totalQueryableSamples"`
				} `json:"samples"`
			} `json:"stats"`
		}
		require.NoError(t, json.Unmarshal(r.Data, &data))
		return data.Stats.Samples.TotalQueryableSamples
	}
	first := queryable()
	require.Positive(t, first)
	require.Equal(t, first, queryable())
	require.Zero(t, ts.metricValue("miniprom_query_cache_range_queries_total", map[string]string{"result": "hit"}))
	require.Equal(t, 2.0, ts.metricValue("miniprom_query_cache_range_queries_total", map[string]string{"result": "bypass", "reason": "stats"}))

	// Without stats, the same query is cached.
	v.Del("stats")
	for range 2 {
		code, r := ts.api("/api/v1/query_range?" + v.Encode())
		require.Equal(t, http.StatusOK, code, r.Error)
	}
	require.Equal(t, 1.0, ts.metricValue("miniprom_query_cache_range_queries_total", map[string]string{"result": "hit"}))
}

// Range queries the cache must evaluate are split into sub-ranges on the
// idle cores (with the cache off here, all of them), and answer what the
// whole evaluation answers: a query asking for statistics is evaluated
// whole.
func TestRangeQueriesSplit(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("one core: nothing is split")
	}
	// Whatever else runs in the test process must not decide the count.
	defer server.SetIdleCoresForTest(nil)()
	ts := startServer(t, serverConfig{
		prometheusYML: "global: {}\n",
		options: func(o *server.Options) {
			o.EnableRemoteWriteReceiver = true
			o.QueryCacheSize = 0
		},
	})
	now := time.Now().Truncate(time.Minute)
	ts.writeSplitMetric(now.Add(-time.Hour), now)
	result := func(stats string) string { return ts.rangeResult(now, "avg(rate(split_metric[2m]))", stats) }
	split := result("")
	require.Equal(t, 1.0, ts.metricValue("miniprom_query_split_range_queries_total", map[string]string{"how": "split"}))
	require.Equal(t, result("all"), split)
	require.Equal(t, 1.0, ts.metricValue("miniprom_query_split_range_queries_total", map[string]string{"how": "whole"}))

	// An aggregation by groups is split in time while the data fills the
	// range, and sharded by its groups where it starts late in the range.
	byGroup := "sum by (i) (rate(split_metric[2m]))"
	require.Equal(t, ts.rangeResult(now, byGroup, "all"), ts.rangeResult(now, byGroup, ""))
	require.Equal(t, 2.0, ts.metricValue("miniprom_query_split_range_queries_total", map[string]string{"how": "split"}))
	require.Equal(t, 2.0, ts.metricValue("miniprom_query_split_range_queries_total", map[string]string{"how": "whole"}))

	ts2 := startServer(t, serverConfig{
		prometheusYML: "global: {}\n",
		options: func(o *server.Options) {
			o.EnableRemoteWriteReceiver = true
			o.QueryCacheSize = 0
		},
	})
	ts2.writeSplitMetric(now.Add(-10*time.Minute), now)
	sharded := ts2.rangeResult(now, byGroup, "")
	require.Equal(t, 1.0, ts2.metricValue("miniprom_query_split_range_queries_total", map[string]string{"how": "sharded"}))
	require.Equal(t, ts2.rangeResult(now, byGroup, "all"), sharded)
	require.Equal(t, 5, strings.Count(sharded, `"metric"`), sharded)
}

// writeSplitMetric remote-writes five series split_metric{i="0"...} at
// 15s from from to to.
func (ts *testServer) writeSplitMetric(from, to time.Time) {
	ts.t.Helper()
	for i := range 5 {
		var samples []prompb.Sample
		for at := from; !at.After(to); at = at.Add(15 * time.Second) {
			samples = append(samples, prompb.Sample{Timestamp: at.UnixMilli(), Value: float64(at.Unix()%1000) / float64(i+3)})
		}
		ts.remoteWrite(rwSeries(ts.t, map[string]string{"__name__": "split_metric", "i": fmt.Sprint(i)}, samples))
	}
}

// rangeResult is the result of the query over the hour before now at a
// 30s step, as JSON; stats as the API's stats parameter.
func (ts *testServer) rangeResult(now time.Time, query, stats string) string {
	ts.t.Helper()
	v := url.Values{"query": {query}, "start": {fmt.Sprint(now.Add(-time.Hour).Unix())},
		"end": {fmt.Sprint(now.Unix())}, "step": {"30s"}, "stats": {stats}}
	code, r := ts.api("/api/v1/query_range?" + v.Encode())
	require.Equal(ts.t, http.StatusOK, code, r.Error)
	var data struct {
		Result json.RawMessage `json:"result"`
	}
	require.NoError(ts.t, json.Unmarshal(r.Data, &data))
	return string(data.Result)
}

// A query log configured by a reload stops the splitting too: the log
// lists what the engine runs, which would be sub-ranges.
func TestRangeQueriesSplitFollowsReload(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("one core: nothing is split")
	}
	// Whatever else runs in the test process must not decide the count.
	defer server.SetIdleCoresForTest(nil)()
	dir := t.TempDir()
	ts := startServer(t, serverConfig{
		prometheusYML: "global: {}\n",
		options: func(o *server.Options) {
			o.EnableRemoteWriteReceiver = true
			o.EnableLifecycle = true
			o.QueryCacheSize = 0
		},
	})
	now := time.Now().Truncate(time.Minute)
	var samples []prompb.Sample
	for at := now.Add(-time.Hour); !at.After(now); at = at.Add(15 * time.Second) {
		samples = append(samples, prompb.Sample{Timestamp: at.UnixMilli(), Value: float64(at.Unix() % 1000)})
	}
	ts.remoteWrite(rwSeries(t, map[string]string{"__name__": "split_metric"}, samples))
	query := func() {
		require.Len(t, ts.queryRangeSeries("sum(rate(split_metric[2m]))", now.Add(-time.Hour), now, 30*time.Second), 1)
	}
	how := func(h string) float64 {
		return ts.metricValue("miniprom_query_split_range_queries_total", map[string]string{"how": h})
	}
	query()
	require.Equal(t, 1.0, how("split"))

	writeFile(t, ts.Dir, "prometheus.yml", fmt.Sprintf("global:\n  query_log_file: %s/queries.log\n", dir))
	code, body := ts.post("/-/reload")
	require.Equal(t, http.StatusOK, code, body)
	query()
	require.Equal(t, 1.0, how("split"))
	require.Equal(t, 1.0, how("whole"))
	log, err := os.ReadFile(filepath.Join(dir, "queries.log"))
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(string(log), `"query":"sum(rate(split_metric[2m]))"`), string(log))
}

// A reload reaches the cache as a configuration applied: answers cached
// before are dropped, and a query log configured by the reload sends every
// range query to the engine from then on.
func TestQueryCacheFollowsReload(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, serverConfig{
		prometheusYML: "global: {}\n",
		options: func(o *server.Options) {
			o.EnableRemoteWriteReceiver = true
			o.EnableLifecycle = true
		},
	})
	now := time.Now().Truncate(time.Minute)
	ts.remoteWrite(rwSeries(t, map[string]string{"__name__": "dash_metric"},
		[]prompb.Sample{{Timestamp: now.Add(-30 * time.Minute).UnixMilli(), Value: 1}, {Timestamp: now.UnixMilli(), Value: 1}}))
	query := func() {
		require.Len(t, ts.queryRangeSeries("dash_metric", now.Add(-40*time.Minute), now.Add(-20*time.Minute), time.Minute), 1)
	}
	query()
	query()
	require.Equal(t, 1.0, ts.metricValue("miniprom_query_cache_range_queries_total", map[string]string{"result": "hit"}))

	invalidations := ts.metricValue("miniprom_query_cache_invalidations_total", nil)
	writeFile(t, ts.Dir, "prometheus.yml", fmt.Sprintf("global:\n  query_log_file: %s/queries.log\n", dir))
	code, body := ts.post("/-/reload")
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, invalidations+1, ts.metricValue("miniprom_query_cache_invalidations_total", nil))
	query()
	require.Equal(t, 1.0, ts.metricValue("miniprom_query_cache_range_queries_total", map[string]string{"result": "bypass", "reason": "query_log"}))
	require.Equal(t, 1.0, ts.metricValue("miniprom_query_cache_range_queries_total", map[string]string{"result": "hit"}))
}

// Features the cache is not proven exact with send every range query to
// the engine, and say so in the reason.
func TestQueryCacheBypassedWithUnprovenFeatures(t *testing.T) {
	ts := startServer(t, serverConfig{
		prometheusYML: "global: {}\n",
		options: func(o *server.Options) {
			o.EnableRemoteWriteReceiver = true
			f, err := server.ParseFeatures([]string{"promql-delayed-name-removal"}, false, promslog.NewNopLogger())
			require.NoError(t, err)
			o.Features = f
		},
	})
	now := time.Now().Truncate(time.Minute)
	ts.remoteWrite(rwSeries(t, map[string]string{"__name__": "dash_metric"},
		[]prompb.Sample{{Timestamp: now.Add(-30 * time.Minute).UnixMilli(), Value: 1}}))
	for range 2 {
		require.Len(t, ts.queryRangeSeries("dash_metric", now.Add(-40*time.Minute), now.Add(-20*time.Minute), time.Minute), 1)
	}
	require.Equal(t, 2.0, ts.metricValue("miniprom_query_cache_range_queries_total", map[string]string{"result": "bypass", "reason": "feature"}))
}
