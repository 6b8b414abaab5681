package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/alecthomas/kingpin/v2"
	"github.com/alecthomas/units"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/scrape"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/util/compression"
	"github.com/prometheus/prometheus/util/documentcli"

	"github.com/miniprom/miniprom/pkg/server"
)

// prometheusFlags are Prometheus 3.16's flags beyond the core set declared
// in main.go, with Prometheus's names, defaults and help. Each either works
// (it fills server.Tuning, server.Features or a process setting) or cannot
// apply to miniprom and is logged once as ignored when given.
type prometheusFlags struct {
	autoReload         bool
	autoReloadInterval model.Duration
	autoGoMaxProcs     bool
	autoGoMemLimit     bool
	memLimitRatio      float64
	memLimitRefresh    model.Duration
	features           []string
	agent              bool
	drainNotifications bool
	writeDocs          bool
	// pageTitle is --web.page-title; only a title given by the user reaches
	// the UI (see server.Tuning.PageTitle).
	pageTitle    string
	pageTitleSet bool

	outageTolerance, forGracePeriod, resendDelay model.Duration
	discoveryReloadInterval                      model.Duration
	blockReloadInterval                          model.Duration
	tuning                                       server.Tuning

	// The --storage.tsdb.* tuning flags whose value is not a field of
	// tuning.TSDB as it stands; apply converts them.
	minBlock, maxBlock          model.Duration
	maxChunkSegment, walSegment units.Base2Bytes
	walCompression              bool
	walCompressionType          string
	allowOverlapping            bool

	ignored []ignoredFlag
	// diskOnly are flags that tune the on-disk TSDB: without
	// --storage.tsdb.path they are logged as ignored when given.
	diskOnly []ignoredFlag
}

// ignoredFlag is a flag accepted for compatibility that has no effect.
type ignoredFlag struct {
	name, reason string
	set          *bool
}

// Reasons a flag is ignored.
const (
	whyAgent   = "miniprom has no agent mode"
	whyConsole = "miniprom serves no console templates"
	whyMemory  = "it tunes the on-disk TSDB (--storage.tsdb.path); in memory miniprom has no WAL or lock file and sizes blocks itself"
)

// ignore declares a flag that is accepted and has no effect.
func (p *prometheusFlags) ignore(a *kingpin.Application, name, help, reason string) *kingpin.FlagClause {
	set := new(bool)
	p.ignored = append(p.ignored, ignoredFlag{name: name, reason: reason, set: set})
	return a.Flag(name, help).IsSetByUser(set)
}

// tsdbFlag declares a flag that tunes the on-disk TSDB.
func (p *prometheusFlags) tsdbFlag(a *kingpin.Application, name, help string) *kingpin.FlagClause {
	set := new(bool)
	p.diskOnly = append(p.diskOnly, ignoredFlag{name: name, reason: whyMemory, set: set})
	return a.Flag(name, help).IsSetByUser(set)
}

// serverOnly adds the suffix Prometheus gives flags that only apply in
// server mode, so the help reads the same.
func serverOnly(help string) string { return help + " Use with server mode only." }
func agentOnly(help string) string  { return help + " Use with agent mode only." }

