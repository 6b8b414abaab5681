package querycache

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
)

// Tracker knows when cached steps may have changed. Everything that writes
// samples goes through its Appendable wrappers; whatever else changes stored
// samples (admin deletes, a config reload) calls Invalidate.
//
// The contract with Engine: a step is cached only if every sample it reads
// is older than the watermark read before it was evaluated. The watermark
// never moves back, and any commit of a sample older than the watermark bumps
// the generation after the commit, which drops every cached result. So a
// cached step can only be changed by a sample that also invalidated it.
type Tracker struct {
	safety time.Duration
	now    func() time.Time

	gen       atomic.Uint64
	newest    atomic.Int64 // newest sample timestamp committed, ms
	watermark atomic.Int64 // ms; only grows

	invalidations prometheus.Counter

	// brokenForTest turns invalidation off, so the property test can show
	// that it catches a cache that misses a backfill.
	brokenForTest bool
}

// DefaultSafetyOffset is how far behind the newest sample (and behind now) a
// sample may land without invalidating the cache. Scrapes commit samples
// stamped with the scrape's start, up to a scrape timeout behind the newest;
// remote write from agents lags by seconds. Later than that is a backfill.
const DefaultSafetyOffset = 2 * time.Minute

// NewTracker returns a tracker with the given safety offset (0 means
// DefaultSafetyOffset) and clock (nil means time.Now). Its invalidation
// counter is registered with reg when reg is not nil.
func NewTracker(safety time.Duration, now func() time.Time, reg prometheus.Registerer) *Tracker {
	if safety <= 0 {
		safety = DefaultSafetyOffset
	}
	if now == nil {
		now = time.Now
	}
	t := &Tracker{
		safety: safety,
		now:    now,
		invalidations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "miniprom_query_cache_invalidations_total",
			Help: "Times every cached range query result was dropped: a sample landed behind the watermark, series were deleted, or the config was reloaded.",
		}),
	}
	t.newest.Store(math.MinInt64)
	t.watermark.Store(math.MinInt64)
	if reg != nil {
		reg.MustRegister(t.invalidations)
	}
	return t
}

// Generation changes whenever cached results become invalid.
func (t *Tracker) Generation() uint64 { return t.gen.Load() }

// Invalidate drops every cached result. Call it after the change is visible
// to queries (after the delete returned, after the reload applied).
func (t *Tracker) Invalidate() {
	if t.brokenForTest {
		return
	}
	t.gen.Add(1)
	t.invalidations.Inc()
}

// Watermark is the time (ms) before which samples are taken as final: the
// safety offset behind the newest committed sample and behind now, whichever
// is earlier. It never moves back, even if the clock does.
func (t *Tracker) Watermark() int64 {
	newest := t.newest.Load()
	if newest == math.MinInt64 {
		return math.MinInt64
	}
	w := min(newest, t.now().UnixMilli()) - t.safety.Milliseconds()
	for {
		old := t.watermark.Load()
		if w <= old {
			return old
		}
		if t.watermark.CompareAndSwap(old, w) {
			return w
		}
	}
}

// committed records a committed batch of samples with timestamps in
// [mint, maxt]. It must run after the commit made them visible: a query that
// started before and did not see them then fails to store its result.
func (t *Tracker) committed(mint, maxt int64) {
	if mint > maxt {
		return // nothing appended
	}
	for {
		old := t.newest.Load()
		if maxt <= old || t.newest.CompareAndSwap(old, maxt) {
			break
		}
	}
	if mint < t.Watermark() {
		t.Invalidate()
	}
}

// Appendable wraps a for the scrape manager, rules and receivers, so that
// every committed sample is seen.
func (t *Tracker) Appendable(a storage.Appendable) storage.Appendable {
	return appendable{a, t}
}

// AppendableV2 is Appendable for storage.AppendableV2.
func (t *Tracker) AppendableV2(a storage.AppendableV2) storage.AppendableV2 {
	return appendableV2{a, t}
}

type appendable struct {
	storage.Appendable
	t *Tracker
}

func (a appendable) Appender(ctx context.Context) storage.Appender {
	return &appender{Appender: a.Appendable.Appender(ctx), span: newSpan(a.t)}
}

type appendableV2 struct {
	storage.AppendableV2
	t *Tracker
}

