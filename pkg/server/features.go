package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/template"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/fileutil"
	"github.com/prometheus/prometheus/util/features"
	v1 "github.com/prometheus/prometheus/web/api/v1"
)

// Features are the --enable-feature options of Prometheus 3.16 that
// miniprom implements, parsed. The zero value enables none.
type Features struct {
	Parser parser.Options // promql-experimental-functions, -unquoted-utf8-names, -binop-fill-modifiers

	DelayedNameRemoval bool // promql-delayed-name-removal
	PerStepStats       bool // promql-per-step-stats
	TypeAndUnitLabels  bool // type-and-unit-labels
	UseStartTimestamps bool // use-start-timestamps
	QueryCost          bool // query-cost

	ConcurrentRuleEval bool // concurrent-rule-eval
	ExemplarStorage    bool // exemplar-storage
	ExtraScrapeMetrics bool // extra-scrape-metrics
	OpenMetrics2       bool // openmetrics2
	ZstdScrape         bool // zstd-scrape
	SynthesizeST       bool // st-synthesis
	STStorage          bool // st-storage
	XOR2Encoding       bool // xor2-encoding

	OTLPDeltaToCumulative    bool // otlp-deltatocumulative
	OTLPNativeDeltaIngestion bool // otlp-native-delta-ingestion
	SearchAPI                bool // search-api
	AutoReloadConfig         bool // auto-reload-config (deprecated for --config.auto-reload)

	// Those that tune the on-disk TSDB, only on with --storage.tsdb.path.
	MemorySnapshotOnShutdown bool // memory-snapshot-on-shutdown
	DelayedCompaction        bool // delayed-compaction
	UncachedIO               bool // use-uncached-io
	FastStartup              bool // fast-startup
}

// featureAction is what miniprom does with one feature name.
type featureAction struct {
	enable func(*Features)
	// level and msg are logged when the feature is given; the messages are
	// Prometheus's where miniprom behaves as Prometheus does.
	level slog.Level
	msg   string
	// refuse, when set, is why miniprom cannot honour the feature: it is
	// an error rather than a feature accepted and silently not applied.
	refuse string
	// disk marks a feature of the on-disk TSDB: ignored in memory.
	disk bool
}

const (
	noOp        = "This option for --enable-feature is now permanently enabled and therefore a no-op."
	tsdbTuning  = "This option for --enable-feature tunes the on-disk TSDB (--storage.tsdb.path); in memory it is ignored."
	storageForm = "it changes how the TSDB stores samples (zero samples for start timestamps, ST-capable histogram chunks on their own, metadata records), which miniprom's storage does not offer; st-storage and xor2-encoding are supported"
)