// addPrometheusFlags declares the flags; those whose defaults the server has
// take them from def.
func addPrometheusFlags(a *kingpin.Application, def server.Tuning) *prometheusFlags {
	// Ignored flags each get their own value, so that
	// /api/v1/status/flags shows what was given.
	p := &prometheusFlags{}
	a.Flag("config.auto-reload", "Enable automatic configuration file reloading. See also --config.auto-reload-interval.").
		Default("false").BoolVar(&p.autoReload)
	a.Flag("config.auto-reload-interval", "Specifies the interval for checking and automatically reloading the Prometheus configuration file upon detecting changes. Only used when --config.auto-reload is set.").
		Default("30s").SetValue(&p.autoReloadInterval)

	a.Flag("auto-gomaxprocs", "Automatically set GOMAXPROCS to match Linux container CPU quota").
		Default("true").BoolVar(&p.autoGoMaxProcs)
	a.Flag("auto-gomemlimit", "Automatically set GOMEMLIMIT to match Linux container or system memory limit").
		Default("true").BoolVar(&p.autoGoMemLimit)
	a.Flag("auto-gomemlimit.ratio", "The ratio of reserved GOMEMLIMIT memory to the detected maximum container or system memory").
		Default("0.9").FloatVar(&p.memLimitRatio)
	a.Flag("auto-gomemlimit.refresh-interval", "Interval at which to re-detect the container or system memory limit and update GOMEMLIMIT accordingly. Useful when the limit can change at runtime, e.g. with a Vertical Pod Autoscaler. Set to 0 to detect the limit only once at startup. Note that a downward change in the limit can cause a temporary increase in garbage collection activity. Only used when --auto-gomemlimit is set.").
		Default("0s").SetValue(&p.memLimitRefresh)

	a.Flag("web.max-notifications-subscribers", "Limits the maximum number of subscribers that can concurrently receive live notifications. If the limit is reached, new subscription requests will be denied until existing connections close.").
		Default(strconv.Itoa(def.MaxNotificationsSubscribers)).IntVar(&p.tuning.MaxNotificationsSubscribers)
	a.Flag("web.user-assets", "Path to static asset directory, available at /user.").
		PlaceHolder("<path>").StringVar(&p.tuning.UserAssetsPath)
	p.ignore(a, "web.console.templates", "Path to the console template directory, available at /consoles.", whyConsole).
		Default("consoles").String()
	p.ignore(a, "web.console.libraries", "Path to the console library directory.", whyConsole).
		Default("console_libraries").String()
	a.Flag("web.page-title", "Document title of Prometheus instance.").
		Default("Prometheus Time Series Collection and Processing Server").IsSetByUser(&p.pageTitleSet).StringVar(&p.pageTitle)

	p.tsdbFlag(a, "storage.tsdb.min-block-duration", serverOnly("Minimum duration of a data block before being persisted. For use in testing.")).
		Hidden().Default("2h").SetValue(&p.minBlock)
	p.tsdbFlag(a, "storage.tsdb.max-block-duration", serverOnly("Maximum duration compacted blocks may span. For use in testing. (Defaults to 10% of the retention period.)")).
		Hidden().PlaceHolder("<duration>").SetValue(&p.maxBlock)
	p.tsdbFlag(a, "storage.tsdb.max-block-chunk-segment-size", serverOnly("The maximum size for a single chunk segment in a block. Example: 512MB")).
		Hidden().PlaceHolder("<bytes>").BytesVar(&p.maxChunkSegment)
	p.tsdbFlag(a, "storage.tsdb.wal-segment-size", serverOnly("Size at which to split the tsdb WAL segment files. Example: 100MB")).
		Hidden().PlaceHolder("<bytes>").BytesVar(&p.walSegment)
	p.tsdbFlag(a, "storage.tsdb.no-lockfile", serverOnly("Do not create lockfile in data directory.")).
		Default("false").BoolVar(&p.tuning.TSDB.NoLockfile)
	p.tsdbFlag(a, "storage.tsdb.allow-overlapping-compaction", serverOnly("Allow compaction of overlapping blocks. If set to false, TSDB stops vertical compaction and leaves overlapping blocks there. The use case is to let another component handle the compaction of overlapping blocks.")).
		Default("true").Hidden().BoolVar(&p.allowOverlapping)
	p.tsdbFlag(a, "storage.tsdb.wal-compression", serverOnly("Compress the tsdb WAL. If false, the --storage.tsdb.wal-compression-type flag is ignored.")).
		Hidden().Default("true").BoolVar(&p.walCompression)
	p.tsdbFlag(a, "storage.tsdb.wal-compression-type", serverOnly("Compression algorithm for the tsdb WAL, used when --storage.tsdb.wal-compression is true.")).
		Hidden().Default(compression.Snappy).EnumVar(&p.walCompressionType, compression.Snappy, compression.Zstd)
	p.tsdbFlag(a, "storage.tsdb.head-chunks-write-queue-size", serverOnly("Size of the queue through which head chunks are written to the disk to be m-mapped, 0 disables the queue completely. Experimental.")).
		Default("0").IntVar(&p.tuning.TSDB.HeadChunksWriteQueueSize)
	p.tsdbFlag(a, "storage.tsdb.samples-per-chunk", serverOnly("Target number of samples per chunk.")).
		Default("120").Hidden().IntVar(&p.tuning.TSDB.SamplesPerChunk)
	p.tsdbFlag(a, "storage.tsdb.delayed-compaction.max-percent", serverOnly("Sets the upper limit for the random compaction delay, specified as a percentage of the head chunk range. 100 means the compaction can be delayed by up to the entire head chunk range. Only effective when the delayed-compaction feature flag is enabled.")).
		Default("10").Hidden().IntVar(&p.tuning.TSDB.CompactionDelayMaxPercent)
	p.tsdbFlag(a, "storage.tsdb.delay-compact-file.path", serverOnly("Path to a JSON file with uploaded TSDB blocks e.g. Thanos shipper meta file. If set TSDB will only compact 1 level blocks that are marked as uploaded in that file, improving external storage integrations e.g. with Thanos sidecar. 1+ level compactions won't be delayed.")).
		Default("").StringVar(&p.tuning.DelayCompactFile)
	a.Flag("storage.tsdb.block-reload-interval", serverOnly("Interval at which to check for new or removed blocks in storage. Users who manually backfill or drop blocks must wait up to this duration before changes become available.")).
		Default("1m").Hidden().SetValue(&p.blockReloadInterval)

	p.ignore(a, "storage.agent.path", agentOnly("Base path for metrics storage."), whyAgent).
		Default("data-agent/").String()
	p.ignore(a, "storage.agent.wal-segment-size", agentOnly("Size at which to split WAL segment files. Example: 100MB"), whyAgent).
		Hidden().PlaceHolder("<bytes>").Bytes()
	p.ignore(a, "storage.agent.wal-compression", agentOnly("Compress the agent WAL. If false, the --storage.agent.wal-compression-type flag is ignored."), whyAgent).
		Default("true").Bool()
	p.ignore(a, "storage.agent.wal-compression-type", agentOnly("Compression algorithm for the agent WAL, used when --storage.agent.wal-compression is true."), whyAgent).
		Hidden().Default("snappy").Enum("snappy", "zstd")
	p.ignore(a, "storage.agent.wal-truncate-frequency", agentOnly("The frequency at which to truncate the WAL and remove old data."), whyAgent).
		Hidden().PlaceHolder("<duration>").SetValue(new(model.Duration))
	p.ignore(a, "storage.agent.retention.min-time", agentOnly("Minimum age samples may be before being considered for deletion when the WAL is truncated"), whyAgent).
		Default("5m").SetValue(new(model.Duration))
	p.ignore(a, "storage.agent.retention.max-time", agentOnly("Maximum age samples may be before being forcibly deleted when the WAL is truncated"), whyAgent).
		Default("4h").SetValue(new(model.Duration))
	p.ignore(a, "storage.agent.checkpoint-from-in-memory-series", agentOnly("Use only in-memory series data when building a checkpoint."), whyAgent).
		Default("false").Bool()
	p.ignore(a, "storage.agent.checkpoint-batch-size", agentOnly("Size of a single WAL log entry chunk to be flushed. Has no effect without --storage.agent.checkpoint-from-in-memory-series flag."), whyAgent).
		Default("1000").Int()
	p.ignore(a, "storage.agent.no-lockfile", agentOnly("Do not create lockfile in data directory."), whyAgent).
		Default("false").Bool()

	a.Flag("storage.remote.read-sample-limit", serverOnly("Maximum overall number of samples to return via the remote read interface, in a single query. 0 means no limit. This limit is ignored for streamed response types.")).
		Default("5e7").IntVar(&p.tuning.RemoteReadSampleLimit) // Prometheus's spelling of def.RemoteReadSampleLimit: TestFlagDefaultsAreServerDefaults
	a.Flag("storage.remote.read-concurrent-limit", serverOnly("Maximum number of concurrent remote read calls. 0 means no limit.")).
		Default(strconv.Itoa(def.RemoteReadConcurrencyLimit)).IntVar(&p.tuning.RemoteReadConcurrencyLimit)
	a.Flag("storage.remote.read-max-bytes-in-frame", serverOnly("Maximum number of bytes in a single frame for streaming remote read response types before marshalling. Note that client might have limit on frame size as well. 1MB as recommended by protobuf by default.")).
		Default(strconv.Itoa(def.RemoteReadBytesInFrame)).IntVar(&p.tuning.RemoteReadBytesInFrame)
	a.Flag("web.search.max-limit", serverOnly("Hard upper bound on the \"limit\" query parameter accepted by the experimental search API (--enable-feature=search-api). Requests with a higher limit are rejected with HTTP 400. 0 disables the cap.")).
		Default(strconv.Itoa(def.SearchMaxLimit)).IntVar(&p.tuning.SearchMaxLimit)

	a.Flag("rules.alert.for-outage-tolerance", serverOnly("Max time to tolerate prometheus outage for restoring \"for\" state of alert.")).
		Default(duration(def.OutageTolerance)).SetValue(&p.outageTolerance)
	a.Flag("rules.alert.for-grace-period", serverOnly("Minimum duration between alert and restored \"for\" state. This is maintained only for alerts with configured \"for\" time greater than grace period.")).
		Default(duration(def.ForGracePeriod)).SetValue(&p.forGracePeriod)
	a.Flag("rules.alert.resend-delay", serverOnly("Minimum amount of time to wait before resending an alert to Alertmanager.")).
		Default(duration(def.ResendDelay)).SetValue(&p.resendDelay)
	a.Flag("rules.max-concurrent-evals", serverOnly("Global concurrency limit for independent rules that can run concurrently. When set, \"query.max-concurrency\" may need to be adjusted accordingly.")).
		Default(strconv.FormatInt(def.MaxConcurrentEvals, 10)).Int64Var(&p.tuning.MaxConcurrentEvals)

	// Upstream's scrape package reads these two from package variables, as
	// Prometheus's main binds them.
	a.Flag("scrape.adjust-timestamps", "Adjust scrape timestamps by up to `scrape.timestamp-tolerance` to align them to the intended schedule. See https://github.com/prometheus/prometheus/issues/7846 for more context. Experimental. This flag will be removed in a future release.").
		Hidden().Default("true").BoolVar(&scrape.AlignScrapeTimestamps)
	a.Flag("scrape.timestamp-tolerance", "Timestamp tolerance. See https://github.com/prometheus/prometheus/issues/7846 for more context. Experimental. This flag will be removed in a future release.").
		Hidden().Default("2ms").DurationVar(&scrape.ScrapeTimestampTolerance)

	a.Flag("alertmanager.notification-queue-capacity", serverOnly("The capacity of the queue for pending Alertmanager notifications.")).
		Default(strconv.Itoa(def.NotificationQueueCapacity)).IntVar(&p.tuning.NotificationQueueCapacity)
	a.Flag("alertmanager.notification-batch-size", serverOnly("The maximum number of notifications per batch to send to the Alertmanager.")).
		Default(strconv.Itoa(def.NotificationBatchSize)).IntVar(&p.tuning.NotificationBatchSize)
	a.Flag("alertmanager.drain-notification-queue-on-shutdown", serverOnly("Send any outstanding Alertmanager notifications when shutting down. If false, any outstanding Alertmanager notifications will be dropped when shutting down.")).
		Default("true").BoolVar(&p.drainNotifications)

	a.Flag("scrape.discovery-reload-interval", "Interval used by scrape manager to throttle target groups updates.").
		Hidden().Default(duration(def.DiscoveryReloadInterval)).SetValue(&p.discoveryReloadInterval)

	a.Flag("enable-feature", "Comma separated feature names to enable. Valid options: concurrent-rule-eval, created-timestamp-zero-ingestion, delayed-compaction, exemplar-storage, extra-scrape-metrics, histograms-st-encoding, memory-snapshot-on-shutdown, metadata-wal-records, old-ui, openmetrics2, otlp-deltatocumulative, otlp-native-delta-ingestion, promql-binop-fill-modifiers, promql-delayed-name-removal, promql-experimental-functions, promql-per-step-stats, promql-unquoted-utf8-names, query-cost, search-api, st-storage, st-synthesis, type-and-unit-labels, use-start-timestamps, use-uncached-io, xor2-encoding, zstd-scrape. See https://prometheus.io/docs/prometheus/latest/feature_flags/ for more details. Of these, miniprom refuses created-timestamp-zero-ingestion, histograms-st-encoding and metadata-wal-records, and an unknown name is an error.").
		StringsVar(&p.features)

	a.Flag("agent", "Run Prometheus in 'Agent mode'. miniprom has no agent mode: it refuses to start with --agent.").BoolVar(&p.agent)

	a.Flag("write-documentation", "Generate command line documentation. Internal use.").Hidden().
		BoolVar(&p.writeDocs)
	return p
}

