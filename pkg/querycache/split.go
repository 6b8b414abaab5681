package querycache

import (
	"context"
	"fmt"
	"maps"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/prometheus/prometheus/util/stats"
)

// WholeEngine is the engine a SplitEngine answers with when it does not
// split: the server's engine, with the concurrency limit
// (--query.max-concurrency) and the samples limit (--query.max-samples).
// A split query holds one of its query slots while its sub-ranges run.
type WholeEngine interface {
	promql.QueryEngine
	promql.QuerySlotAcquirer
}

// SplitOptions configure a SplitEngine.
type SplitOptions struct {
	// MaxParts is the most sub-ranges a range query is split into; they
	// all run at once. It is the cores the process may use (GOMAXPROCS).
	MaxParts int
	// MinSteps is the fewest steps a sub-range has: a range of fewer than
	// 2×MinSteps steps is evaluated whole.
	MinSteps int
	// MaxSamples is the whole engine's samples limit (0: none). Sub-ranges
	// that together held more are answered by a whole evaluation.
	MaxSamples int
	// Timeout is the engine's query timeout: a split query's sub-ranges,
	// and the whole evaluation it may fall back to, all end within it.
	Timeout time.Duration
	// LookbackDelta is the engine's default lookback delta.
	LookbackDelta time.Duration
	// Parser parses queries as the engine does.
	Parser parser.Parser
	// Features are the engine's: with one not proven exact, nothing is
	// split (see Features).
	Features Features
	// IdleCores, when set, tells how many cores the process leaves idle
	// right now, counting the caller's (see SchedulerIdleCores). nil: as
	// many as MaxParts less the other range queries being evaluated.
	IdleCores  func() int
	Registerer prometheus.Registerer
}

// SplitEngine is a promql.QueryEngine that evaluates a range query as
// sub-ranges on step boundaries, at once on as many cores as are idle, and
// stitches their matrices together as the results cache does (matrix.go).
//
// It splits only what is provably the whole evaluation's answer: the
// expressions the cache accepts (plan.go), whose value at a step depends
// only on the step's time and a window fixed relative to it. Each
// sub-range reads through the querier the whole range would get (see
// wholeRange), so its series come in the same order. A sub-range that
// fails or warns, or sub-ranges that together held more samples than the
// limit, make the split query evaluate the whole range with the whole
// engine instead, so errors, warnings and the samples limit are the
// engine's.
type SplitEngine struct {
	whole  WholeEngine
	sub    promql.QueryEngine
	o      SplitOptions
	plans  *plans
	config configBypass // set by ApplyConfig (bypass.go)

	running   atomic.Int64 // range queries being evaluated through the engine
	splitting atomic.Int64 // of those, evaluated in sub-ranges right now
	queries   *prometheus.CounterVec

	// subRangeQueriersForTest gives each sub-range the querier of its own
	// window, so that the property test can show wholeRange matters.
	subRangeQueriersForTest bool
	// shardBySeriesForTest shards by whole label sets instead of groups,
	// so that the property test can show the grouping matters.
	shardBySeriesForTest bool
	// noShardsForTest splits in time what would be sharded;
	// forceShardsForTest shards what may be, wherever the data starts.
	noShardsForTest, forceShardsForTest bool
}

// How a range query was evaluated.
const (
	splitSplit    = "split"    // in sub-ranges
	splitSharded  = "sharded"  // in shards of the aggregation's groups (shard.go)
	splitWhole    = "whole"    // not splittable, too few steps, or no idle core
	splitFallback = "fallback" // split or sharded, then evaluated whole (error, warning, limit)
)

// NewSplitEngine evaluates range queries with whole, or in sub-ranges with
// sub. sub is whole's engine without its active query tracker (the split
// query holds one of whole's slots), with a samples limit of
// MaxSamples/MaxParts, so that sub-ranges running at once hold no more
// samples than one whole evaluation may.
func NewSplitEngine(whole WholeEngine, sub promql.QueryEngine, o SplitOptions) *SplitEngine {
	o.MinSteps = max(o.MinSteps, 1)
	e := &SplitEngine{
		whole: whole,
		sub:   sub,
		o:     o,
		plans: newPlans(o.Parser),
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "miniprom_query_split_range_queries_total",
			Help: "Range queries evaluated by the engine, by how: split (in concurrent sub-ranges), sharded (in concurrent shards of the aggregation's groups), whole (not splittable, too few steps, or no idle core), fallback (split or sharded, then evaluated whole after an error, a warning or the samples limit).",
		}, []string{"how"}),
	}
	for _, h := range []string{splitSplit, splitSharded, splitWhole, splitFallback} {
		e.queries.WithLabelValues(h)
	}
	if o.Registerer != nil {
		o.Registerer.MustRegister(e.queries)
	}
	return e
}

