// Command dashbench times what a Grafana dashboard asks of a Prometheus-
// compatible server, against several servers holding the same samples
// (written by rwgen), and prints the times side by side with ratios to the
// reference (the second server, Prometheus):
//
//   - each panel query's first load (cold), then 7 refreshes with the
//     window slid by 30s, reported as the median;
//   - instant queries, median of 7;
//   - label names and values, with and without match[], median of 51.
//
// The answers of the first two servers (miniprom, Prometheus) must agree:
// the same series and timestamps, values to 9 significant digits, before
// and after the refreshes; a difference is printed and fails the run.
//
//	dashbench -ca ca.crt -end 1764230400000 \
//	  -server miniprom=https://127.0.0.1:19090 -server prometheus=https://127.0.0.1:19091 \
//	  -server victoriametrics=https://127.0.0.1:18428
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/config"
)

type server struct{ name, base string }

type servers []server

func (s *servers) String() string { return fmt.Sprint(*s) }
func (s *servers) Set(v string) error {
	name, base, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("want name=URL, got %q", v)
	}
	*s = append(*s, server{name, strings.TrimRight(base, "/")})
	return nil
}

// panel is a dashboard panel's range query.
type panel struct {
	name, expr   string
	window, step time.Duration
}

var panels = []panel{
	{"rate 6h/30s", `sum by (instance) (rate(rwgen_metric_001_total[5m]))`, 6 * time.Hour, 30 * time.Second},
	{"rate 24h/120s", `sum by (instance) (rate(rwgen_metric_001_total[5m]))`, 24 * time.Hour, 2 * time.Minute},
	{"histogram_quantile 6h", `histogram_quantile(0.99, sum by (le) (rate(rwgen_request_duration_seconds_bucket[5m])))`, 6 * time.Hour, 30 * time.Second},
	{"topk 6h", `topk(5, sum by (instance) (rate(rwgen_metric_002_total[5m])))`, 6 * time.Hour, 30 * time.Second},
	{"count by 6h", `count by (instance) (rwgen_metric_003_total)`, 6 * time.Hour, 30 * time.Second},
}

var instants = []string{
	`sum by (instance) (rate(rwgen_metric_001_total[5m]))`,
	`histogram_quantile(0.99, sum by (le) (rate(rwgen_request_duration_seconds_bucket[5m])))`,
}

var labelPaths = []string{
	"/api/v1/labels",
	"/api/v1/label/instance/values",
	"/api/v1/label/__name__/values",
	"/api/v1/label/shard/values?match[]=" + url.QueryEscape(`rwgen_metric_001_total{instance="host-007"}`),
	"/api/v1/label/instance/values?match[]=rwgen_metric_001_total",
	"/api/v1/series?match[]=" + url.QueryEscape(`rwgen_metric_001_total{instance="host-007"}`),
	// id has a value per series (rwgen -id-label): 10,000 values a day of
	// blocks each hold, which Prometheus merges on every request.
	"/api/v1/label/id/values",
	"/api/v1/label/id/values?match[]=rwgen_metric_001_total",
}

const refreshes = 7

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "dashbench:", err)
		os.Exit(1)
	}
}

func run() error {
	var ss servers
	flag.Var(&ss, "server", "name=base URL (repeatable); the first two must answer alike, the second is the reference")
	ca := flag.String("ca", "", "CA certificate for https servers")
	endMs := flag.Int64("end", 0, "time of the newest sample (ms since the epoch)")
	flag.Parse()
	if len(ss) < 2 || *endMs == 0 {
		flag.Usage()
		return errors.New("need -end and at least two -server")
	}
	c, err := client(*ca)
	if err != nil {
		return err
	}
	b := &bench{c: c, servers: ss}

	fmt.Printf("%-34s", "query")
	for _, s := range ss {
		fmt.Printf(" %16s", s.name)
	}
	for i, s := range ss {
		if i != 1 {
			fmt.Printf(" %10s", "x "+s.name[:min(8, len(s.name))])
		}
	}
	fmt.Println()
	fmt.Printf("(medians; \"x name\" is how many times faster name is than %s)\n", ss[1].name)
	end := time.UnixMilli(*endMs)
	for _, p := range panels {
		b.panel(p, end)
	}
	for _, q := range instants {
		b.row("instant "+short(q), 7, func(s server) (string, error) {
			v := url.Values{"query": {q}, "time": {seconds(end)}}
			return b.get(s, "/api/v1/query?"+v.Encode())
		}, true)
	}
	for _, p := range labelPaths {
		b.row(short(p), 51, func(s server) (string, error) { return b.get(s, p) }, true)
	}
	if b.failed {
		return errors.New("answers differ")
	}
	return nil
}

type bench struct {
	c       *http.Client
	servers servers
	failed  bool
}

