package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	config_util "github.com/prometheus/common/config"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"
	"github.com/prometheus/prometheus/rules"
)

// applyStep is one component taking a new configuration.
type applyStep struct {
	name  string
	apply func(*config.Config, configPlan) error
}

// configPlan is what validation worked out for the steps.
type configPlan struct {
	ruleFiles []string
	sd, nd    map[string]discovery.Configs
}

// apply hands cfg to every component, all or nothing: first everything that
// can be wrong with the configuration is checked (rule files, scrape config
// files, the HTTP clients of scrape jobs, Alertmanagers and remote writes,
// the query log file, the log level), and only then do the components take
// it, in named steps. A step that still fails (the environment changed
// between check and use) has the steps before it given the old
// configuration back; should that fail too, those components keep the new
// one, and the error says so. The served config (/api/v1/status/config,
// federation) changes only when every step succeeded.
func (s *Server) apply(cfg *config.Config) error {
	plan, err := s.validateConfig(cfg)
	if err != nil {
		return err
	}
	steps := s.applySteps()
	for i, st := range steps {
		start := time.Now()
		if err := st.apply(cfg, plan); err != nil {
			err = fmt.Errorf("%s: %w", st.name, err)
			return errors.Join(err, s.rollback(steps[:i+1]))
		}
		s.logger.Debug("Applied configuration", "step", st.name, "duration", time.Since(start))
	}
	s.mu.Lock()
	s.cfg, s.plan = cfg, plan
	s.mu.Unlock()
	return nil
}

// rollback gives the running configuration back to the steps that may have
// taken the new one. At start there is none: New fails anyway.
func (s *Server) rollback(steps []applyStep) error {
	s.mu.RLock()
	old, plan := s.cfg, s.plan
	s.mu.RUnlock()
	if old == nil || plan.sd == nil {
		return nil
	}
	var errs []error
	for _, st := range steps {
		if err := st.apply(old, plan); err != nil {
			errs = append(errs, fmt.Errorf("%s keeps the new configuration: restoring the old one failed: %w", st.name, err))
		}
	}
	return errors.Join(errs...)
}

// applySteps are the components in the order they take a configuration:
// rules first, the scrape and notifier managers before their discovery
// managers so that new targets meet the new settings, the query cache last.
func (s *Server) applySteps() []applyStep {
	return []applyStep{
		{"rules", func(cfg *config.Config, p configPlan) error {
			return s.rules.Update(time.Duration(cfg.GlobalConfig.EvaluationInterval), p.ruleFiles,
				cfg.GlobalConfig.ExternalLabels, s.externalURL.String(), nil)
		}},
		{"storage", func(cfg *config.Config, _ configPlan) error { return s.storage.ApplyConfig(cfg) }},
		{"query engine", func(cfg *config.Config, _ configPlan) error { return s.applyEngineConfig(cfg) }},
		{"tracing", func(cfg *config.Config, _ configPlan) error { return s.tracer.m.ApplyConfig(cfg) }},
		{"scrape", func(cfg *config.Config, _ configPlan) error { return s.scrape.ApplyConfig(cfg) }},
		{"scrape discovery", func(_ *config.Config, p configPlan) error { return s.scrapeDiscovery.ApplyConfig(p.sd) }},
		{"notifier", func(cfg *config.Config, _ configPlan) error { return s.notifier.ApplyConfig(cfg) }},
		{"notifier discovery", func(_ *config.Config, p configPlan) error { return s.notifyDiscovery.ApplyConfig(p.nd) }},
		{"runtime", func(cfg *config.Config, _ configPlan) error {
			applyGoGC(s.logger, cfg)
			return s.applyLogLevel(cfg)
		}},
		// Last: it drops every answer cached before, also those evaluated
		// while the steps above took the configuration.
		{"query cache", func(cfg *config.Config, _ configPlan) error { return s.qcache.applyConfig(cfg) }},
	}
}

// validateConfig checks, without changing anything, what the steps would
// otherwise find wrong halfway.
func (s *Server) validateConfig(cfg *config.Config) (configPlan, error) {
	var p configPlan
	// Upstream's rule validation: Update only logs what is wrong, and the
	// error should name the file.
	if err := rules.ParseFiles(cfg.RuleFiles, cfg.GlobalConfig.MetricNameValidationScheme, s.opts.Features.parser(), s.logger); err != nil {
		return p, fmt.Errorf("load rules: %w", err)
	}
	for _, pat := range cfg.RuleFiles {
		fs, err := filepath.Glob(pat)
		if err != nil {
			return p, fmt.Errorf("rule files %q: %w", pat, err)
		}
		p.ruleFiles = append(p.ruleFiles, fs...)
	}
	scrapeConfigs, err := cfg.GetScrapeConfigs()
	if err != nil {
		return p, err
	}
	p.sd = make(map[string]discovery.Configs, len(scrapeConfigs))
	for _, sc := range scrapeConfigs {
		p.sd[sc.JobName] = sc.ServiceDiscoveryConfigs
		if err := checkClient(sc.HTTPClientConfig, "scrape job "+sc.JobName); err != nil {
			return p, err
		}
	}
	p.nd = make(map[string]discovery.Configs)
	for k, am := range cfg.AlertingConfig.AlertmanagerConfigs.ToMap() {
		p.nd[k] = am.ServiceDiscoveryConfigs
		if err := checkClient(am.HTTPClientConfig, "alertmanager "+k); err != nil {
			return p, err
		}
	}
	for _, rw := range cfg.RemoteWriteConfigs {
		if err := checkClient(rw.HTTPClientConfig, "remote write "+rw.Name); err != nil {
			return p, err
		}
	}
	if f := cfg.GlobalConfig.QueryLogFile; f != "" {
		fh, err := os.OpenFile(f, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o666)
		if err != nil {
			return p, fmt.Errorf("query log file: %w", err)
		}
		fh.Close()
	}
	if l := cfg.Runtime.LogLevel; l != "" {
		if err := promslog.NewLevel().Set(string(l)); err != nil {
			return p, fmt.Errorf("log level: %w", err)
		}
	}
	return p, nil
}

// checkClient builds the HTTP client a component would, which reads the
// TLS files and fails the way the component would.
func checkClient(c config_util.HTTPClientConfig, what string) error {
	client, err := config_util.NewClientFromConfig(c, what)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	client.CloseIdleConnections()
	return nil
}