// featureActions lists every feature name Prometheus 3.16 accepts.
var featureActions = map[string]featureAction{
	"concurrent-rule-eval":          {enable: func(f *Features) { f.ConcurrentRuleEval = true }, msg: "Experimental concurrent rule evaluation enabled."},
	"exemplar-storage":              {enable: func(f *Features) { f.ExemplarStorage = true }, msg: "Experimental in-memory exemplar storage enabled"},
	"extra-scrape-metrics":          {enable: func(f *Features) { f.ExtraScrapeMetrics = true }, level: slog.LevelWarn, msg: "This option for --enable-feature is being phased out. It currently changes the default for the extra_scrape_metrics config setting to true, but will become a no-op in a future version. Stop using this option and set extra_scrape_metrics in the config instead."},
	"promql-per-step-stats":         {enable: func(f *Features) { f.PerStepStats = true }, msg: "Experimental per-step statistics reporting"},
	"auto-reload-config":            {enable: func(f *Features) { f.AutoReloadConfig = true }, level: slog.LevelWarn, msg: "This option for --enable-feature is deprecated. Use --config.auto-reload instead."},
	"promql-unquoted-utf8-names":    {enable: func(f *Features) { f.Parser.EnableUnquotedUTF8Names = true }, msg: "Experimental unquoted UTF-8 names enabled."},
	"promql-experimental-functions": {enable: func(f *Features) { f.Parser.EnableExperimentalFunctions = true }, msg: "Experimental PromQL functions enabled."},
	"promql-binop-fill-modifiers":   {enable: func(f *Features) { f.Parser.EnableBinopFillModifiers = true }, msg: "Experimental PromQL binary operator fill modifiers enabled."},
	"promql-delayed-name-removal":   {enable: func(f *Features) { f.DelayedNameRemoval = true }, msg: "Experimental PromQL delayed name removal enabled."},
	"st-synthesis":                  {enable: func(f *Features) { f.SynthesizeST = true }, msg: "Experimental start timestamp synthesis enabled."},
	"st-storage":                    {enable: func(f *Features) { f.STStorage = true }, msg: "Experimental start timestamp storage enabled. XOR2 and ST-capable histogram chunk encodings enabled. OpenMetrics 1.0 parsing will parse <metric>_created metrics as ST instead of normal sample. Changed default scrape_protocols to prefer PrometheusProto format."},
	"use-start-timestamps":          {enable: func(f *Features) { f.UseStartTimestamps = true }, msg: "Experimental usage of start timestamps in PromQL engine is enabled."},
	"otlp-deltatocumulative":        {enable: func(f *Features) { f.OTLPDeltaToCumulative = true }, msg: "Converting delta OTLP metrics to cumulative"},
	"otlp-native-delta-ingestion":   {enable: func(f *Features) { f.OTLPNativeDeltaIngestion = true }, msg: "Enabling native ingestion of delta OTLP metrics, storing the raw sample values without conversion. WARNING: Delta support is in an early stage of development. The ingestion and querying process is likely to change over time."},
	"openmetrics2":                  {enable: func(f *Features) { f.OpenMetrics2 = true }, msg: "Experimental OpenMetrics 2.0 scrape format enabled. WARNING: OpenMetrics 2.0 is not stable yet, the parser will be made stricter before stabilization and the exposition format may still change."},
	"type-and-unit-labels":          {enable: func(f *Features) { f.TypeAndUnitLabels = true }, msg: "Experimental type and unit labels enabled"},
	"zstd-scrape":                   {enable: func(f *Features) { f.ZstdScrape = true }, msg: "Experimental zstd scrape compression enabled"},
	"search-api":                    {enable: func(f *Features) { f.SearchAPI = true }, msg: "Experimental search API enabled."},
	"query-cost":                    {enable: func(f *Features) { f.QueryCost = true }, msg: "Experimental query cost guardrails enabled."},

	// Always on in Prometheus 3.16 too.
	"promql-duration-expr":            {level: slog.LevelWarn, msg: noOp},
	"ooo-native-histograms":           {level: slog.LevelWarn, msg: noOp},
	"promql-extended-range-selectors": {level: slog.LevelWarn, msg: noOp},
	"native-histograms":               {level: slog.LevelWarn, msg: "This option for --enable-feature is a no-op. To scrape native histograms, set the scrape_native_histograms scrape config setting to true."},

	// On-disk TSDB tuning: applied with --storage.tsdb.path, nothing to
	// tune in memory.
	"memory-snapshot-on-shutdown": {enable: func(f *Features) { f.MemorySnapshotOnShutdown = true }, msg: "Experimental memory snapshot on shutdown enabled", disk: true},
	"delayed-compaction":          {enable: func(f *Features) { f.DelayedCompaction = true }, msg: "Experimental delayed compaction is enabled.", disk: true},
	"use-uncached-io":             {enable: func(f *Features) { f.UncachedIO = true }, msg: "Experimental Uncached IO is enabled.", disk: true},
	"fast-startup":                {enable: func(f *Features) { f.FastStartup = true }, msg: "Experimental fast startup is enabled.", disk: true},
	"old-ui":                      {level: slog.LevelWarn, msg: "This option for --enable-feature selects Prometheus's previous web UI; miniprom has one UI, so it is ignored."},

	"created-timestamp-zero-ingestion": {refuse: storageForm},
	"xor2-encoding":                    {enable: func(f *Features) { f.XOR2Encoding = true }, level: slog.LevelWarn, msg: "This option for --enable-feature is being phased out. It currently changes the default for the storage.tsdb.chunk_encoding.floats config setting to xor2, but will become a no-op in a future major version. Stop using this option and set storage.tsdb.chunk_encoding.floats in the config instead."},
	"histograms-st-encoding":           {refuse: storageForm},
	"metadata-wal-records":             {refuse: storageForm},
}