// NewInstantQuery implements promql.QueryEngine; instant queries are
// evaluated whole.
func (e *SplitEngine) NewInstantQuery(ctx context.Context, q storage.Queryable, opts promql.QueryOpts, qs string, ts time.Time) (promql.Query, error) {
	return e.whole.NewInstantQuery(ctx, q, opts, qs, ts)
}

// NewRangeQuery implements promql.QueryEngine. The whole engine builds the
// query as usual, which validates it; Exec decides whether to split.
func (e *SplitEngine) NewRangeQuery(ctx context.Context, q storage.Queryable, opts promql.QueryOpts, qs string, start, end time.Time, step time.Duration) (promql.Query, error) {
	full, err := e.whole.NewRangeQuery(ctx, q, opts, qs, start, end, step)
	if err != nil {
		return nil, err
	}
	sq := &splitQuery{Query: full, e: e, queryable: q, opts: opts, qs: qs,
		start: start.UnixMilli(), end: end.UnixMilli(), step: step.Milliseconds()}
	if e.o.MaxParts > 1 {
		p, reason := decide(ctx, e.plans, e.o.Features, &e.config, opts, qs, start, step, lookbackOf(opts, e.o.LookbackDelta))
		sq.splittable = reason == ""
		if !e.noShardsForTest {
			sq.shard = p.shard
		}
	}
	return sq, nil
}

// splitQuery is a range query that may be evaluated in sub-ranges. The
// embedded query is the whole engine's for the whole range: it gives the
// statement and string, and it runs when the query is not split.
type splitQuery struct {
	promql.Query
	e          *SplitEngine
	queryable  storage.Queryable
	opts       promql.QueryOpts
	qs         string
	start, end int64 // ms; end as asked, not necessarily on the grid
	step       int64 // ms
	splittable bool
	shard      *shardPlan // when splittable: shard its series instead of its range

	mu     sync.Mutex // guards cancel and parts: Cancel may come from another goroutine
	cancel context.CancelFunc
	parts  []promql.Query // the sub-ranges' queries, whose memory the answer uses
	stats  *stats.Statistics
}

// partsFor is how many sub-ranges to evaluate: one per idle core, each of
// at least MinSteps steps. A core counts as busy for each other range
// query the engine evaluates: when every core has a query, splitting only
// adds the sub-ranges' overhead.
func (e *SplitEngine) partsFor(steps int64) int {
	idle := int64(e.o.MaxParts) - (e.running.Load() - 1)
	if idle > 1 && e.o.IdleCores != nil {
		idle = min(idle, int64(e.o.IdleCores()))
	}
	return int(max(min(idle, steps/int64(e.o.MinSteps)), 1))
}

// schedSamples are the scheduler's counts SchedulerIdleCores reads.
var schedSamples = []string{"/sched/gomaxprocs:threads", "/sched/goroutines/runnable:goroutines"}

// SchedulerIdleCores is how many cores a range query may split onto: one
// (its own) while any of the process's goroutines waits for a core, all
// of them otherwise. A range query's count of other range queries misses the requests
// busy elsewhere: encoding an answer, TLS, other queries' shards, the
// garbage collector, scrapes. Splitting a small query while every core is
// busy only adds the split's overhead (with 8 connections asking cold
// ranges over 100 series, miniprom answered 0.81x Prometheus's requests a
// second when it went by its count of range queries alone).
func SchedulerIdleCores() int {
	s := make([]metrics.Sample, len(schedSamples))
	for i, name := range schedSamples {
		s[i].Name = name
	}
	metrics.Read(s)
	for _, v := range s {
		if v.Value.Kind() != metrics.KindUint64 {
			return 1 << 20 // unknown: no limit
		}
	}
	// Goroutines waiting for a core mean none is idle. Running ones need
	// not: the garbage collector's workers run after every large answer,
	// for a moment, and counting them left 9 of 15 cold ranges on an
	// otherwise idle server unsplit.
	procs, runnable := int(s[0].Value.Uint64()), int(s[1].Value.Uint64())
	if runnable > 0 {
		return 1
	}
	return procs
}

