package server

import (
	"fmt"
	"github.com/alecthomas/units"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/config"
	v1 "github.com/prometheus/prometheus/web/api/v1"
)

// reloadMetrics are Prometheus's config reload metrics, under its names.
type reloadMetrics struct {
	successful, successTime prometheus.Gauge

	mu          sync.Mutex
	lastOK      bool
	lastSuccess time.Time
}

func newReloadMetrics(reg prometheus.Registerer) *reloadMetrics {
	m := &reloadMetrics{
		successful: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "prometheus_config_last_reload_successful",
			Help: "Whether the last configuration reload attempt was successful.",
		}),
		successTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "prometheus_config_last_reload_success_timestamp_seconds",
			Help: "Timestamp of the last successful configuration reload.",
		}),
	}
	reg.MustRegister(m.successful, m.successTime)
	return m
}

func (m *reloadMetrics) success(ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastOK = ok
	if !ok {
		m.successful.Set(0)
		return
	}
	m.lastSuccess = time.Now()
	m.successful.Set(1)
	m.successTime.Set(float64(m.lastSuccess.Unix()))
}

// loadConfig reads prometheus.yml with upstream's loader, which fills in
// defaults and validates it. As in Prometheus 3.16, the file's
// storage.tsdb.retention time and size win over the flags, which only set
// the defaults; the effective values are written back into the config, so
// /api/v1/status/config shows them as Prometheus does, and every reload
// hands the storage the flag's size again rather than zero.
func loadConfig(file string, o Options, logger *slog.Logger) (*config.Config, error) {
	cfg, err := config.LoadFile(file, false, logger)
	if err != nil {
		return nil, fmt.Errorf("couldn't load configuration (--config.file=%q): %w", file, explainUnknownDiscovery(err))
	}
	r := cfg.StorageConfig.TSDBConfig.Retention
	if r.Time == 0 {
		r.Time = model.Duration(o.Retention)
	}
	if r.Size == 0 {
		r.Size = units.Base2Bytes(o.RetentionSize)
	}
	return cfg, nil
}

func maxExemplars(cfg *config.Config) int64 {
	if cfg.StorageConfig.ExemplarsConfig == nil {
		return 0
	}
	return cfg.StorageConfig.ExemplarsConfig.MaxExemplars
}

// reloadNotice is shown in the UI's notifications while the last reload failed.
const reloadNotice = "Configuration reload has failed."

// reload loads the config file and applies it. On failure the running
// configuration stays, and the failure shows in the log, the
// prometheus_config_last_reload_successful metric and the UI's notices.
func (s *Server) reload() error {
	start := time.Now()
	s.logger.Info("Loading configuration file", "filename", s.opts.ConfigFile)
	cfg, err := loadConfig(s.opts.ConfigFile, s.opts, s.logger)
	if err == nil {
		s.opts.Features.adjustConfig(cfg)
		err = s.apply(cfg)
		if err != nil {
			err = fmt.Errorf("apply configuration (--config.file=%q): %w", s.opts.ConfigFile, err)
		}
	}
	if err != nil {
		s.logger.Error("Error reloading config", "err", err)
		s.metrics.success(false)
		s.notices.AddNotification(reloadNotice)
		return err
	}
	s.metrics.success(true)
	s.noteConfigLoaded()
	s.notices.DeleteNotification(reloadNotice)
	s.logger.Info("Completed loading of configuration file", "filename", s.opts.ConfigFile, "totalDuration", time.Since(start))
	return nil
}

// fill copies the reload state into the runtime info.
func (m *reloadMetrics) fill(info *v1.RuntimeInfo) {
	m.mu.Lock()
	defer m.mu.Unlock()
	info.ReloadConfigSuccess = m.lastOK
	info.LastConfigTime = m.lastSuccess.UTC().Truncate(time.Second)
}
