package storage

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/storage/storagetest"
)

// The label cache's budget counts what its answers hold in the heap. Many
// small answers (a value or two under a different match[] each, as a
// dashboard's chained variables ask) are where a count of the values alone
// undercounts most.
func TestLabelCacheCountsWhatItHolds(t *testing.T) {
	s, err := Open(promslog.NewNopLogger(), nil, Options{MemoryDir: storagetest.MemoryDir(t), Retention: time.Hour})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	const pods = 3000
	now := time.Now().UnixMilli()
	app := s.Appender(context.Background())
	for i := range pods {
		_, err := app.Append(0, labels.FromStrings("__name__", "up", "pod", fmt.Sprint("pod-", i), "zone", fmt.Sprint("zone-", i%10)), now, 1)
		require.NoError(t, err)
	}
	require.NoError(t, app.Commit())
	q, err := s.Querier(now-60_000, now+60_000)
	require.NoError(t, err)
	for i := range pods {
		vals, _, err := q.LabelValues(context.Background(), "zone", nil, labels.MustNewMatcher(labels.MatchEqual, "pod", fmt.Sprint("pod-", i)))
		require.NoError(t, err)
		require.Len(t, vals, 1)
	}
	require.NoError(t, q.Close())
	a := s.b.(*dbBackend).head.answers
	require.Len(t, a.entries, pods, "every answer is cached")

	withEntries := storagetest.HeapHeld()
	a.mu.Lock()
	counted := a.bytes
	a.entries, a.bytes = map[string]headEntry{}, 0
	a.mu.Unlock()
	freed := withEntries - storagetest.HeapHeld()
	runtime.KeepAlive(s) // its head is not the answers'
	t.Logf("%d answers: %d bytes counted, %d freed when dropped (%d and %d per answer)",
		pods, counted, freed, counted/pods, freed/pods)
	require.GreaterOrEqual(t, counted, freed*9/10, "the budget undercounts what answers hold")
	require.LessOrEqual(t, counted, freed*2, "the budget overcounts what answers hold")
}
