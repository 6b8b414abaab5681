package querycache

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/prometheus/prometheus/util/stats"
)

// Options configure an Engine.
type Options struct {
	// MaxBytes is the memory budget for cached results (--query.cache-size).
	MaxBytes int64
	// LookbackDelta is the engine's default lookback delta
	// (--query.lookback-delta); queries may ask for another.
	LookbackDelta time.Duration
	// Tracker sees every write; everything that writes samples must go
	// through it. Required.
	Tracker *Tracker
	// Storage is what the engine reads, as the cache must know it (epoch.go).
	// Required.
	Storage Storage
	// Parser parses queries as the engine does.
	Parser parser.Parser
	// Features are the engine's (see Features).
	Features   Features
	Registerer prometheus.Registerer
}

// Engine is a promql.QueryEngine whose range queries reuse the cached steps
// of earlier identical queries.
type Engine struct {
	inner  promql.QueryEngine
	o      Options
	store  *store
	plans  *plans
	config configBypass

	queries *prometheus.CounterVec
	steps   *prometheus.CounterVec

	// trustEvaluatedAnnotationsForTest skips the check that the evaluated
	// pieces' annotations include the cached extent's, so the property
	// test can show it matters.
	trustEvaluatedAnnotationsForTest bool
	// pieceQuerierForTest evaluates pieces with their own queriers, and
	// ignoreOrderForTest leaves the series order out of the epoch, so the
	// property test can show that both matter.
	pieceQuerierForTest, ignoreOrderForTest bool
}

// Results of a range query as the cache saw it.
const (
	resultHit     = "hit"     // every step from the cache
	resultPartial = "partial" // some steps from the cache
	resultMiss    = "miss"    // cacheable, nothing cached
	resultBypass  = "bypass"  // answered by the engine alone (bypass.go names why)
)

// NewEngine wraps inner. Instant queries pass through.
func NewEngine(inner promql.QueryEngine, o Options) *Engine {
	e := &Engine{
		inner: inner,
		o:     o,
		store: newStore(o.MaxBytes, o.Registerer),
		plans: newPlans(o.Parser),
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "miniprom_query_cache_range_queries_total",
			Help: "Range queries by what the results cache could do for them: hit (every step cached), partial, miss, bypass (answered by the engine alone, for the reason given).",
		}, []string{"result", "reason"}),
		steps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "miniprom_query_cache_steps_total",
			Help: "Steps of cacheable range queries, by whether they were served from the cache (hit) or evaluated (miss).",
		}, []string{"result"}),
	}
	for _, r := range []string{resultHit, resultPartial, resultMiss} {
		e.queries.WithLabelValues(r, "")
	}
	for _, r := range bypassReasons {
		e.queries.WithLabelValues(resultBypass, r)
	}
	e.steps.WithLabelValues(resultHit)
	e.steps.WithLabelValues(resultMiss)
	if o.Registerer != nil {
		o.Registerer.MustRegister(e.queries, e.steps)
	}
	return e
}

// NewInstantQuery implements promql.QueryEngine; instant queries are not
// cached.
func (e *Engine) NewInstantQuery(ctx context.Context, q storage.Queryable, opts promql.QueryOpts, qs string, ts time.Time) (promql.Query, error) {
	return e.inner.NewInstantQuery(ctx, q, opts, qs, ts)
}

// NewRangeQuery implements promql.QueryEngine. The engine builds the query
// for the whole range as usual, which validates it; Exec then decides what
// to evaluate.
func (e *Engine) NewRangeQuery(ctx context.Context, q storage.Queryable, opts promql.QueryOpts, qs string, start, end time.Time, step time.Duration) (promql.Query, error) {
	full, err := e.inner.NewRangeQuery(ctx, q, opts, qs, start, end, step)
	if err != nil {
		return nil, err
	}
	cq := &query{Query: full, e: e, queryable: q, opts: opts, qs: qs,
		start: start.UnixMilli(), end: end.UnixMilli(), asked: end.UnixMilli(), step: step.Milliseconds()}
	if cq.step > 0 {
		// The engine's last step; the end need not be on the grid.
		cq.end = cq.start + (cq.end-cq.start)/cq.step*cq.step
	}
	cq.lookback = lookbackOf(opts, e.o.LookbackDelta)
	cq.plan, cq.bypass = e.planFor(ctx, opts, qs, start, step, cq.lookback)
	if cq.bypass == "" {
		cq.key = cacheKey(qs, cq.start, cq.step, cq.lookback, opts)
	}
	return cq, nil
}

