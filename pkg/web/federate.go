package web

// This file is Prometheus's web/federate.go (Apache License 2.0) adapted to
// miniprom: upstream offers federation only as a method of its own web
// handler, which miniprom does not use. Changes: the handler state below, the
// metrics registered per instance, and the config read through a function.

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// Federation serves /federate: the latest sample of every series matching
// the match[] selectors, in the exposition format the client accepts.
type Federation struct {
	logger        *slog.Logger
	storage       storage.Queryable
	config        func() config.Config
	lookbackDelta time.Duration
	parser        parser.Parser
	now           func() model.Time

	errors, warnings prometheus.Counter
}

// NewFederation returns the /federate handler.
func NewFederation(logger *slog.Logger, q storage.Queryable, cfg func() config.Config, lookbackDelta time.Duration, reg prometheus.Registerer) *Federation {
	f := &Federation{
		logger:        logger,
		storage:       q,
		config:        cfg,
		lookbackDelta: lookbackDelta,
		parser:        parser.NewParser(parser.Options{}),
		now:           model.Now,
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_web_federation_errors_total",
			Help: "Total number of errors that occurred while sending federation responses.",
		}),
		warnings: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_web_federation_warnings_total",
			Help: "Total number of warnings that occurred while sending federation responses.",
		}),
	}
	reg.MustRegister(f.errors, f.warnings)
	return f
}

// WithParser sets the PromQL parser for match[] selectors, so that the
// --enable-feature parser options (unquoted UTF-8 names) apply to
// federation as they do in Prometheus.
func (f *Federation) WithParser(p parser.Parser) *Federation {
	f.parser = p
	return f
}

