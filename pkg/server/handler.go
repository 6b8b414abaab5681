package server

import (
	"context"
	"net/http"

	"github.com/grafana/regexp"

	"github.com/miniprom/miniprom/pkg/api"
	"github.com/miniprom/miniprom/pkg/ui"
	"github.com/miniprom/miniprom/pkg/web"
)

// handler builds every HTTP endpoint: the v1 API, federation and the UI
// under the route prefix.
func (s *Server) handler(cors *regexp.Regexp) http.Handler {
	o := s.opts
	build := buildInfo()
	v1 := api.New(api.Options{
		Logger:        s.logger.With("component", "api"),
		QueryEngine:   s.qcache.engine,
		Storage:       s.storage,
		DBDir:         s.storage.Dir(),
		Config:        s.config,
		ScrapeManager: s.scrape,
		RuleManager:   s.rules,
		Notifier:      s.notifier,
		Notifications: s.notices,
		Flags:         o.Flags,
		ListenAddress: o.ListenAddresses[0],
		ExternalURL:   s.externalURL,
		Ready:         s.ready.Wrap,
		RuntimeInfo:   s.runtimeInfo,
		BuildInfo:     buildInfo(),
		EnableAdmin:   o.EnableAdminAPI,

		EnableRemoteWriteReceiver:   o.EnableRemoteWriteReceiver,
		RemoteWriteReceiverMessages: o.RemoteWriteReceiverMessages,
		EnableOTLPReceiver:          o.EnableOTLPReceiver,

		CORSOrigin:     cors,
		LookbackDelta:  o.Query.LookbackDelta,
		QueryTimeout:   o.Query.Timeout,
		QueryLimits:    o.QueryLimits,
		ReceiverLimits: o.ReceiverLimits,
		Gatherer:       s.gatherer(),
		Registerer:     s.reg,

		Features:                   s.features,
		Parser:                     o.Features.parser(),
		RemoteReadSampleLimit:      o.Tuning.RemoteReadSampleLimit,
		RemoteReadConcurrencyLimit: o.Tuning.RemoteReadConcurrencyLimit,
		RemoteReadBytesInFrame:     o.Tuning.RemoteReadBytesInFrame,
		EnableSearch:               o.Features.SearchAPI,
		SearchMaxLimit:             o.Tuning.SearchMaxLimit,
		OTLPDeltaToCumulative:      o.Features.OTLPDeltaToCumulative,
		OTLPNativeDeltaIngestion:   o.Features.OTLPNativeDeltaIngestion,
		TypeAndUnitLabels:          o.Features.TypeAndUnitLabels,
		QueryCost:                  o.Features.QueryCost,
	})
	return web.New(web.Options{
		Logger:          s.logger.With("component", "web"),
		ExternalURL:     s.externalURL,
		RoutePrefix:     o.RoutePrefix,
		API:             v1,
		Federate:        web.NewFederation(s.logger.With("component", "federation"), s.storage, s.config, o.Query.LookbackDelta, s.reg).WithParser(o.Features.parser()),
		UI:              ui.Handler(o.Tuning.PageTitle),
		Ready:           s.ready,
		EnableLifecycle: o.EnableLifecycle,
		Reload:          func(ctx context.Context) error { return s.Reload(ctx) },
		Quit:            s.Quit,
		Version:         build,
		UserAssets:      o.Tuning.UserAssetsPath,
		Gatherer:        s.gatherer(),
		Registerer:      s.reg,
	})
}
