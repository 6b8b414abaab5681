package api

import (
	"bytes"
	"fmt"
	"io"
	"net/http"

	"github.com/prometheus/prometheus/storage/remote"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// checkOTLP decodes an OTLP request ahead of upstream's handler and answers
// 400 for what upstream would answer 500 (a metric without a name) or store
// regardless of the receiver limits (attributes become labels). A valid
// request goes on with its body as it came; one that does not decode is left
// to upstream, which answers 400 in its own words.
func (l ReceiverLimits) checkOTLP(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		probe := r.Clone(r.Context())
		probe.Body = io.NopCloser(bytes.NewReader(body))
		if req, err := remote.DecodeOTLPWriteRequest(probe); err == nil {
			if err := l.checkMetrics(req.Metrics()); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next(w, r)
	}
}

func (l ReceiverLimits) checkMetrics(md pmetric.Metrics) error {
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		rm := rms.At(i)
		if err := l.checkAttributes(rm.Resource().Attributes()); err != nil {
			return fmt.Errorf("resource %d: %w", i, err)
		}
		sms := rm.ScopeMetrics()
		for j := range sms.Len() {
			ms := sms.At(j).Metrics()
			for k := range ms.Len() {
				m := ms.At(k)
				where := fmt.Sprintf("resource %d, scope %d, metric %d %q", i, j, k, short(m.Name()))
				if m.Name() == "" {
					return fmt.Errorf("resource %d, scope %d, metric %d: no metric name", i, j, k)
				}
				for n, attrs := range dataPointAttributes(m) {
					if err := l.checkAttributes(attrs); err != nil {
						return fmt.Errorf("%s, data point %d: %w", where, n, err)
					}
				}
			}
		}
	}
	return nil
}

// dataPointAttributes yields each data point's attributes, whatever the
// metric's type.
func dataPointAttributes(m pmetric.Metric) func(func(int, pcommon.Map) bool) {
	return func(yield func(int, pcommon.Map) bool) {
		var n int
		var at func(int) pcommon.Map
		switch m.Type() {
		case pmetric.MetricTypeGauge:
			dp := m.Gauge().DataPoints()
			n, at = dp.Len(), func(i int) pcommon.Map { return dp.At(i).Attributes() }
		case pmetric.MetricTypeSum:
			dp := m.Sum().DataPoints()
			n, at = dp.Len(), func(i int) pcommon.Map { return dp.At(i).Attributes() }
		case pmetric.MetricTypeHistogram:
			dp := m.Histogram().DataPoints()
			n, at = dp.Len(), func(i int) pcommon.Map { return dp.At(i).Attributes() }
		case pmetric.MetricTypeExponentialHistogram:
			dp := m.ExponentialHistogram().DataPoints()
			n, at = dp.Len(), func(i int) pcommon.Map { return dp.At(i).Attributes() }
		case pmetric.MetricTypeSummary:
			dp := m.Summary().DataPoints()
			n, at = dp.Len(), func(i int) pcommon.Map { return dp.At(i).Attributes() }
		}
		for i := range n {
			if !yield(i, at(i)) {
				return
			}
		}
	}
}

// checkAttributes applies the label limits to attributes, which become labels.
func (l ReceiverLimits) checkAttributes(attrs pcommon.Map) error {
	if l.MaxLabelsPerSeries > 0 && attrs.Len() > l.MaxLabelsPerSeries {
		return fmt.Errorf("%d attributes, more than the %d labels allowed (--web.remote-write-receiver.max-labels-per-series)", attrs.Len(), l.MaxLabelsPerSeries)
	}
	var err error
	attrs.Range(func(k string, v pcommon.Value) bool {
		switch {
		case l.MaxLabelNameLength > 0 && len(k) > l.MaxLabelNameLength:
			err = fmt.Errorf("attribute name of %d bytes, more than the %d allowed (--web.remote-write-receiver.max-label-name-length)", len(k), l.MaxLabelNameLength)
		case l.MaxLabelValueLength > 0 && len(v.AsString()) > l.MaxLabelValueLength:
			err = fmt.Errorf("attribute %q has a value of %d bytes, more than the %d allowed (--web.remote-write-receiver.max-label-value-length)", short(k), len(v.AsString()), l.MaxLabelValueLength)
		}
		return err == nil
	})
	return err
}
