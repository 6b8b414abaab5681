// Command miniprom is a small Prometheus-compatible server: it reads
// Prometheus's prometheus.yml and exporter-toolkit's web config, takes
// Prometheus's flags, scrapes into an in-memory TSDB and serves the
// Prometheus HTTP API and an expression browser over TLS.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/alecthomas/units"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/prometheus/config"

	"github.com/miniprom/miniprom/pkg/server"
	"github.com/miniprom/miniprom/pkg/storage"
)

// duration spells d as a flag's default, as Prometheus does ("5m").
func duration(d time.Duration) string { return model.Duration(d).String() }

// days spells d in whole days, as the retention's help does ("15d").
func days(d time.Duration) string { return fmt.Sprintf("%dd", d/(24*time.Hour)) }

func main() {
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		os.Exit(healthcheck(os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run parses flags, starts the server and turns signals into shutdown and
// reload. It returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	// Signals first: a SIGTERM or SIGHUP during start-up (a long WAL replay)
	// must not kill the process with the default action. A SIGHUP then is
	// kept and reloads once serving.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	c := newCommandLine(stdout, stderr)
	a, o, pf, logCfg := c.app, &c.o, c.pf, &c.logCfg

	exited := false
	a.Terminate(func(int) { exited = true })
	if _, err := a.Parse(args); err != nil {
		fmt.Fprintf(stderr, "Error parsing command line arguments: %s\n", err)
		a.Usage(args)
		return 2
	}
	if exited { // --help or --version
		return 0
	}
	if done, err := pf.writeDocumentation(a, stdout); done {
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return 0
	}

	logCfg.Writer = stderr
	logger := promslog.New(logCfg)
	// As in Prometheus, --log.level is the default of the config file's
	// runtime.log_level, which sets the level at every load.
	config.DefaultRuntimeConfig.LogLevel = config.LogLevel(logCfg.Level.String())
	config.DefaultConfig.Runtime = config.DefaultRuntimeConfig
	o.Logger = logger
	o.ReadTimeout = time.Duration(c.readTimeout)
	o.Retention = time.Duration(c.retention)
	o.RemoteFlushDeadline = time.Duration(c.flushDL)
	o.RetentionSize = int64(c.retSize)
	o.QueryCacheSize = int64(c.cacheSize)
	o.NoHeadLabelCache = !c.headLabels
	o.Query.Timeout = time.Duration(c.qTimeout)
	o.Query.LookbackDelta = time.Duration(c.lookback)
	o.QueryLimits = c.queryLimits.QueryLimits()
	o.ReceiverLimits = c.queryLimits.ReceiverLimits()
	o.Flags = statusFlags(a)
	for _, n := range c.own {
		delete(o.Flags, n)
	}
	if err := pf.apply(o, logger); err != nil {
		logger.Error("Invalid command line", "err", err)
		return 1
	}
	o.Tuning.LogLevel = logCfg.Level

	applyMemoryFlags(logger, o, c.mem)
	logger.Info("Starting miniprom", "version", version.Info())
	srv, err := server.New(*o)
	if err != nil {
		logger.Error("Startup failed", "err", err)
		return 1
	}

	if ctx.Err() != nil {
		logger.Info("Terminated while starting, exiting gracefully...")
		if err := srv.Close(); err != nil {
			logger.Error("Shut down with errors", "err", err)
			return 1
		}
		return 0
	}
	go func() {
		for {
			select {
			case <-hup:
				// The outcome is logged by the server.
				_ = srv.Reload(ctx)
			case <-ctx.Done():
				return
			}
		}
	}()

	if err := srv.Run(ctx); err != nil {
		logger.Error("Shut down with errors", "err", err)
		return 1
	}
	logger.Info("See you next time!")
	return 0
}

// commandLine is miniprom's flags, declared on app, and the values they
// parse into.
type commandLine struct {
	app *kingpin.Application
	o   server.Options
	// own are the flags miniprom has and Prometheus has not, recorded
	// where each is declared (ownFlags.flag).
	own         ownFlags
	logCfg      promslog.Config
	pf          *prometheusFlags
	queryLimits *queryLimitFlags
	mem         memoryFlags

	readTimeout, retention, qTimeout, lookback, flushDL model.Duration
	retSize, cacheSize                                  units.Base2Bytes
	headLabels                                          bool
}

// newCommandLine declares every flag, writing help and errors to stdout
// and stderr.
func newCommandLine(stdout, stderr io.Writer) *commandLine {
	// Flags whose defaults the server has take them from
	// server.DefaultOptions, so that each default is written once.
	def := server.DefaultOptions()
	c := &commandLine{o: def}
	o, own := &c.o, &c.own
	o.RemoteWriteReceiverMessages = nil // the flag's values fill it
	a := kingpin.New(filepath.Base(os.Args[0]), "miniprom, a small Prometheus-compatible server with TLS and an in-memory TSDB.").
		UsageWriter(stdout).ErrorWriter(stderr).Terminate(nil)
	a.Version(version.Print("miniprom"))
	a.HelpFlag.Short('h')

	a.Flag("config.file", "Prometheus configuration file path.").
		Default("prometheus.yml").StringVar(&o.ConfigFile)
	a.Flag("web.listen-address", "Address to listen on for UI, API, and telemetry. Can be repeated.").
		Default("0.0.0.0:9090").StringsVar(&o.ListenAddresses)
	a.Flag("web.config.file", "Path to configuration file that can enable TLS or authentication.").
		Default("").StringVar(&o.WebConfigFile)
	a.Flag("web.read-timeout", "Maximum duration before timing out read of the request, and closing idle connections.").
		Default("5m").SetValue(&c.readTimeout)
	a.Flag("web.max-connections", "Maximum number of simultaneous connections across all listeners.").
		Default("512").IntVar(&o.MaxConnections)
	a.Flag("web.external-url", "The URL under which miniprom is externally reachable (for example, if it is served via a reverse proxy). Used for generating relative and absolute links back to miniprom itself. If the URL has a path portion, it will be used to prefix all HTTP endpoints. If omitted, relevant URL components will be derived automatically.").
		PlaceHolder("<URL>").StringVar(&o.ExternalURL)
	a.Flag("web.route-prefix", "Prefix for the internal routes of web endpoints. Defaults to path of --web.external-url.").
		PlaceHolder("<path>").StringVar(&o.RoutePrefix)
	a.Flag("web.enable-lifecycle", "Enable shutdown and reload via HTTP request.").
		Default("false").BoolVar(&o.EnableLifecycle)
	a.Flag("web.enable-admin-api", "Enable API endpoints for admin control actions.").
		Default("false").BoolVar(&o.EnableAdminAPI)
	a.Flag("web.cors.origin", `Regex for CORS origin. It is fully anchored. Example: 'https?://(domain1|domain2)\.com'`).
		Default(".*").StringVar(&o.CORSOrigin)
	a.Flag("web.enable-remote-write-receiver", "Enable API endpoint accepting remote write requests.").
		Default("false").BoolVar(&o.EnableRemoteWriteReceiver)
	a.Flag("web.remote-write-receiver.accepted-protobuf-messages", fmt.Sprintf("List of the remote write protobuf messages to accept when receiving the remote writes. Supported values: %v", server.SupportedRemoteWriteMessages().String())).
		Default(def.RemoteWriteReceiverMessages.Strings()...).SetValue(rwMessagesFlag(&o.RemoteWriteReceiverMessages))
	a.Flag("web.enable-otlp-receiver", "Enable API endpoint accepting OTLP write requests.").
		Default("false").BoolVar(&o.EnableOTLPReceiver)
	a.Flag("storage.remote.flush-deadline", "How long to wait flushing sample on shutdown or config reload.").
		Default(duration(def.RemoteFlushDeadline)).PlaceHolder("<duration>").SetValue(&c.flushDL)
	a.Flag("storage.tsdb.path", "Base path for metrics storage. When set, miniprom keeps its samples in Prometheus's on-disk TSDB (WAL and blocks) there, so a restart keeps them; when not set, samples are kept in memory only.").
		PlaceHolder("<dir>").StringVar(&o.StoragePath)
	a.Flag("storage.tsdb.retention.size", "Maximum number of bytes that can be stored for blocks, in memory (RAM-backed files) or on disk; in memory it defaults to 80% of the RAM-backed directory's free space. A unit is required, supported units: B, KB, MB, GB, TB, PB, EB. Ex: \"512MB\". Based on powers-of-2, so 1KB is 1024B.").
		PlaceHolder("<size>").BytesVar(&c.retSize)
	a.Flag("storage.tsdb.retention.time", fmt.Sprintf("How long to retain samples in memory when the config file does not set storage.tsdb.retention.time (which takes precedence, as in Prometheus). Defaults to %s in memory, %s with --storage.tsdb.path. Units Supported: y, w, d, h, m, s, ms.", days(storage.DefaultRetentionFor("")), days(storage.DefaultRetentionFor("dir")))).
		PlaceHolder("<duration>").SetValue(&c.retention)
	a.Flag("query.lookback-delta", "The maximum lookback duration for retrieving metrics during expression evaluations and federation.").
		Default(duration(def.Query.LookbackDelta)).SetValue(&c.lookback)
	a.Flag("query.timeout", "Maximum time a query may take before being aborted.").
		Default(duration(def.Query.Timeout)).SetValue(&c.qTimeout)
	a.Flag("query.max-concurrency", "Maximum number of queries executed concurrently.").
		Default(strconv.Itoa(def.Query.MaxConcurrency)).IntVar(&o.Query.MaxConcurrency)
	a.Flag("query.max-samples", "Maximum number of samples a single query can load into memory. Note that queries will fail if they try to load more samples than this into memory, so this also limits the number of samples a query can return.").
		Default(strconv.Itoa(def.Query.MaxSamples)).IntVar(&o.Query.MaxSamples)
	own.flag(a, "query.cache-size", "Memory for cached range query results, reused when a dashboard asks again with its window slid forward (miniprom only). 0 turns the cache off. Units: B, KB, MB, GB, based on powers of 2.").
		Default(units.Base2Bytes(def.QueryCacheSize).String()).BytesVar(&c.cacheSize)
	own.flag(a, "storage.label-cache.head", "Keep the head's label names and values answers while no series came or went (miniprom only); --no-storage.label-cache.head has the head answer every request, as Prometheus does. Persisted blocks' answers are cached either way.").
		Default(strconv.FormatBool(!def.NoHeadLabelCache)).BoolVar(&c.headLabels)
	c.pf = addPrometheusFlags(a, def.Tuning)
	c.queryLimits = addQueryLimitFlags(a, own, def.QueryLimits, def.ReceiverLimits)
	addMemoryFlags(a, own, o, &c.mem)
	promslogflag.AddFlags(a, &c.logCfg)
	c.app = a
	return c
}
