package querycache

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/tsdbutil"
	"github.com/stretchr/testify/require"
)

// world is a test data set in a real TSDB, written through a Tracker, with
// the upstream engine and a cached engine over it.
type world struct {
	t       *testing.T
	rng     *rand.Rand
	db      *tsdb.DB
	tracker *Tracker
	app     storage.Appendable
	plain   promql.QueryEngine
	cached  *Engine
	split   *SplitEngine // with worldOptions.split, the cached engine's inner engine

	now    int64 // ms; the fake clock, also the newest sample
	oldest int64 // ms; samples before it were dropped by "retention"
	state  map[string]*seriesState
	nextID int

	// shuffled: see worldOptions.
	shuffled bool
	// orderSensitive worlds compact their head into 30m blocks as time
	// passes, have hosts join out of label order, and are asked
	// order-sensitive aggregations, compared bit for bit.
	orderSensitive bool

	nondeterministic int // answers the engine itself gives differently
	engineBugs       int // uncached evaluations that panicked
}

type seriesState struct {
	lset   labels.Labels
	kind   string // counter, gauge, bucket, native
	value  float64
	hindex int64
	paused bool
}

const (
	scrapeInterval = 15 * time.Second
	testLookback   = 5 * time.Minute
)

// worldOptions shape the world, and break parts of the cache on purpose,
// to show the property test notices.
type worldOptions struct {
	brokenInvalidation bool
	ignoreRetention    bool
	trustAnnotations   bool
	pieceQuerier       bool
	ignoreOrder        bool

	// orderSensitive: see world.
	orderSensitive bool
	// split evaluates through a SplitEngine (split.go) what the cached
	// engine evaluates.
	split bool
	// blocks gives the world 3h of history, and cuts what the head need
	// not hold into 30-minute blocks, so that a range reads blocks and
	// the head, and a sub-range of it may read only the head.
	blocks bool
	// shuffled creates the series in random order, not in label order.
	shuffled bool
}

func newWorld(t *testing.T, seed uint64, wo worldOptions) *world {
	t.Helper()
	opts := tsdb.DefaultOptions()
	opts.OutOfOrderTimeWindow = (24 * time.Hour).Milliseconds()
	if wo.blocks || wo.orderSensitive {
		opts.MinBlockDuration = (30 * time.Minute).Milliseconds()
		opts.MaxBlockDuration = opts.MinBlockDuration
	}
	db, err := tsdb.Open(t.TempDir(), nil, nil, opts, nil)
	require.NoError(t, err)
	db.DisableCompactions()
	t.Cleanup(func() { require.NoError(t, db.Close()) })

	w := &world{
		t:      t,
		rng:    rand.New(rand.NewPCG(seed, 42)),
		db:     db,
		now:    time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC).UnixMilli(),
		oldest: math.MinInt64,
		state:  map[string]*seriesState{},

		shuffled:       wo.shuffled,
		orderSensitive: wo.orderSensitive,
	}
	w.tracker = NewTracker(0, func() time.Time { return time.UnixMilli(w.now) }, nil)
	w.tracker.brokenForTest = wo.brokenInvalidation
	w.app = w.tracker.Appendable(db)
	engineOpts := promql.EngineOpts{
		MaxSamples:           50_000_000,
		Timeout:              time.Minute,
		LookbackDelta:        testLookback,
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
		Parser:               parser.NewParser(parser.Options{}),
		// Subqueries without a step use the evaluation interval.
		NoStepSubqueryIntervalFn: func(int64) int64 { return time.Minute.Milliseconds() },
	}
	plain := promql.NewEngine(engineOpts)
	w.plain = plain
	var inner promql.QueryEngine = w.plain
	if wo.split {
		w.split = newSplitEngine(plain, engineOpts, 1)
		inner = w.split
	}
	w.cached = NewEngine(inner, Options{
		MaxBytes:      64 << 20,
		LookbackDelta: testLookback,
		Tracker:       w.tracker,
		Storage:       worldStorage{w, wo.ignoreRetention},
		Parser:        parser.NewParser(parser.Options{}),
	})
	w.cached.trustEvaluatedAnnotationsForTest = wo.trustAnnotations
	w.cached.pieceQuerierForTest = wo.pieceQuerier
	w.cached.ignoreOrderForTest = wo.ignoreOrder

	for _, job := range []string{"a", "b"} {
		for _, inst := range []string{"i1", "i2", "i3"} {
			w.addSeries("counter", labels.FromStrings("__name__", "requests_total", "job", job, "instance", inst))
			w.addSeries("counter", labels.FromStrings("__name__", "bytes_sent", "job", job, "instance", inst))
			w.addSeries("gauge", labels.FromStrings("__name__", "temperature", "job", job, "instance", inst))
			w.addSeries("native", labels.FromStrings("__name__", "latency_seconds", "job", job, "instance", inst))
			for _, le := range []string{"0.1", "1", "10", "+Inf"} {
				w.addSeries("bucket", labels.FromStrings("__name__", "duration_seconds_bucket", "job", job, "instance", inst, "le", le))
			}
		}
	}
	if w.orderSensitive {
		for i := range 6 {
			w.addHost(fmt.Sprintf("host-%d", i+1))
		}
	}
	history := 2 * time.Hour
	if wo.blocks {
		history = 3 * time.Hour
	}
	w.now -= history.Milliseconds()
	w.advance(history)
	if wo.blocks {
		require.NoError(t, db.Compact(context.Background()))
		require.NotEmpty(t, db.Blocks())
	}
	return w
}

