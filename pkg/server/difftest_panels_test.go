package server_test

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// dtTemplate makes a dashboard panel's query. at is a time inside the
// data, for the templates that pin one with @.
type dtTemplate struct {
	name string
	expr func(r *rand.Rand, at time.Time) string
}

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

func dtRange(r *rand.Rand) string { return pick(r, "1m", "2m", "5m", "10m") }

func dtZone(r *rand.Rand) string { return pick(r, dtZones...) }

// dtTemplates cover what dashboards ask: every one is asked in every run.
var dtTemplates = []dtTemplate{
	{"rate", func(r *rand.Rand, _ time.Time) string {
		return pick(r,
			fmt.Sprintf(`rate(dt_requests_total{zone=%q}[%s])`, dtZone(r), dtRange(r)),
			// Not a counter's name: an info annotation.
			fmt.Sprintf(`rate(dt_gauge{zone=%q}[%s])`, dtZone(r), dtRange(r)),
			fmt.Sprintf(`sum by (zone, code) (irate(dt_requests_total[%s]))`, dtRange(r)),
			fmt.Sprintf(`increase(dt_requests_total{code=%q}[%s])`, pick(r, dtCodes...), dtRange(r)),
		)
	}},
	{"over_time", func(r *rand.Rand, _ time.Time) string {
		if r.IntN(4) == 0 {
			return fmt.Sprintf(`quantile_over_time(%g, dt_gauge{zone=%q}[%s])`, pick(r, 0.1, 0.5, 0.9), dtZone(r), dtRange(r))
		}
		fn := pick(r, "avg", "min", "max", "sum", "count", "stddev", "stdvar", "last", "present")
		return fmt.Sprintf(`%s_over_time(dt_gauge{zone=~%q}[%s])`, fn, pick(r, "a|b", "c", ".+"), dtRange(r))
	}},
	{"histogram_quantile", func(r *rand.Rand, _ time.Time) string {
		q := pick(r, 0.5, 0.9, 0.99)
		return pick(r,
			fmt.Sprintf(`histogram_quantile(%g, sum by (le, zone) (rate(dt_latency_seconds_bucket[%s])))`, q, dtRange(r)),
			fmt.Sprintf(`histogram_quantile(%g, rate(dt_latency_seconds_bucket{zone=%q}[%s]))`, q, dtZone(r), dtRange(r)),
			fmt.Sprintf(`sum by (zone) (rate(dt_latency_seconds_sum[%[1]s])) / sum by (zone) (rate(dt_latency_seconds_count[%[1]s]))`, dtRange(r)),
		)
	}},
	{"subquery", func(r *rand.Rand, _ time.Time) string {
		return pick(r,
			fmt.Sprintf(`max_over_time(rate(dt_requests_total{zone=%q}[2m])[%s:%s])`, dtZone(r), pick(r, "5m", "10m", "30m"), pick(r, "15s", "30s", "1m")),
			`avg_over_time(sum by (zone) (dt_gauge)[10m:])`,
			fmt.Sprintf(`stddev_over_time(avg by (zone) (dt_gauge)[%s:20s])`, pick(r, "3m", "10m")),
		)
	}},
	{"offset", func(r *rand.Rand, _ time.Time) string {
		return pick(r,
			fmt.Sprintf(`dt_gauge{zone=%q} offset %s`, dtZone(r), pick(r, "1m", "10m", "1h")),
			fmt.Sprintf(`rate(dt_requests_total[5m] offset %s) - rate(dt_requests_total[5m])`, pick(r, "5m", "30m")),
		)
	}},
	{"at", func(r *rand.Rand, at time.Time) string {
		return pick(r,
			fmt.Sprintf(`dt_gauge{zone=%q} @ %d`, dtZone(r), at.Unix()),
			fmt.Sprintf(`rate(dt_requests_total{zone=%q}[5m] @ end())`, dtZone(r)),
			`dt_gauge - dt_gauge @ start()`,
		)
	}},
	{"vector_matching", func(r *rand.Rand, _ time.Time) string {
		return pick(r,
			fmt.Sprintf(`sum by (zone, host) (rate(dt_requests_total[%s])) * on(host) group_left(team) dt_host_info`, dtRange(r)),
			fmt.Sprintf(`rate(dt_requests_total{code="500"}[%[1]s]) / ignoring(code) rate(dt_requests_total{code="200"}[%[1]s])`, dtRange(r)),
			`dt_latency_seconds_sum / on(zone, host) dt_latency_seconds_count`,
			`dt_gauge > on(zone) group_left avg by (zone) (dt_gauge)`,
		)
	}},
	{"absent", func(r *rand.Rand, _ time.Time) string {
		host := fmt.Sprintf("host-%d", 1+r.IntN(9))
		return pick(r,
			fmt.Sprintf(`absent(dt_gauge{host=%q})`, host),
			fmt.Sprintf(`absent_over_time(dt_gauge{host=%q}[5m])`, host),
			`absent(dt_gauge{zone="d"})`,
		)
	}},
	{"timestamp", func(r *rand.Rand, _ time.Time) string {
		return fmt.Sprintf(`timestamp(dt_gauge{zone=%q})`, dtZone(r))
	}},
	{"sort", func(r *rand.Rand, _ time.Time) string {
		return fmt.Sprintf(`%s(sum by (host) (rate(dt_requests_total[%s])))`, pick(r, "sort", "sort_desc"), dtRange(r))
	}},
	{"topk", func(r *rand.Rand, _ time.Time) string {
		return pick(r,
			fmt.Sprintf(`topk(%d, dt_gauge)`, 1+r.IntN(4)),
			fmt.Sprintf(`bottomk(%d, sum by (host) (rate(dt_requests_total[%s])))`, 1+r.IntN(4), dtRange(r)),
		)
	}},
	// Order-sensitive aggregations: a float sum, mean or variance depends
	// on the order its terms come in, and that order is the series'.
	dtAggregation("sum"), dtAggregation("avg"), dtAggregation("stddev"), dtAggregation("stdvar"),
}

