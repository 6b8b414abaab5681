package server

import (
	"errors"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/notifier"

	"github.com/miniprom/miniprom/pkg/storage"
)

// Tuning holds the Prometheus 3.16 flags beyond the core set in Options:
// rule, notifier, scrape and remote read settings. DefaultTuning holds
// their defaults.
type Tuning struct {
	// AutoReloadInterval is --config.auto-reload-interval when
	// --config.auto-reload is set; zero turns automatic reloading off.
	AutoReloadInterval time.Duration

	MaxNotificationsSubscribers int    // --web.max-notifications-subscribers
	UserAssetsPath              string // --web.user-assets, served at /user/
	// PageTitle is --web.page-title when given: the UI's document title on
	// every page. Empty keeps miniprom's own titles ("Query · miniprom"),
	// rather than Prometheus's default, which names Prometheus.
	PageTitle string

	OutageTolerance    time.Duration // --rules.alert.for-outage-tolerance
	ForGracePeriod     time.Duration // --rules.alert.for-grace-period
	ResendDelay        time.Duration // --rules.alert.resend-delay
	MaxConcurrentEvals int64         // --rules.max-concurrent-evals

	NotificationQueueCapacity int // --alertmanager.notification-queue-capacity
	NotificationBatchSize     int // --alertmanager.notification-batch-size
	// KeepNotificationsOnShutdown is the negation of
	// --alertmanager.drain-notification-queue-on-shutdown (default true), so
	// that the zero value drains as Prometheus does.
	KeepNotificationsOnShutdown bool

	DiscoveryReloadInterval time.Duration // --scrape.discovery-reload-interval
	// BlockReloadInterval is --storage.tsdb.block-reload-interval; zero is
	// the TSDB's default (1m).
	BlockReloadInterval time.Duration
	// TSDB is the other --storage.tsdb.* tuning flags, applied with
	// StoragePath only.
	TSDB storage.DiskTuning
	// DelayCompactFile is --storage.tsdb.delay-compact-file.path: a Thanos
	// shipper's meta file, whose uploaded blocks alone are compacted.
	DelayCompactFile string

	// Remote read limits (--storage.remote.read-*); 0 means no limit, as in
	// Prometheus.
	RemoteReadSampleLimit      int
	RemoteReadConcurrencyLimit int
	RemoteReadBytesInFrame     int

	SearchMaxLimit int // --web.search.max-limit; 0 means no cap

	// LogLevel is the level of Options.Logger (--log.level), which the
	// config file's runtime.log_level changes at every load, as in
	// Prometheus; nil leaves the level alone.
	LogLevel *promslog.Level
}

// DefaultTuning is Prometheus 3.16's flag defaults.
func DefaultTuning() Tuning {
	return Tuning{
		MaxNotificationsSubscribers: 16,
		OutageTolerance:             time.Hour,
		ForGracePeriod:              10 * time.Minute,
		ResendDelay:                 time.Minute,
		MaxConcurrentEvals:          4,
		NotificationQueueCapacity:   10000,
		NotificationBatchSize:       notifier.DefaultMaxBatchSize,
		DiscoveryReloadInterval:     5 * time.Second,
		RemoteReadSampleLimit:       5e7,
		RemoteReadConcurrencyLimit:  10,
		RemoteReadBytesInFrame:      1048576,
		SearchMaxLimit:              10000,
	}
}

// validate checks the tuning, and raises an automatic reload interval
// below a second to one, as Prometheus does.
func (t *Tuning) validate() error {
	if t.AutoReloadInterval > 0 && t.AutoReloadInterval < time.Second {
		t.AutoReloadInterval = time.Second
	}
	if t.RemoteReadBytesInFrame < 0 {
		return errors.New("--storage.remote.read-max-bytes-in-frame must be positive")
	}
	return t.TSDB.Validate()
}
