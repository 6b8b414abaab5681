package querycache

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"
)

// StartTime is read again after the steps are evaluated, and may
// invalidate then (the server's look at the TSDB's blocks does): a change
// storage made while the query ran, which the evaluated steps saw, keeps
// the cached steps from being served with them.
func TestStartTimeReadAfterEvaluation(t *testing.T) {
	w := newWorld(t, 1, worldOptions{})
	calls, changeAt := 0, -1
	w.cached = NewEngine(w.plain, Options{
		MaxBytes:      64 << 20,
		LookbackDelta: testLookback,
		Tracker:       w.tracker,
		Parser:        parser.NewParser(parser.Options{}),
		StartTime: func() (int64, error) {
			calls++
			switch calls {
			case changeAt:
				// A block with a new series is loaded right after this look.
				app := w.db.Appender(context.Background())
				_, err := app.Append(0, labels.FromStrings("__name__", "temperature", "job", "block"), w.now-45*time.Minute.Milliseconds(), 1)
				require.NoError(t, err)
				require.NoError(t, app.Commit())
			case changeAt + 1:
				w.tracker.Invalidate() // and noticed by the next
			}
			return 0, nil
		},
	})
	step := time.Minute
	end := w.now - 30*time.Minute.Milliseconds()
	end -= end % step.Milliseconds()
	start := end - 30*time.Minute.Milliseconds()
	require.Empty(t, w.compare("temperature", start, end, step))
	changeAt = calls + 1
	require.Empty(t, w.compare("temperature", start, end+10*time.Minute.Milliseconds(), step))
}