// Exec implements promql.Query.
func (q *splitQuery) Exec(ctx context.Context) *promql.Result {
	e := q.e
	e.running.Add(1)
	defer e.running.Add(-1)
	n := 1
	if q.splittable {
		n = e.partsFor((q.end-q.start)/q.step + 1)
	}
	if n < 2 {
		e.queries.WithLabelValues(splitWhole).Inc()
		return q.Query.Exec(ctx)
	}

	// As the engine does: the timeout counts from here, waiting for a
	// slot included.
	var cancel context.CancelFunc
	if e.o.Timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, e.o.Timeout)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	defer cancel()
	q.mu.Lock()
	q.cancel = cancel
	q.mu.Unlock()

	release, err := e.whole.AcquireQuerySlot(ctx, q.qs)
	if err != nil {
		release()
		// The engine answers a query that timed out or was cancelled
		// while it waited with the context's error, as is.
		return &promql.Result{Err: err}
	}
	// Sub-ranges with data in each do equal work, where shards of a few
	// groups need not, and shard only where a split in time would not.
	var shards *shardSet
	if q.shard != nil && (e.forceShardsForTest || q.dataStartsLate(n)) {
		shards = newShardSet(q.shard, n)
		shards.bySeriesForTest = e.shardBySeriesForTest
	}
	e.splitting.Add(1)
	res, ok := q.execSplit(ctx, n, shards)
	e.splitting.Add(-1)
	release()
	if ok {
		if shards != nil {
			e.queries.WithLabelValues(splitSharded).Inc()
		} else {
			e.queries.WithLabelValues(splitSplit).Inc()
		}
		return res
	}
	q.closeParts()
	q.stats = nil
	e.queries.WithLabelValues(splitFallback).Inc()
	if ctx.Err() != nil && res.Err != nil {
		// Cancelled or timed out: the sub-range's error says so, as the
		// engine's would.
		return res
	}
	return q.Query.Exec(ctx)
}

// Splitting is how many range queries are being evaluated in sub-ranges
// right now. The sub-range engine has no metrics of its own, so the
// server adds these to the engine's prometheus_engine_queries: a split
// query counts once, as its whole evaluation would.
func (e *SplitEngine) Splitting() int64 { return e.splitting.Load() }

// part is one sub-range's evaluation.
type part struct {
	qry promql.Query
	res *promql.Result
}

// execSplit evaluates n sub-ranges (or the n shards) at once and stitches them. It reports
// false, with the first error if there was one, when the answer must come
// from a whole evaluation.
func (q *splitQuery) execSplit(ctx context.Context, n int, shards *shardSet) (*promql.Result, bool) {
	q.stats = &stats.Statistics{Timers: stats.NewQueryTimers(), Samples: stats.NewQuerySamples(false)}
	timer := q.stats.Timers.GetTimer(stats.ExecTotalTime).Start()
	defer timer.Stop()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		once     sync.Once
		firstErr error
	)
	fail := func(err error) {
		once.Do(func() { firstErr = err; cancel() })
	}

	steps := (q.end-q.start)/q.step + 1
	parts := make([]part, n)
	var wg sync.WaitGroup
	for i := range n {
		run := func() {
			if shards != nil {
				parts[i] = q.evalShard(ctx, shards, i)
			} else {
				from := q.start + int64(i)*steps/int64(n)*q.step
				to := q.start + (int64(i+1)*steps/int64(n)-1)*q.step
				if i == n-1 {
					to = q.end // as asked: the whole range's querier is built from it
				}
				parts[i] = q.evalPart(ctx, from, to)
			}
			if err := parts[i].res.Err; err != nil {
				fail(err)
			} else if !infoOnly(parts[i].res.Warnings) {
				fail(nil)
			}
		}
		if i == n-1 {
			run()
			break
		}
		wg.Go(run)
	}
	wg.Wait()

	q.mu.Lock()
	for _, p := range parts {
		if p.qry != nil {
			q.parts = append(q.parts, p.qry)
		}
	}
	q.mu.Unlock()
	peak := 0
	for _, p := range parts {
		if p.qry == nil {
			continue
		}
		if st := p.qry.Stats(); st != nil && st.Samples != nil {
			q.stats.Samples.TotalSamples += st.Samples.TotalSamples
			q.stats.Samples.SamplesRead += st.Samples.SamplesRead
			q.stats.Samples.TotalSeries += st.Samples.TotalSeries
			peak += st.Samples.PeakSamples
		}
	}
	// Sub-ranges held their samples at the same time.
	q.stats.Samples.PeakSamples = peak
	if firstErr != nil {
		return &promql.Result{Err: firstErr}, false
	}
	for _, p := range parts {
		if p.res.Err != nil || !infoOnly(p.res.Warnings) {
			return p.res, false
		}
	}
	// A whole evaluation holds at any moment what the sub-ranges held at
	// the same point of theirs, added up: if they stayed within the
	// limit together, so does it.
	if q.e.o.MaxSamples > 0 && peak > q.e.o.MaxSamples {
		return &promql.Result{}, false
	}
	ms := make([]promql.Matrix, n)
	annos := annotations.Annotations{}
	for i, p := range parts {
		m, ok := p.res.Value.(promql.Matrix)
		if !ok {
			return &promql.Result{}, false
		}
		ms[i] = m
		annos.Merge(p.res.Warnings)
	}
	res := &promql.Result{Value: stitch(ms...)}
	if len(annos) > 0 {
		res.Warnings = maps.Clone(annos)
	}
	return res, true
}