func lookbackOf(opts promql.QueryOpts, dflt time.Duration) time.Duration {
	if opts != nil && opts.LookbackDelta() > 0 {
		return opts.LookbackDelta()
	}
	return dflt
}

// cacheKey names what determines a step's value besides its time: the query
// text, the step grid (step and phase), the lookback delta and whether start
// timestamps are used.
func cacheKey(qs string, start, step int64, lookback time.Duration, opts promql.QueryOpts) string {
	phase := ((start % step) + step) % step
	st := "-"
	if opts != nil && opts.UseStartTimestamps() != nil {
		st = fmt.Sprint(*opts.UseStartTimestamps())
	}
	return fmt.Sprintf("%d\x00%d\x00%d\x00%s\x00%s", step, phase, lookback.Milliseconds(), st, qs)
}

// query is a range query that may be answered partly from the cache. The
// embedded query is the engine's for the whole range: it gives the
// statement and string, and it is what runs when the cache cannot help.
type query struct {
	promql.Query
	e         *Engine
	queryable storage.Queryable
	opts      promql.QueryOpts
	qs        string

	start, end, step int64 // ms; end is the last step, on the grid
	asked            int64 // ms; the end asked for, which the engine reads to
	lookback         time.Duration
	plan             plan
	bypass           string // why the cache leaves the query to the engine, or ""
	key              string

	mu     sync.Mutex // guards cancel: Cancel may come from another goroutine
	cancel context.CancelFunc
	stats  *stats.Statistics
}

