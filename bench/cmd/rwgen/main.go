// Command rwgen writes a synthetic day of metrics into one or more servers
// through remote write 1.0, the same samples to each, as a dashboard's
// data source would hold them: counters and a classic histogram from 100
// instances. The benchmarks use it to fill miniprom, Prometheus and
// VictoriaMetrics alike (bench/dashboard.sh).
//
//	rwgen -url https://127.0.0.1:19090/api/v1/write -url http://127.0.0.1:8428/api/v1/write \
//	      -ca ca.crt -series 10000 -duration 24h -interval 15s [-follow]
//
// The series: rwgen_metric_001_total ... rwgen_metric_NNN_total{instance,
// shard} (100 instances x 10 shards each), and, from every tenth thousand,
// rwgen_request_duration_seconds_bucket{instance, le} (100 instances x 10
// buckets). Samples end at the start time's interval boundary before now and
// go out oldest first, a block of minutes at a time for every series, so a
// server's head never sees a sample more than a block behind its newest.
// It prints the newest sample's time (ms) on stdout.
// With -follow it then keeps writing one sample per series every interval,
// as live targets would, until interrupted.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/common/config"
	"github.com/prometheus/prometheus/prompb"
)

type urls []string

func (u *urls) String() string     { return strings.Join(*u, ",") }
func (u *urls) Set(s string) error { *u = append(*u, s); return nil }

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "rwgen:", err)
		os.Exit(1)
	}
}

func run() error {
	var targets urls
	flag.Var(&targets, "url", "remote write URL (repeatable; every URL gets every sample)")
	ca := flag.String("ca", "", "CA certificate for https URLs")
	series := flag.Int("series", 10000, "number of series, a multiple of 1000")
	duration := flag.Duration("duration", 24*time.Hour, "how far back the samples start")
	interval := flag.Duration("interval", 15*time.Second, "time between samples of a series")
	block := flag.Duration("block", 10*time.Minute, "time span of one remote write request")
	endAt := flag.Int64("end", 0, "the newest sample's time in ms (default: now); runs with the same -end write the same samples")
	follow := flag.Bool("follow", false, "after the backfill, keep writing live samples every interval")
	idLabel := flag.Bool("id-label", false, "give every series a label id with its own value (a label with as many values as series)")
	var snapshots urls
	flag.Var(&snapshots, "replay", "a snapshot of a real target's /metrics (repeatable, in the order taken): replay these series instead of the synthetic ones")
	instances := flag.Int("instances", 20, "with -replay: how many instances replay the snapshots")
	flag.Parse()
	if len(targets) == 0 || (len(snapshots) == 0 && (*series < 1000 || *series%1000 != 0)) {
		flag.Usage()
		return errors.New("need -url and a -series that is a multiple of 1000, or -replay")
	}
	client, err := httpClient(*ca)
	if err != nil {
		return err
	}
	var g source = newGenerator(*series, *idLabel)
	if len(snapshots) > 0 {
		if g, err = newReplay(snapshots, *instances); err != nil {
			return err
		}
		*series = g.count()
	}
	step := interval.Milliseconds()
	end := time.Now().UnixMilli() / step * step
	if *endAt > 0 {
		end = *endAt / step * step
	}
	start := end - duration.Milliseconds()

	began := time.Now()
	for from := start; from <= end; from += block.Milliseconds() {
		to := min(from+block.Milliseconds()-step, end)
		if err := sendAll(client, targets, g.block(from, to, step)); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "rwgen: %d series x %s at %s written in %s\n", *series, *duration, *interval, time.Since(began).Round(time.Millisecond))
	fmt.Println(end) // the newest sample's time, for the benchmark to query up to
	if !*follow {
		return nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	for t := end + step; ; t += step {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Until(time.UnixMilli(t))):
		}
		if err := sendAll(client, targets, g.block(t, t, step)); err != nil {
			return err
		}
	}
}