// evalPart evaluates the steps in [from, to] with the sub-range engine.
// A panic becomes an error, so that the whole evaluation shows what the
// engine does.
func (q *splitQuery) evalPart(ctx context.Context, from, to int64) (p part) {
	defer func() {
		if r := recover(); r != nil {
			p.res = &promql.Result{Err: fmt.Errorf("sub-range [%d, %d]: %v", from, to, r)}
		}
	}()
	var wr storage.Queryable = wholeRange{Queryable: q.queryable, before: from - q.start, after: q.end - to}
	if q.e.subRangeQueriersForTest {
		wr = q.queryable
	}
	qry, err := q.e.sub.NewRangeQuery(ctx, wr, q.opts, q.qs, time.UnixMilli(from), time.UnixMilli(to), time.Duration(q.step)*time.Millisecond)
	if err != nil {
		return part{res: &promql.Result{Err: err}}
	}
	return part{qry: qry, res: qry.Exec(ctx)}
}

// dataStartsLate reports whether the storage's oldest sample is past the
// first (2n)th of the range, so that a split in n sub-ranges would leave
// the first ones little to do (a range over a server started minutes ago,
// a dashboard's week over a day of data): then the query is sharded, when
// it may be. A queryable that does not tell its start counts as late.
func (q *splitQuery) dataStartsLate(n int) bool {
	st, ok := q.queryable.(interface{ StartTime() (int64, error) })
	if !ok {
		return true
	}
	t, err := st.StartTime()
	return err != nil || t > q.start+(q.end-q.start)/int64(2*n)
}

// evalShard evaluates the whole range over shard i of the query's groups
// (shard.go), with the sub-range engine.
func (q *splitQuery) evalShard(ctx context.Context, shards *shardSet, i int) (p part) {
	defer func() {
		if r := recover(); r != nil {
			p.res = &promql.Result{Err: fmt.Errorf("shard %d of %d: %v", i, shards.n, r)}
		}
	}()
	qry, err := q.e.sub.NewRangeQuery(ctx, shards.shard(q.queryable, i), q.opts, q.qs, time.UnixMilli(q.start), time.UnixMilli(q.end), time.Duration(q.step)*time.Millisecond)
	if err != nil {
		return part{res: &promql.Result{Err: err}}
	}
	return part{qry: qry, res: qry.Exec(ctx)}
}

// wholeRange gives a sub-range's evaluation the querier the whole range's
// evaluation gets: the engine asks for the window its steps read, and
// wholeRange widens it by how far the whole range reaches beyond the
// sub-range on either side. Without it, a sub-range reading only the TSDB
// head gets series in the head's order (by creation), where the whole
// range, also reading blocks, gets them in label order (merging queriers
// sorts); sum, avg, stddev and stdvar then add the same values in another
// order, and differ in the last digits. With the same querier, the
// sub-range's selects (whose hints keep their own windows) return the
// whole range's series in the whole range's order, less those without
// samples in the sub-range's window.
type wholeRange struct {
	storage.Queryable
	before, after int64 // ms
}

func (w wholeRange) Querier(mint, maxt int64) (storage.Querier, error) {
	return w.Queryable.Querier(mint-w.before, maxt+w.after)
}

func (q *splitQuery) closeParts() {
	q.mu.Lock()
	parts := q.parts
	q.parts = nil
	q.mu.Unlock()
	for _, p := range parts {
		p.Close()
	}
}

// Stats implements promql.Query: the sub-ranges' work added up when the
// query was split (their peak samples too: they ran at once).
func (q *splitQuery) Stats() *stats.Statistics {
	if q.stats != nil {
		return q.stats
	}
	return q.Query.Stats()
}

// Cancel implements promql.Query.
func (q *splitQuery) Cancel() {
	q.mu.Lock()
	if q.cancel != nil {
		q.cancel()
	}
	q.mu.Unlock()
	q.Query.Cancel()
}

// Close implements promql.Query: the answer shares the sub-ranges'
// histograms, which the engine recycles when they are closed.
func (q *splitQuery) Close() {
	q.closeParts()
	q.Query.Close()
}