// dbStorage is a TSDB as the cache reads it.
type dbStorage struct{ *tsdb.DB }

func (s dbStorage) BlockMetas() ([]tsdb.BlockMeta, error) {
	var metas []tsdb.BlockMeta
	for _, b := range s.Blocks() {
		metas = append(metas, b.Meta())
	}
	return metas, nil
}

// worldStorage is the world's TSDB, whose oldest sample is the one its
// "retention" kept, unless the cache is told nothing of retention.
type worldStorage struct {
	w               *world
	ignoreRetention bool
}

func (s worldStorage) StartTime() (int64, error) {
	if s.ignoreRetention {
		return math.MinInt64, nil
	}
	st, err := s.w.db.StartTime()
	return max(st, s.w.oldest), err
}

func (s worldStorage) BlockMetas() ([]tsdb.BlockMeta, error) { return dbStorage{s.w.db}.BlockMetas() }

func (w *world) addSeries(kind string, lset labels.Labels) *seriesState {
	s := &seriesState{lset: lset, kind: kind, value: float64(w.rng.IntN(100))}
	w.state[lset.String()] = s
	return s
}

// sample is the series' next value: counters grow (with a rare reset),
// gauges wander, buckets grow with their bound.
func (w *world) sample(s *seriesState) (float64, *histogram.Histogram) {
	switch s.kind {
	case "counter":
		if w.rng.IntN(200) == 0 {
			s.value = 0
		}
		s.value += w.rng.Float64() * 10
	case "gauge":
		s.value += w.rng.NormFloat64() * 3
	case "load":
		s.value += w.rng.NormFloat64() * 7.3
	case "bucket":
		le, _ := strconv.ParseFloat(s.lset.Get("le"), 64)
		s.value += math.Min(le+1, 12) * w.rng.Float64() * 4
	case "native":
		if w.rng.IntN(150) == 0 {
			s.hindex = 0
		}
		s.hindex += int64(w.rng.IntN(5) + 1)
		return 0, tsdbutil.GenerateTestHistogram(s.hindex)
	}
	return s.value, nil
}

// appendAt writes one sample per series at ts (with a little jitter), some
// series pausing (with a staleness marker) and resuming.
func (w *world) appendAt(app storage.Appender, ts int64, series []*seriesState) {
	for _, s := range series {
		t := ts + int64(w.rng.IntN(500))
		if w.rng.IntN(400) == 0 {
			s.paused = !s.paused
			if s.paused {
				_, err := app.Append(0, s.lset, t, math.Float64frombits(value.StaleNaN))
				require.NoError(w.t, err)
			}
		}
		if s.paused {
			continue
		}
		v, h := w.sample(s)
		var err error
		if h != nil {
			_, err = app.AppendHistogram(0, s.lset, t, h, nil)
		} else {
			_, err = app.Append(0, s.lset, t, v)
		}
		require.NoError(w.t, err)
	}
}

func (w *world) allSeries() []*seriesState {
	out := make([]*seriesState, 0, len(w.state))
	for _, s := range w.state {
		out = append(out, s)
	}
	// Map order is random; the data must follow the seed.
	sortSeries(out)
	return out
}

// advance moves the clock by d, scraping every series on the way.
func (w *world) advance(d time.Duration) {
	series := w.allSeries()
	if w.shuffled {
		// New series enter the head in this order.
		w.rng.Shuffle(len(series), func(i, j int) { series[i], series[j] = series[j], series[i] })
	}
	for end := w.now + d.Milliseconds(); w.now+scrapeInterval.Milliseconds() <= end; {
		w.now += scrapeInterval.Milliseconds()
		app := w.app.Appender(context.Background())
		w.appendAt(app, w.now, series)
		require.NoError(w.t, app.Commit())
	}
	if w.orderSensitive {
		// The head keeps between 15m and 45m; older samples are in blocks.
		require.NoError(w.t, w.db.Compact(context.Background()))
	}
}

