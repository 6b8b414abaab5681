// Package api serves Prometheus's HTTP API (/api/v1) with the upstream
// implementation from github.com/prometheus/prometheus/web/api/v1.
//
// The upstream constructor takes some forty positional arguments and changes
// with most releases; this package keeps that call in one place and gives the
// rest of miniprom a small, named Options struct instead.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/grafana/regexp"
	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/route"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/notifier"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/scrape"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/features"
	"github.com/prometheus/prometheus/util/notifications"
	v1 "github.com/prometheus/prometheus/web/api/v1"

	"github.com/miniprom/miniprom/pkg/querycache"
)

// Storage is what the API reads from (and, with a receiver on, writes to).
type Storage interface {
	storage.Storage
	storage.AppendableV2
	storage.ExemplarQueryable
	v1.TSDBAdminStats
}

// Options configure the API. All fields but the flags and toggles are required.
type Options struct {
	Logger      *slog.Logger
	QueryEngine promql.QueryEngine
	Storage     Storage
	// DBDir is where admin snapshots are made, under snapshots/.
	DBDir string

	// Config returns the current configuration; secrets are redacted when the
	// API renders it.
	Config        func() config.Config
	ScrapeManager *scrape.Manager
	RuleManager   *rules.Manager
	Notifier      *notifier.Manager
	// Notifications are the server's notices to the UI (config reload failures).
	Notifications *notifications.Notifications

	Flags         map[string]string
	ListenAddress string
	ExternalURL   *url.URL
	// Ready wraps handlers that must answer 503 until the server is ready.
	Ready       func(http.HandlerFunc) http.HandlerFunc
	RuntimeInfo func() (v1.RuntimeInfo, error)
	BuildInfo   *v1.PrometheusVersion

	EnableAdmin               bool
	EnableRemoteWriteReceiver bool
	// RemoteWriteReceiverMessages are the remote write protobuf messages the
	// receiver accepts.
	RemoteWriteReceiverMessages remoteapi.MessageTypes
	EnableOTLPReceiver          bool
	CORSOrigin                  *regexp.Regexp
	LookbackDelta               time.Duration
	QueryTimeout                time.Duration
	// QueryLimits bound each query's size, steps and result; the zero value
	// turns them all off.
	QueryLimits QueryLimits
	// ReceiverLimits bound the series the remote write receiver takes; the
	// zero value turns them off (invalid series are refused regardless).
	ReceiverLimits ReceiverLimits

	Gatherer   prometheus.Gatherer
	Registerer prometheus.Registerer

	// Features is the registry served at /api/v1/features.
	Features features.Collector
	// Parser parses queries, with the --enable-feature PromQL options.
	Parser parser.Parser
	// Remote read limits (--storage.remote.read-*); 0 means no limit.
	RemoteReadSampleLimit      int
	RemoteReadConcurrencyLimit int
	RemoteReadBytesInFrame     int
	// EnableSearch is --enable-feature=search-api, capped by SearchMaxLimit
	// (--web.search.max-limit; 0 means no cap).
	EnableSearch   bool
	SearchMaxLimit int
	// Feature toggles from --enable-feature.
	OTLPDeltaToCumulative    bool
	OTLPNativeDeltaIngestion bool
	TypeAndUnitLabels        bool
	QueryCost                bool
}

// API is the v1 API.
type API struct {
	v1       *v1.API
	receiver *ReceiverLimits // nil with the receiver off: upstream answers 404
	otlp     *ReceiverLimits // the same for the OTLP receiver
}

// New builds the API.
func New(o Options) *API {
	var appV2 storage.AppendableV2
	if o.EnableRemoteWriteReceiver || o.EnableOTLPReceiver {
		appV2 = o.Storage
	}
	scrapePools := func(context.Context) v1.ScrapePoolsRetriever { return o.ScrapeManager }
	targets := func(context.Context) v1.TargetRetriever { return o.ScrapeManager }
	alertmanagers := func(context.Context) v1.AlertmanagerRetriever { return o.Notifier }
	rulesRetriever := func(context.Context) v1.RulesRetriever { return o.RuleManager }
	version := ""
	if o.BuildInfo != nil {
		version = o.BuildInfo.Version
	}

	p := boundedParser{Parser: o.Parser, limits: o.QueryLimits}
	a := v1.NewAPI(
		LimitEngine(o.QueryEngine, p.Parser, o.QueryLimits),
		o.Storage,
		appV2,
		o.Storage,
		scrapePools,
		targets,
		alertmanagers,
		o.Config,
		o.Flags,
		v1.GlobalURLOptions{
			ListenAddress: o.ListenAddress,
			Host:          o.ExternalURL.Host,
			Scheme:        o.ExternalURL.Scheme,
		},
		o.Ready,
		blockMetas{o.Storage},
		o.DBDir,
		o.EnableAdmin,
		o.EnableSearch,
		o.SearchMaxLimit,
		o.Logger,
		rulesRetriever,
		o.RemoteReadSampleLimit,
		o.RemoteReadConcurrencyLimit,
		o.RemoteReadBytesInFrame,
		false, // isAgent
		o.CORSOrigin,
		o.RuntimeInfo,
		o.BuildInfo,
		o.Notifications.Get,
		o.Notifications.Sub,
		o.Gatherer,
		o.Registerer,
		nil, // default stats renderer
		o.EnableRemoteWriteReceiver,
		o.RemoteWriteReceiverMessages,
		o.EnableOTLPReceiver,
		o.OTLPDeltaToCumulative, o.OTLPNativeDeltaIngestion,
		o.LookbackDelta,
		o.TypeAndUnitLabels,
		false, // append metadata
		nil,   // override error code
		o.Features,
		v1.OpenAPIOptions{ExternalURL: o.ExternalURL.String(), Version: version},
		p,
		o.QueryCost,
		o.QueryTimeout,
	)
	api := &API{v1: a}
	if o.EnableRemoteWriteReceiver {
		api.receiver = &o.ReceiverLimits
	}
	if o.EnableOTLPReceiver {
		api.otlp = &o.ReceiverLimits
	}
	return api
}

// Register adds the API's routes to r, which must be mounted at /api/v1
// under the route prefix.
func (a *API) Register(r *route.Router) {
	a.v1.Register(r.WithInstrumentation(func(name string, h http.HandlerFunc) http.HandlerFunc {
		if name == "/write" && a.receiver != nil {
			return a.receiver.checkRemoteWrite(h)
		}
		if name == "/otlp/v1/metrics" && a.otlp != nil {
			return a.otlp.checkOTLP(h)
		}
		if name == "/query_range" {
			return statsRequested(h)
		}
		return h
	}))
}

// statsRequested tells the results cache which range queries answer with
// statistics (stats=); the cache decides what that means for it.
func statsRequested(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("stats") != "" {
			r = r.WithContext(querycache.StatsRequested(r.Context()))
		}
		h(w, r)
	}
}