func dtAggregation(op string) dtTemplate {
	return dtTemplate{op, func(r *rand.Rand, _ time.Time) string {
		return fmt.Sprintf(`%s by (zone) (%s)`, op, pick(r, "dt_gauge", "rate(dt_requests_total[5m])"))
	}}
}

// dtPanel is one panel of the dashboard: a query asked over a window that
// slides forward between refreshes.
type dtPanel struct {
	template   string
	expr       string
	start, end time.Time
	step       time.Duration
	slide      time.Duration
}

// newDTPanel makes a panel ending near end. Most slide by whole steps, as
// dashboards that align their windows to the step do; some do not.
func newDTPanel(r *rand.Rand, tpl dtTemplate, end, at time.Time, refresh time.Duration) *dtPanel {
	p := &dtPanel{
		template: tpl.name,
		expr:     tpl.expr(r, at),
		step:     time.Duration(pick(r, 7, 11, 13, 15, 17, 30, 45, 60)) * time.Second,
	}
	window := pick(r, 30*time.Minute, time.Hour, 2*time.Hour, 3*time.Hour, 4*time.Hour, 6*time.Hour)
	p.end = end.Add(time.Duration(r.IntN(60)) * time.Second)
	p.start = p.end.Add(-window)
	if r.IntN(6) == 0 {
		p.slide = refresh + time.Duration(r.IntN(20)-10)*time.Second
	} else {
		p.slide = (refresh + p.step - 1) / p.step * p.step
	}
	return p
}

func (p *dtPanel) String() string {
	return fmt.Sprintf("%s start=%d end=%d step=%s (a %s window)", p.expr, p.start.Unix(), p.end.Unix(), p.step, p.end.Sub(p.start))
}
