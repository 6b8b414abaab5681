package web

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are Prometheus's HTTP self-metrics, with its names and buckets.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	size     *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prometheus_http_requests_total",
			Help: "Counter of HTTP requests.",
		}, []string{"handler", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                            "prometheus_http_request_duration_seconds",
			Help:                            "Histogram of latencies for HTTP requests.",
			Buckets:                         []float64{.1, .2, .4, 1, 3, 8, 20, 60, 120},
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  100,
			NativeHistogramMinResetDuration: time.Hour,
		}, []string{"handler"}),
		size: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "prometheus_http_response_size_bytes",
			Help:    "Histogram of response size for HTTP requests.",
			Buckets: prometheus.ExponentialBuckets(100, 10, 8),
		}, []string{"handler"}),
	}
	reg.MustRegister(m.requests, m.duration, m.size)
	return m
}

func (m *metrics) instrument(handler string, h http.HandlerFunc) http.HandlerFunc {
	m.requests.WithLabelValues(handler, "200")
	return promhttp.InstrumentHandlerCounter(
		m.requests.MustCurryWith(prometheus.Labels{"handler": handler}),
		promhttp.InstrumentHandlerDuration(
			m.duration.MustCurryWith(prometheus.Labels{"handler": handler}),
			promhttp.InstrumentHandlerResponseSize(
				m.size.MustCurryWith(prometheus.Labels{"handler": handler}), h),
		),
	)
}

func (m *metrics) instrumentWithPrefix(prefix string) func(string, http.HandlerFunc) http.HandlerFunc {
	return func(handler string, h http.HandlerFunc) http.HandlerFunc {
		return m.instrument(prefix+handler, h)
	}
}