// KnownFeatures are the feature names --enable-feature accepts, sorted.
func KnownFeatures() []string {
	names := make([]string, 0, len(featureActions))
	for n := range featureActions {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ParseFeatures reads --enable-feature values (each a comma-separated
// list) as Prometheus 3.16 does, logging each feature once. Unlike
// Prometheus, which only warns, an unknown name is an error: a typo must
// not leave the user believing a feature is on. onDisk says whether the
// TSDB is on disk (--storage.tsdb.path); in memory the features that tune
// the on-disk TSDB are logged as ignored.
func ParseFeatures(values []string, onDisk bool, logger *slog.Logger) (Features, error) {
	var f Features
	var errs []error
	for _, v := range values {
		for name := range strings.SplitSeq(v, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			a, ok := featureActions[name]
			switch {
			case !ok:
				errs = append(errs, fmt.Errorf("unknown feature %q in --enable-feature (known: %s)", name, strings.Join(KnownFeatures(), ", ")))
				continue
			case a.refuse != "":
				errs = append(errs, fmt.Errorf("feature %q in --enable-feature is not supported by miniprom: %s", name, a.refuse))
				continue
			case a.disk && !onDisk:
				logger.Warn(tsdbTuning, "option", name)
				continue
			case name == "use-uncached-io" && !fileutil.UncachedIOSupported():
				errs = append(errs, errors.New("experimental Uncached IO is not supported"))
				continue
			}
			if a.enable != nil {
				a.enable(&f)
			}
			logger.Log(context.Background(), a.level, a.msg, "option", name)
		}
	}
	if f.OTLPDeltaToCumulative && f.OTLPNativeDeltaIngestion {
		errs = append(errs, errors.New("cannot enable otlp-deltatocumulative and otlp-native-delta-ingestion features at the same time"))
	}
	return f, errors.Join(errs...)
}

// parser is the PromQL parser the engine, the rules and the API share, so a
// function enabled for queries is also accepted in rule files.
func (f Features) parser() parser.Parser { return parser.NewParser(f.Parser) }

// registerFeatures records what the server itself offers in the registry
// behind /api/v1/features, as Prometheus's main and web packages do; the
// engine, parser, rules, scrape and discovery managers add their own.
func (s *Server) registerFeatures(r features.Collector) {
	o, f := s.opts, s.opts.Features
	r.Set(features.Prometheus, "agent_mode", false)
	r.Set(features.Prometheus, "server_mode", true)
	r.Set(features.Prometheus, "auto_reload_config", o.Tuning.AutoReloadInterval > 0)
	r.Enable(features.Prometheus, labels.ImplementationName)
	template.RegisterFeatures(r)

	r.Set(features.API, "lifecycle", o.EnableLifecycle)
	r.Set(features.API, "admin", o.EnableAdminAPI)
	r.Set(features.API, "remote_write_receiver", o.EnableRemoteWriteReceiver)
	r.Set(features.API, "otlp_write_receiver", o.EnableOTLPReceiver)
	r.Set(features.API, "query_cost", f.QueryCost)
	r.Set(features.API, "search", f.SearchAPI)
	for _, alg := range v1.FuzzAlgorithms() {
		r.Enable(features.API, "search_fuzz_alg_"+alg)
	}
	r.Set(features.OTLPReceiver, "delta_conversion", f.OTLPDeltaToCumulative)
	r.Set(features.OTLPReceiver, "native_delta_ingestion", f.OTLPNativeDeltaIngestion)
	for _, name := range []string{"label_values_match", "query_warnings", "query_stats", "time_range_series", "time_range_labels", "exclude_alerts", "openapi_3.1", "openapi_3.2"} {
		r.Enable(features.API, name)
	}
	r.Set(features.UI, "ui_v3", true)
	r.Set(features.UI, "ui_v2", false)

	// What Prometheus's TSDB registers when it opens; miniprom's storage
	// uses the upstream head with these settings.
	r.Set(features.TSDB, "exemplar_storage", maxExemplars(s.cfg) > 0)
	onDisk := o.StoragePath != ""
	r.Set(features.TSDB, "delayed_compaction", onDisk && f.DelayedCompaction)
	r.Set(features.TSDB, "isolation", true)
	r.Set(features.TSDB, "use_uncached_io", onDisk && f.UncachedIO)
	r.Enable(features.TSDB, "native_histograms")
	r.Set(features.TSDB, "st_storage", f.STStorage)
	r.Enable(features.TSDB, "xor2_encoding")
	r.Set(features.TSDB, "histograms_st_encoding", f.STStorage)
}

// adjustConfig applies the features that change config defaults: with
// exemplar-storage, a config without storage.exemplars gets Prometheus's
// default ring size, as in Prometheus.
func (f Features) adjustConfig(cfg *config.Config) {
	if f.ExemplarStorage && cfg.StorageConfig.ExemplarsConfig == nil {
		c := config.DefaultExemplarsConfig
		cfg.StorageConfig.ExemplarsConfig = &c
	}
}

// floatEncoding is the float chunk encoding the TSDB starts with, resolved
// as Prometheus 3.16's main resolves it: the config file's
// storage.tsdb.chunk_encoding.floats when set, else xor2 with the
// xor2-encoding feature, else xor. (st-storage implies xor2: the storage
// applies that rule, storage.Options.FloatEncoding.)
func floatEncoding(f Features, cfg *config.Config) chunkenc.Encoding {
	enc := chunkenc.EncXOR
	if f.XOR2Encoding {
		enc = chunkenc.EncXOR2
	}
	if tc := cfg.StorageConfig.TSDBConfig; tc != nil {
		switch tc.ChunkEncoding.Floats {
		case config.FloatChunkEncodingXOR:
			enc = chunkenc.EncXOR
		case config.FloatChunkEncodingXOR2:
			enc = chunkenc.EncXOR2
		}
	}
	return enc
}
