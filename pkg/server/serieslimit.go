package server

import (
	"context"
	"fmt"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/scrape"
	"github.com/prometheus/prometheus/storage"

	mpstorage "github.com/miniprom/miniprom/pkg/storage"
)

// scrapeAppendable shows series refused by --storage.max-series as the
// target's last error in /api/v1/targets.
//
// Upstream's scrape loop reports an append error only by dropping the whole
// scrape and marking every series stale, which would turn a cardinality
// guard into an outage. The storage's refusal is an out-of-bounds error, so
// the loop skips just the new series and writes the rest; once the scrape
// is committed, this sets the target's last error to say what was refused.
// The scrape manager passes the target in the appender's context
// (scrape.Options.PassMetadataInContext).
type scrapeAppendable struct{ storage.AppendableV2 }

func (a scrapeAppendable) AppenderV2(ctx context.Context) storage.AppenderV2 {
	app := a.AppendableV2.AppenderV2(ctx)
	t, ok := scrape.TargetFromContext(ctx)
	if !ok {
		return app
	}
	return &limitReportingAppender{AppenderV2: app, target: t}
}

type limitReportingAppender struct {
	storage.AppenderV2
	target  *scrape.Target
	refused int
	first   error
}

func (a *limitReportingAppender) Append(ref storage.SeriesRef, ls labels.Labels, st, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, opts storage.AOptions) (storage.SeriesRef, error) {
	ref, err := a.AppenderV2.Append(ref, ls, st, t, v, h, fh, opts)
	if err != nil && mpstorage.IsSeriesLimit(err) {
		if a.refused == 0 {
			a.first = err
		}
		a.refused++
	}
	return ref, err
}

func (a *limitReportingAppender) Commit() error {
	err := a.AppenderV2.Commit()
	if err == nil && a.refused > 0 {
		t := a.target
		t.Report(t.LastScrape(), t.LastScrapeDuration(),
			fmt.Errorf("%d new series not stored, the other samples were: %w", a.refused, a.first))
	}
	return err
}