// addHost adds a load gauge of a host, in one of two zones. Its values
// are large next to their changes, so that sums in another order round
// differently.
func (w *world) addHost(host string) *seriesState {
	zone := []string{"a", "b"}[w.rng.IntN(2)]
	s := w.addSeries("load", labels.FromStrings("__name__", "load", "zone", zone, "host", host))
	s.value = 1e6 + w.rng.Float64()*1e3
	return s
}

// join adds a host whose history is backfilled, so that the head holds
// it after series that sort after it: host-40 between host-4 and host-5.
func (w *world) join() string {
	w.nextID++
	host := fmt.Sprintf("host-%d%d", w.rng.IntN(6)+1, w.nextID)
	s := w.addHost(host)
	app := w.app.Appender(context.Background())
	from := w.now - int64(w.rng.IntN(50)+10)*time.Minute.Milliseconds()
	for ts := from; ts <= w.now; ts += scrapeInterval.Milliseconds() {
		w.appendAt(app, ts, []*seriesState{s})
	}
	require.NoError(w.t, app.Commit())
	return fmt.Sprintf("host %s joins, backfilled from %d", host, from)
}

// backfill writes old samples: a new series over an old stretch, or
// out-of-order samples into existing series.
func (w *world) backfill() string {
	if w.orderSensitive && w.rng.IntN(2) == 0 {
		return w.join()
	}
	app := w.app.Appender(context.Background())
	from := w.now - int64(w.rng.IntN(50)+10)*time.Minute.Milliseconds()
	n := w.rng.IntN(20) + 1
	var desc string
	if w.rng.IntN(2) == 0 {
		w.nextID++
		kinds := []string{"counter", "gauge", "native"}
		names := map[string]string{"counter": "requests_total", "gauge": "temperature", "native": "latency_seconds"}
		kind := kinds[w.rng.IntN(len(kinds))]
		lset := labels.FromStrings("__name__", names[kind], "job", "backfill", "instance", fmt.Sprintf("bf%d", w.nextID))
		s := &seriesState{lset: lset, kind: kind}
		for i := range n {
			w.appendAt(app, from+int64(i)*scrapeInterval.Milliseconds(), []*seriesState{s})
		}
		desc = fmt.Sprintf("backfill new series %s: %d samples from %d", lset, n, from)
	} else {
		// Into every series of one metric, between two scrapes.
		name := []string{"requests_total", "bytes_sent", "temperature"}[w.rng.IntN(3)]
		for _, s := range w.allSeries() {
			if s.lset.Get("__name__") != name {
				continue
			}
			for i := range n {
				ts := from + int64(i)*scrapeInterval.Milliseconds() + 5_000 + int64(w.rng.IntN(5_000))
				_, err := app.Append(0, s.lset, ts, s.value+w.rng.Float64())
				if !errors.Is(err, storage.ErrDuplicateSampleForTimestamp) {
					require.NoError(w.t, err)
				}
			}
		}
		desc = fmt.Sprintf("out-of-order samples into %s: %d from %d", name, n, from)
	}
	require.NoError(w.t, app.Commit())
	return desc
}

// deleteSeries deletes a series over a stretch, as the admin API does, and
// invalidates, as the server's storage wrapper does.
func (w *world) deleteSeries() string {
	series := w.allSeries()
	s := series[w.rng.IntN(len(series))]
	from := w.now - int64(w.rng.IntN(120))*time.Minute.Milliseconds()
	to := from + int64(w.rng.IntN(60))*time.Minute.Milliseconds()
	var ms []*labels.Matcher
	s.lset.Range(func(l labels.Label) { ms = append(ms, labels.MustNewMatcher(labels.MatchEqual, l.Name, l.Value)) })
	require.NoError(w.t, w.db.Delete(context.Background(), from, to, ms...))
	w.tracker.Invalidate()
	return fmt.Sprintf("delete %s in [%d, %d]", s.lset, from, to)
}

// truncate drops every sample older than a point, as retention does: the
// oldest sample moves forward and nothing is invalidated.
func (w *world) truncate() string {
	mint := max(w.oldest, w.now-(2*time.Hour).Milliseconds()) + int64(w.rng.IntN(20)+1)*time.Minute.Milliseconds()
	require.NoError(w.t, w.db.Delete(context.Background(), w.now-(24*time.Hour).Milliseconds(), mint-1, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+")))
	w.oldest = mint
	return fmt.Sprintf("retention drops samples before %d", mint)
}