// panel times a panel's first load and its refreshes.
func (b *bench) panel(p panel, dataEnd time.Time) {
	step := p.step
	// The last refresh ends at the newest sample.
	first := dataEnd.Add(-refreshes * 30 * time.Second).Truncate(step)
	query := func(end time.Time) func(server) (string, error) {
		return func(s server) (string, error) {
			v := url.Values{"query": {p.expr}, "start": {seconds(end.Add(-p.window))}, "end": {seconds(end)}, "step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)}}
			return b.get(s, "/api/v1/query_range?"+v.Encode())
		}
	}
	b.row(p.name+" first load", 1, query(first), true)
	i := 0
	b.row(p.name+" refresh (median)", refreshes, func(s server) (string, error) {
		// Every server sees the same window in a round: rounds advance
		// after the last server.
		end := first.Add(time.Duration(i/len(b.servers)+1) * 30 * time.Second)
		i++
		return query(end)(s)
	}, true)
}

// row runs f n times on every server, interleaved, and prints the median
// time of each. With compare, the first two servers' last answers must
// agree.
func (b *bench) row(name string, n int, f func(server) (string, error), compare bool) {
	times := make([][]time.Duration, len(b.servers))
	last := make([]string, len(b.servers))
	for range n {
		for i, s := range b.servers {
			start := time.Now()
			body, err := f(s)
			times[i] = append(times[i], time.Since(start))
			if err != nil {
				fmt.Printf("%s: %s: %v\n", name, s.name, err)
				b.failed = true
				return
			}
			last[i] = body
		}
	}
	fmt.Printf("%-34s", name)
	med := make([]time.Duration, len(b.servers))
	for i := range b.servers {
		slices.Sort(times[i])
		med[i] = times[i][len(times[i])/2]
		fmt.Printf(" %16s", med[i].Round(10*time.Microsecond))
	}
	for i := range b.servers {
		if i != 1 {
			fmt.Printf(" %10.2f", float64(med[1])/float64(med[i]))
		}
	}
	fmt.Println()
	if compare {
		if d := diff(last[0], last[1]); d != "" {
			fmt.Printf("  %s and %s answer differently: %s\n", b.servers[0].name, b.servers[1].name, d)
			b.failed = true
		}
	}
}

func (b *bench) get(s server, path string) (string, error) {
	resp, err := b.c.Get(s.base + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", resp.Status, body)
	}
	return string(body), nil
}

func client(caFile string) (*http.Client, error) {
	// prometheus/common builds the client as Prometheus's own scrapers
	// and remote write do, trusting caFile when given.
	c, err := config.NewClientFromConfig(config.HTTPClientConfig{TLSConfig: config.TLSConfig{CAFile: caFile}}, "bench")
	if err != nil {
		return nil, err
	}
	c.Timeout = 5 * time.Minute
	return c, nil
}

func seconds(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)
}

func short(s string) string {
	if len(s) > 34 {
		return s[:31] + "..."
	}
	return s
}

// diff compares two API answers: the same data, with sample values equal
// to 9 significant digits (the engine's float sums are not bit-exact from
// run to run). Matrices and vectors are compared as sets of series.
func diff(a, b string) string {
	var ra, rb struct {
		Data any `json:"data"`
	}
	if err := json.Unmarshal([]byte(a), &ra); err != nil {
		return err.Error()
	}
	if err := json.Unmarshal([]byte(b), &rb); err != nil {
		return err.Error()
	}
	return diffValue(normalise(ra.Data), normalise(rb.Data), "data")
}

// normalise sorts result lists by their metric, so that series order (not
// part of the API's contract for vectors) does not count.
func normalise(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalise(e)
		}
		if res, ok := x["result"].([]any); ok {
			slices.SortFunc(res, func(p, q any) int {
				return strings.Compare(metricKey(p), metricKey(q))
			})
		}
	case []any:
		for i, e := range x {
			x[i] = normalise(e)
		}
	}
	return v
}

func metricKey(v any) string {
	m, _ := v.(map[string]any)
	b, _ := json.Marshal(m["metric"]) // encoding/json sorts map keys
	return string(b)
}

func diffValue(a, b any, path string) string {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return fmt.Sprintf("%s: %v vs %v", path, short(fmt.Sprint(a)), short(fmt.Sprint(b)))
		}
		for k := range x {
			if d := diffValue(x[k], y[k], path+"."+k); d != "" {
				return d
			}
		}
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return fmt.Sprintf("%s: %d vs %d elements", path, len(x), lenOf(b))
		}
		for i := range x {
			if d := diffValue(x[i], y[i], fmt.Sprintf("%s[%d]", path, i)); d != "" {
				return d
			}
		}
	case string:
		y, _ := b.(string)
		if x != y && !close9(x, y) {
			return fmt.Sprintf("%s: %q vs %q", path, x, y)
		}
	default:
		if fmt.Sprint(a) != fmt.Sprint(b) {
			return fmt.Sprintf("%s: %v vs %v", path, a, b)
		}
	}
	return ""
}

func lenOf(v any) int {
	if l, ok := v.([]any); ok {
		return len(l)
	}
	return -1
}

// close9 says whether two sample values agree to 9 significant digits.
func close9(a, b string) bool {
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	if x == y || (math.IsNaN(x) && math.IsNaN(y)) {
		return true
	}
	return math.Abs(x-y) <= 5e-9*math.Max(math.Abs(x), math.Abs(y))
}
