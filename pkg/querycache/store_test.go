package querycache

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/stretchr/testify/require"
)

func testExtent(points int) *extent {
	m := promql.Matrix{{Metric: labels.FromStrings("job", "x"), Floats: make([]promql.FPoint, points)}}
	return &extent{start: 0, end: int64(points), matrix: m, bytes: sizeOf(m)}
}

// The store keeps within its budget by dropping the least recently used
// entries, refuses an entry larger than a quarter of it, and forgets
// everything from an older generation.
func TestStoreBudget(t *testing.T) {
	one := testExtent(1000) // about 16 KB
	s := newStore(5*one.bytes, prometheus.NewRegistry())
	for i := range 5 {
		s.put(fmt.Sprint(i), 0, 0, testExtent(1000))
	}
	require.Equal(t, 5, s.lru.Len())
	require.NotNil(t, s.get("0", 0)) // now the most recently used

	s.put("5", 0, 0, testExtent(1000))
	require.LessOrEqual(t, s.bytes, s.maxBytes)
	require.Equal(t, float64(s.bytes), testutil.ToFloat64(s.size))
	require.NotNil(t, s.get("0", 0), "recently used, kept")
	require.Nil(t, s.get("1", 0), "least recently used, dropped")

	s.put("big", 0, 0, testExtent(2000))
	require.Nil(t, s.get("big", 0), "larger than a quarter of the budget")

	// Evaluated before an invalidation: not stored.
	s.put("late", 0, 1, testExtent(10))
	require.Nil(t, s.get("late", 1))
	require.Zero(t, s.lru.Len(), "generation 1 starts empty")
	require.Zero(t, testutil.ToFloat64(s.size))
	// A query that started before the invalidation finds nothing either.
	s.put("x", 1, 1, testExtent(10))
	require.Nil(t, s.get("x", 0))
	require.NotNil(t, s.get("x", 1))
}