// Exec implements promql.Query.
func (q *query) Exec(ctx context.Context) *promql.Result {
	if q.bypass != "" {
		return q.engineAnswer(ctx, q.bypass)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	q.mu.Lock()
	q.cancel = cancel
	q.mu.Unlock()

	before, err := q.epoch()
	if err != nil {
		return q.engineAnswer(ctx, reasonStorage)
	}
	// A step may be cached once every sample it reads is older than the
	// watermark: a sample that could still change it lands behind the
	// watermark and invalidates. (The plan's window already includes the
	// lookback delta of instant selectors, before the step; nothing the
	// cache accepts reads after the step but through an offset, which
	// readTo counts.)
	cutoff := clamp(q.e.o.Tracker.Watermark())
	ext := q.e.store.get(q.key, before.gen)
	from, to := int64(1), int64(0) // the cached steps to use; none
	if ext != nil && ext.epoch == before {
		from = max(q.start, ext.start)
		to = min(q.end, ext.end)
	}
	if from > to {
		return q.execMiss(ctx, before, cutoff, ext)
	}
	res, reason := q.execPartial(ctx, before, cutoff, ext, from, to)
	if reason != "" {
		q.stats = nil
		return q.engineAnswer(ctx, reason)
	}
	return res
}

// engineAnswer is the engine's answer for the whole range, uncached.
func (q *query) engineAnswer(ctx context.Context, reason string) *promql.Result {
	q.e.queries.WithLabelValues(resultBypass, reason).Inc()
	return q.Query.Exec(ctx)
}

// epoch is the query's epoch now (epoch.go).
func (q *query) epoch() (epoch, error) {
	ep, err := epochOf(q.e.o.Tracker, q.e.o.Storage, q.start+q.plan.readFrom, q.asked+q.plan.readTo)
	if q.e.ignoreOrderForTest {
		ep.labelOrder = false
	}
	return ep, err
}

// execMiss evaluates the whole range as the engine would without the cache
// and caches the final steps of an answer without errors or warnings.
func (q *query) execMiss(ctx context.Context, before epoch, cutoff int64, old *extent) *promql.Result {
	res := q.Query.Exec(ctx)
	if res.Err != nil || !infoOnly(res.Warnings) {
		q.e.queries.WithLabelValues(resultBypass, reasonWarnings).Inc()
		return res
	}
	mat, ok := res.Value.(promql.Matrix)
	if !ok {
		return res
	}
	q.e.queries.WithLabelValues(resultMiss, "").Inc()
	q.e.steps.WithLabelValues(resultMiss).Add(float64((q.end-q.start)/q.step + 1))
	// The engine recycles the answer's memory when the query is closed:
	// what is kept are within's copies of the points, and of the histograms.
	q.remember(mat, res.Warnings, before, cutoff, old, ownHistograms)
	return res
}

// infoOnly reports whether every annotation is informational. The cache
// keeps answers with those (rate() of a name not ending in _total always
// carries one) on this ground: the engine adds an annotation when some
// series at some step meets its condition, so the annotations of a range
// are the union of those of its steps. An answer stitched from cached
// steps and evaluated ones is served with the evaluated pieces'
// annotations only when they include all the cached extent was evaluated
// with; then they are exactly the whole range's. Warnings, which include
// storage's (remote read), are the engine's to give for the whole range.
//
// That holds only for infos whose text names what happened and where, the
// same whichever steps saw it: those in stepwiseInfos. The API renders
// others with details gathered over the range (histogram_quantile's forced
// monotonicity counts the samples fixed and gives the first and last time),
// so an answer with one is the engine's to give for the whole range too,
// as is any info upstream adds next.
func infoOnly(annos annotations.Annotations) bool {
	for _, err := range annos {
		if !slices.ContainsFunc(stepwiseInfos, func(info error) bool { return errors.Is(err, info) }) {
			return false
		}
	}
	return true
}

// stepwiseInfos are the informational annotations that are plain texts:
// the kind, a metric name or operation, and the position in the query.
var stepwiseInfos = []error{
	annotations.PossibleNonCounterInfo,
	annotations.PossibleNonCounterLabelInfo,
	annotations.IncompatibleTypesInBinOpInfo,
	annotations.HistogramIgnoredInAggregationInfo,
	annotations.HistogramIgnoredInMixedRangeInfo,
	annotations.NativeHistogramQuantileNaNResultInfo,
	annotations.NativeHistogramQuantileNaNSkewInfo,
	annotations.NativeHistogramFractionNaNsInfo,
	annotations.MismatchedCustomBucketsHistogramsInfo,
}

// execPartial answers from the cached steps in [from, to] and evaluates the
// steps before and after. It returns why the answer must come from a whole
// uncached evaluation instead, or "": a piece failed or carried warnings,
// the epoch changed meanwhile, or the evaluated pieces' annotations do not
// include the cached extent's (so the cached steps' own are unknown).
func (q *query) execPartial(ctx context.Context, before epoch, cutoff int64, ext *extent, from, to int64) (*promql.Result, string) {
	q.stats = &stats.Statistics{Timers: stats.NewQueryTimers(), Samples: stats.NewQuerySamples(false)}
	timer := q.stats.Timers.GetTimer(stats.ExecTotalTime).Start()
	defer timer.Stop()

	var parts []promql.Matrix
	annos := annotations.Annotations{}
	evaluate := func(s, e int64) bool {
		m, a, ok := q.evaluate(ctx, s, e, before.labelOrder)
		parts = append(parts, m)
		annos.Merge(a)
		return ok
	}
	if q.start < from && !evaluate(q.start, from-q.step) {
		return nil, reasonWarnings
	}
	parts = append(parts, within(ext.matrix, from, to))
	if to < q.end && !evaluate(to+q.step, q.end) {
		return nil, reasonWarnings
	}
	// The evaluated steps may have seen a change the cached ones predate.
	if after, err := q.epoch(); err != nil || after != before {
		return nil, reasonChanged
	}
	for _, k := range ext.infos {
		if _, ok := annos[k]; !ok && !q.e.trustEvaluatedAnnotationsForTest {
			return nil, reasonAnnotation
		}
	}
	mat := stitch(parts...)

	result := resultPartial
	if q.start == from && to == q.end {
		result = resultHit
	}
	cachedSteps := (to-from)/q.step + 1
	q.e.queries.WithLabelValues(result, "").Inc()
	q.e.steps.WithLabelValues(resultHit).Add(float64(cachedSteps))
	q.e.steps.WithLabelValues(resultMiss).Add(float64((q.end-q.start)/q.step + 1 - cachedSteps))

	// The pieces are copies, the cached steps immutable: share them.
	q.remember(mat, annos, before, cutoff, ext, func(m promql.Matrix) promql.Matrix { return m })
	res := &promql.Result{Value: mat}
	if len(annos) > 0 {
		res.Warnings = maps.Clone(annos)
	}
	return res, ""
}

// remember caches the steps of mat that are final: those reading only
// samples older than cutoff, if the epoch is still the one before the
// evaluation (retention may have dropped samples it saw, a block may have
// been loaded that it did not see).
func (q *query) remember(mat promql.Matrix, annos annotations.Annotations, before epoch, cutoff int64, old *extent, own func(promql.Matrix) promql.Matrix) {
	if after, err := q.epoch(); err != nil || after != before {
		return
	}
	from, to := q.start, min(q.end, q.alignDown(cutoff-1-q.plan.readTo))
	if from > to || (old != nil && old.start == from && old.end == to && old.epoch == before) {
		return
	}
	// Of the annotations, only the texts are kept: the cache compares them,
	// and serves the evaluated pieces' own. The errors would hold the texts
	// again, their wrapping, and the query text the API gives them.
	ext := &extent{start: from, end: to, epoch: before, matrix: own(within(mat, from, to)), infos: slices.Collect(maps.Keys(annos))}
	ext.bytes = ext.size() + int64(len(q.key))
	q.e.store.put(q.key, before.gen, q.e.o.Tracker.Generation(), ext)
}

// evaluate runs the engine over the steps in [s, e], reading storage as
// the whole range does (wholerange.go) in the epoch read before. It reports false if the evaluation
// failed or has warnings.
func (q *query) evaluate(ctx context.Context, s, e int64, labelOrder bool) (promql.Matrix, annotations.Annotations, bool) {
	queryable := asWholeRange(q.queryable, labelOrder)
	if q.e.pieceQuerierForTest {
		queryable = q.queryable
	}
	qry, err := q.e.inner.NewRangeQuery(ctx, queryable, q.opts, q.qs, time.UnixMilli(s), time.UnixMilli(e), time.Duration(q.step)*time.Millisecond)
	if err != nil {
		return nil, nil, false
	}
	defer qry.Close()
	res := qry.Exec(ctx)
	if st := qry.Stats(); st != nil && st.Samples != nil {
		q.stats.Samples.TotalSamples += st.Samples.TotalSamples
		q.stats.Samples.SamplesRead += st.Samples.SamplesRead
		q.stats.Samples.TotalSeries += st.Samples.TotalSeries
		q.stats.Samples.PeakSamples = max(q.stats.Samples.PeakSamples, st.Samples.PeakSamples)
	}
	if res.Err != nil || !infoOnly(res.Warnings) {
		return nil, nil, false
	}
	m, ok := res.Value.(promql.Matrix)
	if !ok {
		return nil, nil, false
	}
	return ownedCopy(m), res.Warnings, true
}

// clamp keeps timestamps (math.MinInt64 for "no samples yet", MaxInt64
// for an empty head's start) far enough from the int64 limits that adding
// a window to them cannot overflow.
func clamp(t int64) int64 {
	const limit = 1 << 61
	return min(max(t, -limit), limit)
}

// alignDown is the last step at or before t.
func (q *query) alignDown(t int64) int64 {
	if t < q.start {
		return q.start - q.step
	}
	return q.start + (t-q.start)/q.step*q.step
}

// Stats implements promql.Query: the work of the evaluated steps when the
// cache answered.
func (q *query) Stats() *stats.Statistics {
	if q.stats != nil {
		return q.stats
	}
	return q.Query.Stats()
}

// Cancel implements promql.Query.
func (q *query) Cancel() {
	q.mu.Lock()
	if q.cancel != nil {
		q.cancel()
	}
	q.mu.Unlock()
	q.Query.Cancel()
}