func httpClient(caFile string) (*http.Client, error) {
	// prometheus/common builds the client as Prometheus's own scrapers
	// and remote write do, trusting caFile when given.
	c, err := config.NewClientFromConfig(config.HTTPClientConfig{TLSConfig: config.TLSConfig{CAFile: caFile}}, "bench")
	if err != nil {
		return nil, err
	}
	c.Timeout = 5 * time.Minute
	return c, nil
}

// sendAll posts one request body to every URL at once.
func sendAll(c *http.Client, targets []string, req *prompb.WriteRequest) error {
	raw, err := req.Marshal()
	if err != nil {
		return err
	}
	body := snappy.Encode(nil, raw)
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, u := range targets {
		wg.Go(func() { errs[i] = send(c, u, body) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func send(c *http.Client, url string, body []byte) error {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s: %s", url, resp.Status, msg)
	}
	return nil
}

// source makes the samples of every series, a block of time at a time.
type source interface {
	block(from, to, step int64) *prompb.WriteRequest
	count() int
}

// generator holds every series' labels and current value; the values are a
// deterministic function of the seed and the order of calls.
type generator struct {
	labels [][]prompb.Label
	value  []float64
	bucket []float64 // upper bound of a bucket series, 0 for a counter
	rng    *rand.Rand

	idLabel bool
}

var buckets = []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"}

func newGenerator(n int, idLabel bool) *generator {
	g := &generator{rng: rand.New(rand.NewPCG(1, 2)), idLabel: idLabel}
	job := prompb.Label{Name: "job", Value: "rwgen"}
	metrics := n / 1000
	for m := 1; m <= metrics; m++ {
		for i := range 100 {
			inst := prompb.Label{Name: "instance", Value: fmt.Sprintf("host-%03d", i)}
			if m == metrics && metrics > 1 {
				// The last thousand is a latency histogram.
				for b, le := range buckets {
					g.add([]prompb.Label{{Name: "__name__", Value: "rwgen_request_duration_seconds_bucket"}, inst, job, {Name: "le", Value: le}}, float64(b+1))
				}
				continue
			}
			for s := range 10 {
				g.add([]prompb.Label{{Name: "__name__", Value: fmt.Sprintf("rwgen_metric_%03d_total", m)}, inst, job, {Name: "shard", Value: fmt.Sprint(s)}}, 0)
			}
		}
	}
	return g
}

func (g *generator) count() int { return len(g.labels) }

func (g *generator) add(ls []prompb.Label, bucket float64) {
	if g.idLabel {
		// Labels are sent sorted by name: id goes after __name__.
		ls = slices.Insert(ls, 1, prompb.Label{Name: "id", Value: strconv.Itoa(len(g.labels))})
	}
	g.labels = append(g.labels, ls)
	g.value = append(g.value, 0)
	g.bucket = append(g.bucket, bucket)
}

// block returns every series' samples in [from, to] (ms).
func (g *generator) block(from, to, step int64) *prompb.WriteRequest {
	req := &prompb.WriteRequest{Timeseries: make([]prompb.TimeSeries, len(g.labels))}
	n := int((to-from)/step) + 1
	for i := range g.labels {
		req.Timeseries[i] = prompb.TimeSeries{Labels: g.labels[i], Samples: make([]prompb.Sample, 0, n)}
	}
	for t := from; t <= to; t += step {
		// An instance's buckets are consecutive, smallest bound first: each
		// adds its own new observations to the running total of the smaller
		// ones, so the histogram stays cumulative.
		var running float64
		for i := range g.labels {
			switch g.bucket[i] {
			case 0:
				g.value[i] += float64(g.rng.IntN(100))
			case 1:
				running = g.rng.Float64() * 10
				g.value[i] += running
			default:
				running += g.rng.Float64() * 10
				g.value[i] += running
			}
			req.Timeseries[i].Samples = append(req.Timeseries[i].Samples, prompb.Sample{Timestamp: t, Value: g.value[i]})
		}
	}
	return req
}
