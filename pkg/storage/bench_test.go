package storage_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"
	"github.com/stretchr/testify/require"

	mpstorage "github.com/miniprom/miniprom/pkg/storage"
)

const benchSeries = 100_000

// fill appends one sample at ts to each of n series.
func fill(b *testing.B, s *mpstorage.Storage, n int, ts int64) {
	b.Helper()
	app := s.AppenderV2(context.Background())
	for i := range n {
		l := labels.FromStrings("__name__", "bench_metric", "instance", "host-"+strconv.Itoa(i%1000), "series", strconv.Itoa(i))
		if _, err := app.Append(0, l, 0, ts, float64(i), nil, nil, storage.AOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		b.Fatal(err)
	}
}

func heapBytes() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func dirBytes(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// BenchmarkRemoteWriteWALMemory reports what remote write costs at 100k
// series: heap (agent WAL series index plus the queue's series cache) and
// WAL bytes on disk, for 10 samples per series. The endpoint is unreachable,
// so the queue holds everything, as during an outage.
func BenchmarkRemoteWriteWALMemory(b *testing.B) {
	for range b.N {
		for _, withRW := range []bool{false, true} {
			tmp := b.TempDir()
			reg := prometheus.NewRegistry()
			s, err := mpstorage.Open(promslog.NewNopLogger(), reg, mpstorage.Options{TempDir: tmp, RemoteFlushDeadline: time.Second})
			if err != nil {
				b.Fatal(err)
			}
			if withRW {
				cfg, err := config.Load("remote_write:\n  - url: http://127.0.0.1:1/api/v1/write\n", promslog.NewNopLogger())
				if err != nil {
					b.Fatal(err)
				}
				if err := s.ApplyConfig(cfg); err != nil {
					b.Fatal(err)
				}
			}
			before := heapBytes()
			start := time.Now().UnixMilli()
			for i := range 10 {
				fill(b, s, benchSeries, start+1+int64(i))
			}
			if withRW {
				// Wait until the queue's WAL watcher has caught up: it has
				// read records and reads no more for a second.
				last := -1.0
				require.Eventually(b, func() bool {
					n := recordsRead(reg)
					settled := n > 0 && n == last
					last = n
					return settled
				}, time.Minute, time.Second, "the WAL watcher never caught up")
			}
			after := heapBytes()
			name := "head_only"
			if withRW {
				name = "with_remote_write"
				b.ReportMetric(recordsRead(reg), "watcher_records_read")
				b.ReportMetric(float64(dirBytes(tmp))/1e6, "wal_disk_MB")
			}
			b.ReportMetric(float64(after-before)/1e6, name+"_heap_MB")
			s.Close()
		}
	}
}

func recordsRead(reg *prometheus.Registry) float64 {
	mfs, _ := reg.Gather()
	var n float64
	for _, mf := range mfs {
		if mf.GetName() == "prometheus_wal_watcher_records_read_total" {
			for _, m := range mf.Metric {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

// BenchmarkRuleGroup50 evaluates one group of 50 recording rules over 1,000
// series (aggregations by label, rates, ratios), the unit of work of one
// evaluation_interval.
func BenchmarkRuleGroup50(b *testing.B) {
	s, err := mpstorage.Open(promslog.NewNopLogger(), nil, mpstorage.Options{TempDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	eng := promql.NewEngine(promql.EngineOpts{Timeout: time.Minute, MaxSamples: 50_000_000, LookbackDelta: 5 * time.Minute})
	defer eng.Close()
	now := time.Now()
	for i := range 40 { // 10 minutes at 15s
		fill(b, s, 1000, now.Add(time.Duration(i-40)*15*time.Second).UnixMilli())
	}
	exprs := []string{
		`sum by (instance) (bench_metric)`,
		`sum by (instance) (rate(bench_metric[5m]))`,
		`avg by (instance) (bench_metric)`,
		`max by (instance) (bench_metric) / on (instance) sum by (instance) (bench_metric)`,
		`count(bench_metric > %d)`,
	}
	p := parser.NewParser(parser.Options{})
	var rs []rules.Rule
	for i := range 50 {
		e := exprs[i%len(exprs)]
		if i%len(exprs) == 4 {
			e = fmt.Sprintf(e, i*10)
		}
		expr, err := p.ParseExpr(e)
		if err != nil {
			b.Fatal(err)
		}
		rs = append(rs, rules.NewRecordingRule(fmt.Sprintf("bench:rule_%d", i), expr, labels.EmptyLabels()))
	}
	g := rules.NewGroup(rules.GroupOptions{
		Name: "bench", Interval: 15 * time.Second, Rules: rs, ShouldRestore: false,
		Opts: &rules.ManagerOptions{
			AppendableV2: s, Queryable: s, QueryFunc: rules.EngineQueryFunc(eng, s),
			Context: context.Background(), Logger: promslog.NewNopLogger(),
		},
	})
	b.ResetTimer()
	for i := range b.N {
		g.Eval(context.Background(), now.Add(time.Duration(i)*time.Millisecond))
	}
}
