package storage

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunks"
)

// seriesLimit bounds the series held, through upstream's series lifecycle
// hook: at the bound the head refuses to create a series, while samples of
// existing series are still written. Prometheus has no such guard; without
// it a cardinality explosion grows memory until the process is killed.
//
// The count follows the head's creations and deletions, so the bound is
// soft by the few series concurrent appenders create at the same moment.
type seriesLimit struct {
	max     int64
	count   atomic.Int64
	refused prometheus.Counter
}

func newSeriesLimit(reg prometheus.Registerer, maxSeries int) *seriesLimit {
	l := &seriesLimit{
		max: int64(maxSeries),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "miniprom_tsdb_series_refused_total",
			Help: "New series refused because the server held its limit of series (--storage.max-series).",
		}),
	}
	if reg != nil {
		reg.MustRegister(l.refused, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "miniprom_tsdb_series_limit",
			Help: "The most series the server holds (--storage.max-series); 0 is no limit.",
		}, func() float64 { return float64(l.max) }))
	}
	return l
}

// SeriesLimitError is the error of an append that would have created a
// series beyond the limit. It is an out-of-bounds error to upstream code:
// scrapes skip the sample and go on with the rest, and the remote write and
// OTLP receivers answer 400 with its text.
type SeriesLimitError struct {
	Limit  int64
	Series labels.Labels
}

func (e *SeriesLimitError) Error() string {
	return fmt.Sprintf("new series %s refused: the server holds its limit of %d series (--storage.max-series)", e.Series, e.Limit)
}

// Is makes the error a storage.ErrOutOfBounds to upstream callers.
func (e *SeriesLimitError) Is(target error) bool { return target == storage.ErrOutOfBounds }

// IsSeriesLimit reports whether err is (or wraps) a SeriesLimitError.
func IsSeriesLimit(err error) bool {
	var e *SeriesLimitError
	return errors.As(err, &e)
}

func (l *seriesLimit) PreCreation(lset labels.Labels) error {
	if l.max > 0 && l.count.Load() >= l.max {
		l.refused.Inc()
		return &SeriesLimitError{Limit: l.max, Series: lset}
	}
	return nil
}

func (l *seriesLimit) PostCreation(labels.Labels) { l.count.Add(1) }

func (l *seriesLimit) PostDeletion(deleted map[chunks.HeadSeriesRef]labels.Labels) {
	l.count.Add(-int64(len(deleted)))
}

// MaxSeries is the bound on series held; 0 is none.
func (s *Storage) MaxSeries() int64 { return s.limit.max }
