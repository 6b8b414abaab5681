package querycache

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser/posrange"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/stretchr/testify/require"
)

// The engine warns that sort() is ineffective in a range query only when
// the range has more than one step. A stitched answer whose evaluated
// pieces are single steps would lose the warning the whole range carries.
func TestSortWarningOfStitchedSingleSteps(t *testing.T) {
	w := newWorld(t, 1, worldOptions{})
	step := 30 * time.Second
	at := w.now - time.Hour.Milliseconds()
	at -= at % step.Milliseconds()
	for _, expr := range []string{"sort(temperature)", "sort_desc(rate(requests_total[5m]))"} {
		// One step: no warning, and nothing keeps it from being cached.
		require.Empty(t, w.compare(expr, at, at, step))
		// Three steps: the middle one cached, the first and last evaluated
		// alone.
		require.Empty(t, w.compare(expr, at-step.Milliseconds(), at+step.Milliseconds(), step))
	}
}

// A subquery is evaluated at all of its steps between the range's first
// window and its last, also those no outer step reads when the query's
// step is longer than the subquery's range. Their annotations are the
// whole range's, and no evaluated piece sees the steps between two pieces.
func TestSubqueryStepsBetweenWindows(t *testing.T) {
	w := newWorld(t, 1, worldOptions{})
	step := 30 * time.Minute
	end := w.now - 10*time.Minute.Milliseconds()
	end -= end % step.Milliseconds()
	start := end - 2*step.Milliseconds()

	// A series without _total that lives a few minutes between the last
	// two steps: rate() of it, at the subquery's steps then, carries an
	// info annotation; at no outer step's window does it have a value.
	app := w.app.Appender(context.Background())
	lset := labels.FromStrings("__name__", "short_lived", "job", "a")
	for ts := end - 20*time.Minute.Milliseconds(); ts < end-15*time.Minute.Milliseconds(); ts += 15_000 {
		_, err := app.Append(0, lset, ts, float64(ts/1000))
		require.NoError(t, err)
	}
	require.NoError(t, app.Commit())
	w.tracker.Invalidate() // the samples are backfill; start from an empty cache

	expr := "max_over_time(rate(short_lived[1m])[1m:15s]) or vector(1)"
	// The first two steps get cached, then the last is evaluated alone.
	require.Empty(t, w.compare(expr, start, end-step.Milliseconds(), step))
	require.Empty(t, w.compare(expr, start, end, step))
}

// An info the API renders with details gathered over the range's steps
// cannot be stitched from pieces: the answer is the engine's whole.
func TestInfoOnlyTakesStepwiseInfos(t *testing.T) {
	var pos posrange.PositionRange
	require.True(t, infoOnly(nil))
	require.True(t, infoOnly(annotations.New().Add(annotations.NewPossibleNonCounterInfo("bytes", pos))))
	require.False(t, infoOnly(annotations.New().Add(annotations.NewHistogramQuantileForcedMonotonicityInfo("x_bucket", pos, 1000, 1, 2, 0.5))))
	require.False(t, infoOnly(annotations.New().Add(annotations.NewSortInRangeQueryWarning(pos))))
}
