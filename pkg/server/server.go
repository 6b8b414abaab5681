// Package server assembles miniprom: it loads prometheus.yml with upstream
// config.LoadFile, opens the in-memory storage, and runs the upstream
// discovery, scrape, rule and notifier managers behind the HTTP layer. It is
// the embeddable core: cmd/miniprom and the tests both start it with New and
// Run.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"
	"github.com/prometheus/prometheus/notifier"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/scrape"
	"github.com/prometheus/prometheus/util/features"
	"github.com/prometheus/prometheus/util/logging"
	"github.com/prometheus/prometheus/util/notifications"

	// Service discoveries miniprom offers besides static_configs.
	_ "github.com/prometheus/prometheus/discovery/file"
	_ "github.com/prometheus/prometheus/discovery/http"

	"github.com/miniprom/miniprom/pkg/storage"
	"github.com/miniprom/miniprom/pkg/web"
)

// Server is a running miniprom.
type Server struct {
	opts        Options
	logger      *slog.Logger
	reg         *prometheus.Registry
	externalURL *url.URL

	storage  *storage.Storage
	engine   *promql.Engine
	qcache   *queryCache // wraps engine and storage for the API (querycache.go)
	scrape   *scrape.Manager
	rules    *rules.Manager
	notifier *notifier.Manager
	// Discovery managers run on their own context, cancelled at shutdown.
	discoveryCtx    context.Context
	stopDiscovery   context.CancelFunc
	scrapeDiscovery *discovery.Manager
	notifyDiscovery *discovery.Manager

	http    *web.Server
	ready   *web.Readiness
	notices *notifications.Notifications
	metrics *reloadMetrics
	// features is the registry behind /api/v1/features.
	features features.Collector
	// configSum is the checksum of the config last loaded, for --config.auto-reload.
	sumMu     sync.Mutex
	configSum string

	mu  sync.RWMutex
	cfg *config.Config

	reloadCh chan chan error
	readyCh  chan struct{}
	quit     chan struct{}
	quitOnce sync.Once
	birth    time.Time
}