func (a appendableV2) AppenderV2(ctx context.Context) storage.AppenderV2 {
	return &appenderV2{AppenderV2: a.AppendableV2.AppenderV2(ctx), span: newSpan(a.t)}
}

// span is the range of timestamps a transaction appended.
type span struct {
	t          *Tracker
	mint, maxt int64
}

func newSpan(t *Tracker) span { return span{t: t, mint: math.MaxInt64, maxt: math.MinInt64} }

// add notes a sample unless the storage refused it as out of order, a
// duplicate or too old, which changes nothing: targets that expose their
// own old timestamps send the same samples again on every scrape. Any
// other error may have come after the sample was written (a partial error
// for its exemplars), so the sample counts.
func (s *span) add(ts int64, err error) {
	if err != nil && (errors.Is(err, storage.ErrOutOfOrderSample) || errors.Is(err, storage.ErrDuplicateSampleForTimestamp) ||
		errors.Is(err, storage.ErrOutOfBounds) || errors.Is(err, storage.ErrTooOldSample)) {
		return
	}
	s.mint = min(s.mint, ts)
	s.maxt = max(s.maxt, ts)
}

// commit reports the span even when the commit failed: a failed commit may
// have written part of the batch.
func (s *span) commit(err error) error {
	s.t.committed(s.mint, s.maxt)
	*s = newSpan(s.t)
	return err
}

func (s *span) rollback(err error) error {
	*s = newSpan(s.t)
	return err
}

// appender notes the timestamps of the samples it appends. Exemplars and
// metadata change no query result and pass through.
type appender struct {
	storage.Appender
	span span
}

func (a *appender) Append(ref storage.SeriesRef, l labels.Labels, ts int64, v float64) (storage.SeriesRef, error) {
	ref, err := a.Appender.Append(ref, l, ts, v)
	a.span.add(ts, err)
	return ref, err
}

func (a *appender) AppendHistogram(ref storage.SeriesRef, l labels.Labels, ts int64, h *histogram.Histogram, fh *histogram.FloatHistogram) (storage.SeriesRef, error) {
	ref, err := a.Appender.AppendHistogram(ref, l, ts, h, fh)
	a.span.add(ts, err)
	return ref, err
}

// AppendSTZeroSample writes a zero sample at st, the start timestamp.
func (a *appender) AppendSTZeroSample(ref storage.SeriesRef, l labels.Labels, ts, st int64) (storage.SeriesRef, error) {
	ref, err := a.Appender.AppendSTZeroSample(ref, l, ts, st)
	a.span.add(st, err)
	return ref, err
}

func (a *appender) AppendHistogramSTZeroSample(ref storage.SeriesRef, l labels.Labels, ts, st int64, h *histogram.Histogram, fh *histogram.FloatHistogram) (storage.SeriesRef, error) {
	ref, err := a.Appender.AppendHistogramSTZeroSample(ref, l, ts, st, h, fh)
	a.span.add(st, err)
	return ref, err
}

func (a *appender) Commit() error   { return a.span.commit(a.Appender.Commit()) }
func (a *appender) Rollback() error { return a.span.rollback(a.Appender.Rollback()) }

// appenderV2 is appender for storage.AppenderV2. The start timestamp st is
// stored with the sample at ts (miniprom's storage does not write start
// timestamps as zero samples), so only ts counts.
type appenderV2 struct {
	storage.AppenderV2
	span span
}

func (a *appenderV2) Append(ref storage.SeriesRef, l labels.Labels, st, ts int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, opts storage.AppendV2Options) (storage.SeriesRef, error) {
	ref, err := a.AppenderV2.Append(ref, l, st, ts, v, h, fh, opts)
	a.span.add(ts, err)
	return ref, err
}

// AppendExemplars passes exemplars on: the remote write receivers need an
// storage.ExemplarAppenderV2, and exemplars change no query result.
func (a *appenderV2) AppendExemplars(ref storage.SeriesRef, l labels.Labels, es []exemplar.Exemplar) (storage.SeriesRef, error) {
	ea, ok := a.AppenderV2.(storage.ExemplarAppenderV2)
	if !ok {
		return 0, fmt.Errorf("%T cannot append exemplars", a.AppenderV2)
	}
	return ea.AppendExemplars(ref, l, es)
}

func (a *appenderV2) Commit() error   { return a.span.commit(a.AppenderV2.Commit()) }
func (a *appenderV2) Rollback() error { return a.span.rollback(a.AppenderV2.Rollback()) }