func (h *Federation) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	ctx := req.Context()
	cfg := h.config()

	if err := req.ParseForm(); err != nil {
		http.Error(w, fmt.Sprintf("error parsing form values: %v", err), http.StatusBadRequest)
		return
	}

	matcherSets, err := h.parser.ParseMetricSelectors(req.Form["match[]"])
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}

	var (
		mint   = timestamp.FromTime(h.now().Time().Add(-h.lookbackDelta))
		maxt   = timestamp.FromTime(h.now().Time())
		format = expfmt.NegotiateAccept(req.Header, expfmt.NewFormat(expfmt.TypeProtoDelim), expfmt.NewFormat(expfmt.TypeProtoText), expfmt.NewFormat(expfmt.TypeProtoCompact), expfmt.NewFormat(expfmt.TypeTextPlain))
		enc    = expfmt.NewEncoder(w, format)
	)
	w.Header().Set("Content-Type", string(format))

	q, err := h.storage.Querier(mint, maxt)
	if err != nil {
		h.errors.Inc()
		if errors.Is(err, tsdb.ErrNotReady) {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer q.Close()

	vec := make(promql.Vector, 0, 8000)

	hints := &storage.SelectHints{Start: mint, End: maxt}

	var sets []storage.SeriesSet
	for _, mset := range matcherSets {
		s := q.Select(ctx, true, hints, mset...)
		sets = append(sets, s)
	}

	set := storage.NewMergeSeriesSet(sets, 0, storage.ChainedSeriesMerge)
	it := storage.NewBuffer(int64(h.lookbackDelta / 1e6))
	var chkIter chunkenc.Iterator
Loop:
	for set.Next() {
		s := set.At()

		// TODO(fabxc): allow fast path for most recent sample either
		// in the storage itself or caching layer in Prometheus.
		chkIter = s.Iterator(chkIter)
		it.Reset(chkIter)

		var (
			t  int64
			f  float64
			fh *histogram.FloatHistogram
		)
		valueType := it.Seek(maxt)
		switch valueType {
		case chunkenc.ValFloat:
			t, f = it.At()
		case chunkenc.ValFloatHistogram, chunkenc.ValHistogram:
			t, fh = it.AtFloatHistogram(nil)
		default:
			sample, ok := it.PeekBack(1)
			if !ok {
				continue Loop
			}
			t = sample.T()
			switch sample.Type() {
			case chunkenc.ValFloat:
				f = sample.F()
			case chunkenc.ValHistogram:
				// ToFloat(nil) returns an independent copy of the buffered histogram.
				fh = sample.H().ToFloat(nil)
			case chunkenc.ValFloatHistogram:
				// The buffer is reset and reused for every series, so retain a copy.
				fh = sample.FH().Copy()
			default:
				continue Loop
			}
		}
		// The exposition formats do not support stale markers, so drop them. This
		// is good enough for staleness handling of federated data, as the
		// interval-based limits on staleness will do the right thing for supported
		// use cases (which is to say federating aggregated time series).
		if value.IsStaleNaN(f) || (fh != nil && value.IsStaleNaN(fh.Sum)) {
			continue
		}

		vec = append(vec, promql.Sample{
			Metric: s.Labels(),
			T:      t,
			F:      f,
			H:      fh,
		})
	}
	if ws := set.Warnings(); len(ws) > 0 {
		h.logger.Debug("Federation select returned warnings", "warnings", ws)
		h.warnings.Add(float64(len(ws)))
	}
	if set.Err() != nil {
		h.errors.Inc()
		http.Error(w, set.Err().Error(), http.StatusInternalServerError)
		return
	}

	slices.SortFunc(vec, func(a, b promql.Sample) int {
		ni := a.Metric.Get(labels.MetricName)
		nj := b.Metric.Get(labels.MetricName)
		return strings.Compare(ni, nj)
	})

	externalLabels := cfg.GlobalConfig.ExternalLabels.Map()
	if _, ok := externalLabels[model.InstanceLabel]; !ok {
		externalLabels[model.InstanceLabel] = ""
	}
	externalLabelNames := make([]string, 0, len(externalLabels))
	for ln := range externalLabels {
		externalLabelNames = append(externalLabelNames, ln)
	}
	sort.Strings(externalLabelNames)

	var (
		lastMetricName                          string
		lastWasHistogram, lastHistogramWasGauge bool
		protMetricFam                           *dto.MetricFamily
	)
	for _, s := range vec {
		isHistogram := s.H != nil
		formatType := format.FormatType()
		if isHistogram &&
			!s.H.UsesCustomBuckets() &&
			formatType != expfmt.TypeProtoDelim &&
			formatType != expfmt.TypeProtoText &&
			formatType != expfmt.TypeProtoCompact {
			// Can't serve a native histogram with a non-protobuf format.
			// (We can serve an NHCB, though, as it is converted to a
			// classic histogram for federation.)
			// TODO(codesome): Serve them when other protocols get the native histogram support.
			continue
		}

		nameSeen := false
		globalUsed := map[string]struct{}{}
		protMetric := &dto.Metric{}

		err := s.Metric.Validate(func(l labels.Label) error {
			if l.Value == "" {
				// No value means unset. Never consider those labels.
				// This is also important to protect against nameless metrics.
				return nil
			}
			if l.Name == labels.MetricName {
				nameSeen = true
				// We already have the name in the current MetricDescriptor,
				// and we ignore nameless metrics.
				if l.Value == lastMetricName &&
					// The sample type matches (float vs histogram).
					lastWasHistogram == isHistogram &&
					// If it was a histogram, the histogram type
					// (counter vs gauge) also matches.
					(!isHistogram ||
						lastHistogramWasGauge == (s.H.CounterResetHint == histogram.GaugeType)) {
					return nil
				}

				// Since we now check for the sample type and
				// type of histogram above, we will end up
				// creating multiple metric families for the
				// same metric name. This would technically be
				// an invalid exposition. But since the consumer
				// of this is Prometheus, and Prometheus can
				// parse it fine, we allow it and bend the rules
				// to make federation possible in those cases.

				// Need to start a new MetricDescriptor. Ship
				// off the old one (if any) before creating the
				// new one.
				if protMetricFam != nil {
					if err := enc.Encode(protMetricFam); err != nil {
						return err
					}
				}
				protMetricFam = &dto.MetricFamily{
					Type: dto.MetricType_UNTYPED.Enum(),
					Name: proto.String(l.Value),
				}
				if isHistogram {
					if s.H.CounterResetHint == histogram.GaugeType {
						protMetricFam.Type = dto.MetricType_GAUGE_HISTOGRAM.Enum()
					} else {
						protMetricFam.Type = dto.MetricType_HISTOGRAM.Enum()
					}
				}
				lastMetricName = l.Value
				return nil
			}
			protMetric.Label = append(protMetric.Label, &dto.LabelPair{
				Name:  proto.String(l.Name),
				Value: proto.String(l.Value),
			})
			if _, ok := externalLabels[l.Name]; ok {
				globalUsed[l.Name] = struct{}{}
			}
			return nil
		})
		if err != nil {
			h.errors.Inc()
			h.logger.Error("federation failed", "err", err)
			return
		}
		if !nameSeen {
			h.logger.Warn("Ignoring nameless metric during federation", "metric", s.Metric)
			continue
		}
		// Attach global labels if they do not exist yet.
		for _, ln := range externalLabelNames {
			lv := externalLabels[ln]
			if _, ok := globalUsed[ln]; !ok {
				protMetric.Label = append(protMetric.Label, &dto.LabelPair{
					Name:  proto.String(ln),
					Value: proto.String(lv),
				})
			}
		}

		protMetric.TimestampMs = proto.Int64(s.T)
		if !isHistogram {
			lastHistogramWasGauge = false
			protMetric.Untyped = &dto.Untyped{
				Value: proto.Float64(s.F),
			}
		} else {
			lastHistogramWasGauge = s.H.CounterResetHint == histogram.GaugeType
			if s.H.UsesCustomBuckets() {
				protMetric.Histogram = makeClassicHistogram(s.H)
			} else {
				protMetric.Histogram = makeNativeHistogram(s.H)
			}
		}
		lastWasHistogram = isHistogram
		protMetricFam.Metric = append(protMetricFam.Metric, protMetric)
	}
	// Still have to ship off the last MetricDescriptor, if any.
	if protMetricFam != nil {
		if err := enc.Encode(protMetricFam); err != nil {
			h.errors.Inc()
			h.logger.Error("federation failed", "err", err)
		}
	}
}

// makeNativeHistogram creates a dto.Histogram representing a native histogram.
// Use only for standard exponential schemas.
func makeNativeHistogram(h *histogram.FloatHistogram) *dto.Histogram {
	result := &dto.Histogram{
		SampleCountFloat: proto.Float64(h.Count),
		SampleSum:        proto.Float64(h.Sum),
		Schema:           proto.Int32(h.Schema),
		ZeroThreshold:    proto.Float64(h.ZeroThreshold),
		ZeroCountFloat:   proto.Float64(h.ZeroCount),
		NegativeCount:    h.NegativeBuckets,
		PositiveCount:    h.PositiveBuckets,
	}
	if len(h.PositiveSpans) > 0 {
		result.PositiveSpan = make([]*dto.BucketSpan, len(h.PositiveSpans))
		for i, sp := range h.PositiveSpans {
			result.PositiveSpan[i] = &dto.BucketSpan{
				Offset: proto.Int32(sp.Offset),
				Length: proto.Uint32(sp.Length),
			}
		}
	}
	if len(h.NegativeSpans) > 0 {
		result.NegativeSpan = make([]*dto.BucketSpan, len(h.NegativeSpans))
		for i, sp := range h.NegativeSpans {
			result.NegativeSpan[i] = &dto.BucketSpan{
				Offset: proto.Int32(sp.Offset),
				Length: proto.Uint32(sp.Length),
			}
		}
	}
	return result
}

// makeClassicHistogram creates a dto.Histogram representing a classic
// histogram. Use only for NHCB (schema -53).
func makeClassicHistogram(h *histogram.FloatHistogram) *dto.Histogram {
	result := &dto.Histogram{
		SampleCountFloat: proto.Float64(h.Count),
		SampleSum:        proto.Float64(h.Sum),
	}
	result.Bucket = make([]*dto.Bucket, len(h.CustomValues))
	var (
		cumulativeCount float64
		bucketIter      = h.PositiveBucketIterator()
		bucketAvailable = bucketIter.Next()
	)
	for i, le := range h.CustomValues {
		for bucketAvailable && int(bucketIter.At().Index) < i {
			bucketAvailable = bucketIter.Next()
		}
		if bucketAvailable && int(bucketIter.At().Index) == i {
			cumulativeCount += bucketIter.At().Count
		}
		result.Bucket[i] = &dto.Bucket{
			UpperBound:           proto.Float64(le),
			CumulativeCountFloat: proto.Float64(cumulativeCount),
		}
	}
	// Note that we do not add the +Inf bucket explicitly. In the protobuf
	// exposition format, it is optional. For other exposition formats, the
	// code converting the protobuf created here into the actual exposition
	// payload will add the +Inf bucket.
	return result
}