// New loads the configuration, opens storage and binds the listeners. It
// serves nothing until Run. An invalid config or web config is an error
// naming the file.
func New(o Options) (s *Server, err error) {
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("server options: %w", err)
	}
	logger := o.Logger
	cfg, err := loadConfig(o.ConfigFile, o, logger)
	if err != nil {
		return nil, err
	}
	o.Features.adjustConfig(cfg)
	// Before storage is opened: a bad web config must not cost a WAL replay.
	if err := web.ValidateWebConfig(o.WebConfigFile); err != nil {
		return nil, err
	}
	externalURL, err := ExternalURL(o.ExternalURL, o.ListenAddresses[0], o.WebConfigFile)
	if err != nil {
		return nil, fmt.Errorf("parse external URL %q: %w", o.ExternalURL, err)
	}
	o.RoutePrefix = RoutePrefix(o.RoutePrefix, externalURL)
	cors, err := compileCORS(o.CORSOrigin)
	if err != nil {
		return nil, err
	}

	reg := newSelfRegistry()
	s = &Server{
		opts:        o,
		logger:      logger,
		reg:         reg,
		externalURL: externalURL,
		ready:       web.NewReadiness(reg),
		notices:     notifications.NewNotifications(o.Tuning.MaxNotificationsSubscribers, reg),
		metrics:     newReloadMetrics(reg),
		cfg:         cfg,
		reloadCh:    make(chan chan error),
		readyCh:     make(chan struct{}),
		quit:        make(chan struct{}),
		birth:       time.Now(),
		features:    features.NewRegistry(),
	}
	s.registerFeatures(s.features)
	// The named result is nil on the error returns below: close what was
	// made through its own pointer.
	made := s
	defer func() {
		if err != nil {
			made.close()
		}
	}()

	retention := cfg.StorageConfig.TSDBConfig.Retention
	s.storage, err = storage.Open(logger, reg, storage.Options{
		Retention:     time.Duration(retention.Time),
		RetentionSize: int64(retention.Size),
		MemoryDir:     o.MemoryDir,
		MaxSeries:     o.MaxSeries,
		MaxExemplars:  maxExemplars(cfg),

		RemoteFlushDeadline: o.RemoteFlushDeadline,
		Path:                o.StoragePath,
		StartTimestamps:     o.Features.STStorage,
		BlockReloadInterval: o.Tuning.BlockReloadInterval,
	})
	if err != nil {
		return nil, err
	}
	s.engine, err = s.newEngine(s.features)
	if err != nil {
		return nil, fmt.Errorf("create query engine: %w", err)
	}
	s.qcache = newQueryCache(logger, reg, s.storage, s.engine, o, s.config)
	if err := s.startManagers(cfg); err != nil {
		return nil, err
	}
	if err := s.apply(cfg); err != nil {
		return nil, fmt.Errorf("apply config %q: %w", o.ConfigFile, err)
	}
	s.metrics.success(true)
	s.noteConfigLoaded()

	s.http, err = web.Listen(s.handler(cors), web.ServerOptions{
		Logger:          logger.With("component", "web"),
		ListenAddresses: o.ListenAddresses,
		WebConfigFile:   o.WebConfigFile,
		ReadTimeout:     o.ReadTimeout,
		MaxConnections:  o.MaxConnections,
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// startManagers creates the discovery, scrape, notifier and rule managers.
func (s *Server) startManagers(cfg *config.Config) error {
	logger, reg := s.logger, s.reg
	sdMetrics, err := registerDiscoveryMetrics(reg)
	if err != nil {
		return fmt.Errorf("register discovery metrics: %w", err)
	}
	s.discoveryCtx, s.stopDiscovery = context.WithCancel(context.Background())
	s.scrapeDiscovery = discovery.NewManager(s.discoveryCtx, logger.With("component", "discovery manager scrape"), reg, sdMetrics, discovery.Name("scrape"), discovery.FeatureRegistry(s.features))
	s.notifyDiscovery = discovery.NewManager(s.discoveryCtx, logger.With("component", "discovery manager notify"), reg, sdMetrics, discovery.Name("notify"), discovery.FeatureRegistry(s.features))
	if s.scrapeDiscovery == nil || s.notifyDiscovery == nil {
		return errors.New("create discovery managers")
	}

	t, f := s.opts.Tuning, s.opts.Features
	s.scrape, err = scrape.NewManager(&scrape.Options{
		// Scrape new targets at once instead of after the first 5s
		// discovery tick: a fresh server is useful immediately.
		DiscoveryReloadOnStartup: true,
		DiscoveryReloadInterval:  model.Duration(t.DiscoveryReloadInterval),
		EnableTypeAndUnitLabels:  f.TypeAndUnitLabels,
		EnableOpenMetrics2:       f.OpenMetrics2,
		EnableZstdScrape:         f.ZstdScrape,
		SynthesizeST:             f.SynthesizeST,
		ParseST:                  f.STStorage,
		FeatureRegistry:          s.features,
		// The target in the appender's context lets a scrape report the
		// series --storage.max-series refused (serieslimit.go).
		PassMetadataInContext: true,
	}, logger.With("component", "scrape manager"), logging.NewJSONFileLogger, nil, scrapeAppendable{s.qcache.appendable()}, reg)
	if err != nil {
		return fmt.Errorf("create scrape manager: %w", err)
	}

	s.notifier = notifier.NewManager(&notifier.Options{
		QueueCapacity:   t.NotificationQueueCapacity,
		DrainOnShutdown: !t.KeepNotificationsOnShutdown,
		MaxBatchSize:    t.NotificationBatchSize,
		Registerer:      reg,
	}, cfg.GlobalConfig.MetricNameValidationScheme, logger.With("component", "notifier"))

	s.rules = rules.NewManager(&rules.ManagerOptions{
		NameValidationScheme:   cfg.GlobalConfig.MetricNameValidationScheme,
		AppendableV2:           s.qcache.appendable(),
		Queryable:              s.storage,
		QueryFunc:              rules.EngineQueryFunc(s.engine, s.storage),
		NotifyFunc:             rules.SendAlerts(s.notifier, s.externalURL.String()),
		Context:                context.Background(),
		ExternalURL:            s.externalURL,
		Registerer:             reg,
		Logger:                 logger.With("component", "rule manager"),
		OutageTolerance:        t.OutageTolerance,
		ForGracePeriod:         t.ForGracePeriod,
		ResendDelay:            t.ResendDelay,
		MaxConcurrentEvals:     t.MaxConcurrentEvals,
		ConcurrentEvalsEnabled: f.ConcurrentRuleEval,
		FeatureRegistry:        s.features,
		Parser:                 f.parser(),
		DefaultRuleQueryOffset: func() time.Duration {
			return time.Duration(s.config().GlobalConfig.RuleQueryOffset)
		},
	})
	return nil
}

// Addr is the first listener's address, with the real port for ":0".
func (s *Server) Addr() net.Addr { return s.http.Addrs()[0] }

// ExternalURL is the URL the server computed for itself.
func (s *Server) ExternalURL() *url.URL { return s.externalURL }

// Registry holds the server's self-metrics.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

func (s *Server) config() config.Config {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return *s.cfg
}

// Run starts scraping, rule evaluation and serving, and blocks until ctx is
// done, /-/quit is called or the HTTP server fails. It then shuts down in
// order and returns.
func (s *Server) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	goRun := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	goRun(func() { s.scrapeDiscovery.Run() })
	goRun(func() { s.notifyDiscovery.Run() })
	goRun(func() { s.scrape.Run(s.scrapeDiscovery.SyncCh()) })
	goRun(func() { s.notifier.Run(s.notifyDiscovery.SyncCh()) })
	goRun(s.rules.Run)
	// Not in wg: it only asks this loop for reloads, and stops when Run returns.
	autoReloadCtx, stopAutoReload := context.WithCancel(ctx)
	defer stopAutoReload()
	go s.autoReload(autoReloadCtx)
	serveErr := make(chan error, 1)
	go func() { serveErr <- s.http.Serve() }()

	s.ready.SetReady()
	close(s.readyCh)
	s.logger.Info("Server is ready to receive web requests.", "url", s.externalURL.String(), "addresses", fmt.Sprint(s.http.Addrs()))

	var err error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-s.quit:
			s.logger.Warn("Received termination request via web service, exiting gracefully...")
			break loop
		case err = <-serveErr:
			err = fmt.Errorf("serve HTTP: %w", err)
			break loop
		case reply := <-s.reloadCh:
			reply <- s.reload()
		}
	}
	return errors.Join(err, s.shutdown(&wg))
}

// shutdown stops in a fixed order: no new scrapes or rule evaluations, then
// drain HTTP with a deadline, then close the engine and storage.
func (s *Server) shutdown(wg *sync.WaitGroup) error {
	s.ready.SetStopping()
	s.rules.Stop()
	s.scrape.Stop()
	s.stopDiscovery()
	s.notifier.Stop()
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	err := s.http.Shutdown(ctx)
	return errors.Join(err, s.close())
}

// close releases the engine and storage; it also cleans up after a failed New.
func (s *Server) close() error {
	if s.stopDiscovery != nil {
		s.stopDiscovery()
	}
	var errs []error
	if s.engine != nil {
		errs = append(errs, s.engine.Close())
	}
	if s.storage != nil {
		errs = append(errs, s.storage.Close())
	}
	return errors.Join(errs...)
}

// Reload applies the config file again, through the same goroutine that
// serves SIGHUP, and reports the outcome. A failed reload keeps the running
// configuration.
func (s *Server) Reload(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case s.reloadCh <- reply:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Ready is closed once Run serves requests.
func (s *Server) Ready() <-chan struct{} { return s.readyCh }

// Quit asks Run to shut down.
func (s *Server) Quit() { s.quitOnce.Do(func() { close(s.quit) }) }