// writeDocumentation is --write-documentation: Prometheus's markdown
// reference of the flags, generated by upstream's documentcli.
func (p *prometheusFlags) writeDocumentation(a *kingpin.Application, w io.Writer) (bool, error) {
	if !p.writeDocs {
		return false, nil
	}
	return true, documentcli.GenerateMarkdown(a.Model(), w)
}

// statusFlags are the flags for /api/v1/status/flags: every flag but
// kingpin's own (help, help-long, help-man, completion-*, version), as
// Prometheus lists them.
func statusFlags(a *kingpin.Application) map[string]string {
	boilerplate := kingpin.New("", "").Version("")
	m := map[string]string{}
	for _, f := range a.Model().Flags {
		if boilerplate.GetFlag(f.Name) == nil {
			m[f.Name] = f.Value.String()
		}
	}
	return m
}

// logIgnored logs each flag of flags the user gave, once.
func logIgnored(logger *slog.Logger, flags []ignoredFlag) {
	for _, f := range flags {
		if *f.set {
			logger.Warn("Flag accepted for compatibility with Prometheus and ignored", "flag", "--"+f.name, "reason", f.reason)
		}
	}
}

// apply checks the flags and copies them into o, logging each ignored
// flag the user gave once. It also applies the process-wide settings
// (GOMAXPROCS, GOMEMLIMIT, upstream config defaults), which only a process,
// never an embedded server, should change.
func (p *prometheusFlags) apply(o *server.Options, logger *slog.Logger) error {
	if p.agent {
		return errors.New("--agent: miniprom has no agent mode; run Prometheus in agent mode, or miniprom with remote_write")
	}
	if p.memLimitRatio <= 0 || p.memLimitRatio > 1 {
		return errors.New("--auto-gomemlimit.ratio must be greater than 0 and less than or equal to 1")
	}
	if p.tuning.SearchMaxLimit < 0 {
		return fmt.Errorf("--web.search.max-limit must be non-negative; got %d (use 0 to disable the cap)", p.tuning.SearchMaxLimit)
	}
	logIgnored(logger, p.ignored)
	if o.StoragePath == "" {
		logIgnored(logger, p.diskOnly)
	}
	feats, err := server.ParseFeatures(p.features, o.StoragePath != "", logger)
	if err != nil {
		return err
	}
	o.Features = feats

	t := p.tuning
	t.OutageTolerance = time.Duration(p.outageTolerance)
	t.ForGracePeriod = time.Duration(p.forGracePeriod)
	t.ResendDelay = time.Duration(p.resendDelay)
	t.DiscoveryReloadInterval = time.Duration(p.discoveryReloadInterval)
	t.BlockReloadInterval = time.Duration(p.blockReloadInterval)
	if t.BlockReloadInterval < tsdb.MinBlockReloadInterval {
		logger.Warn("The option --storage.tsdb.block-reload-interval is set to a value less than 1s. Setting it to 1s to avoid overload.")
		t.BlockReloadInterval = tsdb.MinBlockReloadInterval
	}
	t.KeepNotificationsOnShutdown = !p.drainNotifications
	t.TSDB.MinBlockDuration = time.Duration(p.minBlock)
	t.TSDB.MaxBlockDuration = time.Duration(p.maxBlock)
	t.TSDB.MaxBlockChunkSegmentSize = int64(p.maxChunkSegment)
	t.TSDB.WALSegmentSize = int(p.walSegment)
	t.TSDB.WALCompression = p.walCompressionType
	if !p.walCompression {
		t.TSDB.WALCompression = compression.None
	}
	t.TSDB.NoOverlappingCompaction = !p.allowOverlapping
	if feats.DelayedCompaction && (t.TSDB.CompactionDelayMaxPercent > 100 || t.TSDB.CompactionDelayMaxPercent <= 0) {
		logger.Warn("The --storage.tsdb.delayed-compaction.max-percent should have a value between 1 and 100. Using default", "default", tsdb.DefaultCompactionDelayMaxPercent)
		t.TSDB.CompactionDelayMaxPercent = tsdb.DefaultCompactionDelayMaxPercent
	}
	if p.pageTitleSet {
		t.PageTitle = p.pageTitle
	}
	if p.autoReload || feats.AutoReloadConfig {
		t.AutoReloadInterval = time.Duration(p.autoReloadInterval) // the server raises it to 1s
	}
	o.Tuning = t

	if feats.STStorage {
		// As Prometheus: prefer the protobuf format, which carries start
		// timestamps, unless the config says otherwise.
		config.DefaultConfig.GlobalConfig.ScrapeProtocols = config.DefaultProtoFirstScrapeProtocols
		config.DefaultGlobalConfig.ScrapeProtocols = config.DefaultProtoFirstScrapeProtocols
	}
	if feats.ExtraScrapeMetrics {
		// Upstream's config package resolves scrape configs against these
		// defaults while parsing; Prometheus changes them the same way.
		on := true
		config.DefaultConfig.GlobalConfig.ExtraScrapeMetrics = &on
		config.DefaultGlobalConfig.ExtraScrapeMetrics = &on
	}
	if !p.autoGoMaxProcs {
		// Since Go 1.25 the runtime follows the container's CPU quota by
		// itself, which is what automaxprocs does for Prometheus; setting
		// GOMAXPROCS explicitly turns that off.
		runtime.GOMAXPROCS(runtime.NumCPU())
	}
	if p.autoGoMemLimit {
		if _, err := memlimit.Set(
			memlimit.WithRatio(p.memLimitRatio),
			memlimit.WithRefreshInterval(context.Background(), time.Duration(p.memLimitRefresh)),
			memlimit.WithProvider(memlimit.ApplyFallback(memlimit.FromCgroup, memlimit.FromSystem)),
			memlimit.WithLogger(logger.With("component", "automemlimit")),
		); err != nil {
			logger.Warn("automemlimit", "msg", "Failed to set GOMEMLIMIT automatically", "err", err)
		}
	}
	return nil
}
