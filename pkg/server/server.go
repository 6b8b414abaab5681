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
	"sync/atomic"
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

	"github.com/miniprom/miniprom/pkg/querycache"
	"github.com/miniprom/miniprom/pkg/storage"
	"github.com/miniprom/miniprom/pkg/web"
)

// Server is a running miniprom.
type Server struct {
	opts        Options
	logger      *slog.Logger
	reg         *prometheus.Registry
	externalURL *url.URL

	storage  trackedStorage // every write reaches the query cache's tracker (querycache.go)
	engine   *promql.Engine
	qcache   *queryCache // wraps engine for the API (querycache.go)
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
	tracer   *tracer
	// configSum is the checksum of the config last loaded, for --config.auto-reload.
	sumMu     sync.Mutex
	configSum string

	mu  sync.RWMutex
	cfg *config.Config
	// plan is what validating cfg worked out (apply.go).
	plan configPlan

	// stops is the one teardown list (lifecycle.go); running counts the
	// managers' goroutines, started marks that Run has started them, and
	// stopping is closed when Run stops taking reloads.
	stops    teardown
	running  sync.WaitGroup
	started  atomic.Bool
	stopping chan struct{}
	// requestsRunning is set when handlers outlived the HTTP shutdown: the
	// engine and storage they use then stay open.
	requestsRunning bool

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
		stopping:    make(chan struct{}),
		quit:        make(chan struct{}),
		birth:       time.Now(),
		features:    features.NewRegistry(),
		tracer:      newTracer(logger),
	}
	s.stops.logger = logger
	// First registered, last stopped: spans of everything else get flushed.
	// (s itself is nil on New's error returns; the tracer is not.)
	tr := s.tracer
	s.stops.onStop("tracing", func() error { tr.stop(); return nil })
	s.registerFeatures(s.features)
	// The named result is nil on the error returns below: close what was
	// made through its own pointer.
	made := s
	defer func() {
		if err != nil {
			made.Close()
		}
	}()

	retention := cfg.StorageConfig.TSDBConfig.Retention
	st, err := storage.Open(logger, reg, storage.Options{
		Retention:     time.Duration(retention.Time),
		RetentionSize: int64(retention.Size),
		MemoryDir:     o.MemoryDir,
		MaxSeries:     o.MaxSeries,
		MaxExemplars:  maxExemplars(cfg),

		NoHeadLabelCache:    o.NoHeadLabelCache,
		RemoteFlushDeadline: o.RemoteFlushDeadline,
		Path:                o.StoragePath,
		StartTimestamps:     o.Features.STStorage,
		FloatEncoding:       floatEncoding(o.Features, cfg),
		BlockReloadInterval: o.Tuning.BlockReloadInterval,
		Disk:                o.diskTuning(),
		SnapshotDir:         o.SnapshotDir,
		SnapshotInterval:    o.SnapshotInterval,
	})
	if err != nil {
		return nil, err
	}
	s.storage = trackedStorage{Storage: st, tracker: querycache.NewTracker(0, nil, reg)}
	s.stops.onStop("storage", s.unlessRequestsRunning(s.storage.Close))
	// After scraping, rules and HTTP have stopped, before the storage
	// closes. A server never run holds only what it loaded: nothing to write.
	s.stops.onStop("snapshot", func() error {
		if !s.started.Load() {
			return nil
		}
		return s.storage.FinalSnapshot()
	})
	s.engine, err = s.newEngine(s.features)
	if err != nil {
		return nil, fmt.Errorf("create query engine: %w", err)
	}
	s.stops.onStop("query engine", s.unlessRequestsRunning(s.engine.Close))
	s.qcache = newQueryCache(logger, reg, s.storage, s.engine, s.newSubRangeEngine, o)
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
		Registerer:      reg,

		WebConfigCheckInterval: o.WebConfigCheckInterval,
	})
	if err != nil {
		return nil, err
	}
	s.stops.onStop("web", s.stopHTTP)
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
	// Runs after every manager below is stopped.
	s.stops.onStop("managers' goroutines", func() error { s.running.Wait(); return nil })
	s.stops.onStop("discovery", func() error { s.stopDiscovery(); return nil })
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
	}, logger.With("component", "scrape manager"), logging.NewJSONFileLogger, nil, scrapeAppendable{s.storage}, reg)
	if err != nil {
		return fmt.Errorf("create scrape manager: %w", err)
	}
	s.stops.onStop("scrape manager", s.ifStarted(s.scrape.Stop))

	s.notifier = notifier.NewManager(&notifier.Options{
		QueueCapacity:   t.NotificationQueueCapacity,
		DrainOnShutdown: !t.KeepNotificationsOnShutdown,
		MaxBatchSize:    t.NotificationBatchSize,
		Registerer:      reg,
	}, cfg.GlobalConfig.MetricNameValidationScheme, logger.With("component", "notifier"))
	s.stops.onStop("notifier", s.ifStarted(s.notifier.Stop))

	s.rules = rules.NewManager(&rules.ManagerOptions{
		NameValidationScheme:   cfg.GlobalConfig.MetricNameValidationScheme,
		AppendableV2:           s.storage,
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
	s.stops.onStop("rule manager", s.ifStarted(s.rules.Stop))
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
	s.started.Store(true)
	goRun := func(f func()) {
		s.running.Add(1)
		go func() { defer s.running.Done(); f() }()
	}
	goRun(func() { s.scrapeDiscovery.Run() })
	goRun(func() { s.notifyDiscovery.Run() })
	goRun(func() { s.scrape.Run(s.scrapeDiscovery.SyncCh()) })
	goRun(func() { s.notifier.Run(s.notifyDiscovery.SyncCh()) })
	goRun(s.rules.Run)
	goRun(func() { returnFreeHeap(s.stopping, 30*time.Second, 16<<20) })
	// Not in s.running: it only asks this loop for reloads (refused once
	// stopping is closed), and stops when Run returns.
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
	close(s.stopping)
	s.ready.SetStopping()
	return errors.Join(err, s.Close())
}

// stopHTTP is the web teardown step: it cancels in-flight requests, drains
// connections until the shutdown timeout and waits for handlers.
func (s *Server) stopHTTP() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	err := s.http.Shutdown(ctx)
	if errors.Is(err, web.ErrRequestsRunning) {
		s.requestsRunning = true
	}
	return err
}

// unlessRequestsRunning skips closing what handlers still use: a handler
// reading closed storage crashes the process.
func (s *Server) unlessRequestsRunning(stop func() error) func() error {
	return func() error {
		if s.requestsRunning {
			return errors.New("left open: requests still running")
		}
		return stop()
	}
}

// ifStarted stops a manager only if Run started it: the rule manager's
// groups wait for Run, and stopping them before would never return.
func (s *Server) ifStarted(stop func()) func() error {
	return func() error {
		if s.started.Load() {
			stop()
		}
		return nil
	}
}

// Reload applies the config file again, through the same goroutine that
// serves SIGHUP, and reports the outcome. A failed reload keeps the running
// configuration.
func (s *Server) Reload(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case s.reloadCh <- reply:
	case <-s.stopping:
		return errors.New("not reloading: shutting down")
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
