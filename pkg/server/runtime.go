package server

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/alecthomas/units"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/version"
	v1 "github.com/prometheus/prometheus/web/api/v1"
)

// runtimeInfo answers /api/v1/status/runtimeinfo.
func (s *Server) runtimeInfo() (v1.RuntimeInfo, error) {
	cwd, _ := os.Getwd()
	info := v1.RuntimeInfo{
		StartTime:        s.birth.UTC(),
		CWD:              cwd,
		GoroutineCount:   runtime.NumGoroutine(),
		GOMAXPROCS:       runtime.GOMAXPROCS(0),
		GOMEMLIMIT:       debug.SetMemoryLimit(-1),
		GOGC:             os.Getenv("GOGC"),
		GODEBUG:          os.Getenv("GODEBUG"),
		ServerTime:       time.Now().UTC(),
		StorageRetention: s.storageRetention(),
	}
	hostname, err := os.Hostname()
	if err != nil {
		return info, fmt.Errorf("error getting hostname: %w", err)
	}
	info.Hostname = hostname
	s.metrics.fill(&info)
	return info, nil
}

// storageRetention reads as Prometheus's does, "15d", "512MiB" or
// "15d or 512MiB", followed by where samples are held, which Prometheus's
// runtime info has no key for: "1d or 512MiB (RAM-backed files in
// /dev/shm/miniprom-1)", or "(Go heap, about 1.8x the memory ...)".
func (s *Server) storageRetention() string {
	var parts []string
	if t := s.storage.Retention(); t != 0 {
		parts = append(parts, model.Duration(t).String())
	}
	if b := s.storage.RetentionSize(); b != 0 {
		parts = append(parts, units.Base2Bytes(b).String())
	}
	return strings.Join(parts, " or ") + " (" + s.storage.Where() + ")"
}

func buildInfo() *v1.PrometheusVersion {
	return &v1.PrometheusVersion{
		Version:   version.Version,
		Revision:  version.Revision,
		Branch:    version.Branch,
		BuildUser: version.BuildUser,
		BuildDate: version.BuildDate,
		GoVersion: version.GoVersion,
	}
}
