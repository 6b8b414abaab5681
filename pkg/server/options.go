package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/grafana/regexp"
	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	toolkit "github.com/prometheus/exporter-toolkit/web"
	"go.yaml.in/yaml/v2"

	"github.com/miniprom/miniprom/pkg/api"
	"github.com/miniprom/miniprom/pkg/storage"
)

// Options configure a Server. The field names follow Prometheus's flags.
// Start from DefaultOptions: a zero field is not replaced by its default.
type Options struct {
	Logger *slog.Logger

	ConfigFile    string // --config.file
	WebConfigFile string // --web.config.file

	ListenAddresses []string // --web.listen-address
	// ExternalURL is --web.external-url as given; empty derives it from the
	// host name, the first listen address and the web config, as Prometheus
	// does.
	ExternalURL     string
	RoutePrefix     string        // --web.route-prefix; defaults to the external URL's path
	ReadTimeout     time.Duration // --web.read-timeout
	MaxConnections  int           // --web.max-connections
	EnableLifecycle bool          // --web.enable-lifecycle
	EnableAdminAPI  bool          // --web.enable-admin-api
	CORSOrigin      string        // --web.cors.origin, a fully anchored regexp

	EnableRemoteWriteReceiver bool // --web.enable-remote-write-receiver
	// RemoteWriteReceiverMessages is
	// --web.remote-write-receiver.accepted-protobuf-messages; empty accepts
	// remote write 1.0 and 2.0, as Prometheus does by default.
	RemoteWriteReceiverMessages remoteapi.MessageTypes
	EnableOTLPReceiver          bool          // --web.enable-otlp-receiver
	RemoteFlushDeadline         time.Duration // --storage.remote.flush-deadline

	// Retention is --storage.tsdb.retention.time: the retention when the
	// config file sets none. Zero means storage.DefaultRetention, or
	// storage.DefaultDurableRetention on disk.
	Retention time.Duration
	// StoragePath is --storage.tsdb.path: empty keeps samples in memory;
	// a directory switches to the upstream on-disk TSDB there.
	StoragePath string
	// RetentionSize is --storage.tsdb.retention.size in bytes; the config
	// file's storage.tsdb.retention.size takes precedence. Zero in a
	// RAM-backed directory is 80% of its free space.
	RetentionSize int64
	// MemoryDir is --storage.memory.dir: where in-memory mode keeps chunks
	// (storage.MemoryDirAuto, storage.MemoryDirHeap or a tmpfs directory).
	MemoryDir string
	// SnapshotDir is --storage.memory.snapshot-dir: a directory on a disk
	// where in-memory storage is written at shutdown and loaded at start.
	SnapshotDir string
	// SnapshotInterval is --storage.memory.snapshot-interval: also take a
	// snapshot this often; zero only at shutdown.
	SnapshotInterval time.Duration
	// MaxSeries is --storage.max-series: the most series held; 0 is none.
	MaxSeries int
	Query     QueryOptions // --query.*
	// QueryCacheSize is --query.cache-size, the range query results cache's
	// memory budget in bytes: zero turns the cache off.
	QueryCacheSize int64
	// QueryLimits are miniprom's own per-query limits (--query.max-length and
	// others); a zero field is no limit.
	QueryLimits api.QueryLimits
	// ReceiverLimits bound the labels of series sent to the remote write
	// receiver (--web.remote-write-receiver.max-*); a zero field is no
	// limit.
	ReceiverLimits api.ReceiverLimits

	// Flags are all command-line flags, for /api/v1/status/flags.
	Flags map[string]string
	// WebConfigCheckInterval is how often the web config file is checked
	// for authentication or TLS changes to warn about; zero means
	// web.DefaultWebConfigCheckInterval.
	WebConfigCheckInterval time.Duration
	// ShutdownTimeout bounds how long in-flight requests may take at shutdown.
	ShutdownTimeout time.Duration
	// NoHeadLabelCache is --no-storage.label-cache.head: the head answers
	// every label names and values request itself.
	NoHeadLabelCache bool

	Features Features // --enable-feature
	Tuning   Tuning   // the other Prometheus 3.16 flags
}

// SupportedRemoteWriteMessages are the remote write protobuf messages the
// receiver can accept (remote write 1.0 and 2.0), all accepted by default.
func SupportedRemoteWriteMessages() remoteapi.MessageTypes {
	return remoteapi.MessageTypes{remoteapi.WriteV1MessageType, remoteapi.WriteV2MessageType}
}

// DefaultShutdownTimeout is DefaultOptions' ShutdownTimeout.
const DefaultShutdownTimeout = 10 * time.Second

func (o *Options) validate() error {
	if o.Logger == nil {
		return errors.New("no logger")
	}
	if o.ConfigFile == "" {
		return errors.New("no config file")
	}
	if len(o.ListenAddresses) == 0 {
		return errors.New("no listen address")
	}
	if err := o.validateSnapshot(); err != nil {
		return err
	}
	if o.Retention == 0 {
		// As in Prometheus, no retention time means the default one.
		o.Retention = storage.DefaultRetentionFor(o.StoragePath)
	}
	return o.Tuning.validate()
}

func (o *Options) validateSnapshot() error {
	switch {
	case o.StoragePath != "" && (o.SnapshotDir != "" || o.SnapshotInterval != 0):
		return errors.New("--storage.memory.snapshot-dir and --storage.memory.snapshot-interval are for in-memory storage: with --storage.tsdb.path the TSDB keeps its data on disk itself")
	case o.SnapshotInterval < 0:
		return fmt.Errorf("--storage.memory.snapshot-interval=%s: must not be negative", o.SnapshotInterval)
	case o.SnapshotInterval > 0 && o.SnapshotDir == "":
		return errors.New("--storage.memory.snapshot-interval needs --storage.memory.snapshot-dir")
	}
	return nil
}

// ExternalURL computes the external URL the way Prometheus 3.16 does: the
// given one, or scheme://hostname:port/ from the first listen address, with
// https when the web config enables TLS. The path has no trailing slash.
func ExternalURL(raw, listenAddr, webConfigFile string) (*url.URL, error) {
	if raw == "" {
		hostname, err := os.Hostname()
		if err != nil {
			return nil, err
		}
		_, port, err := net.SplitHostPort(listenAddr)
		if err != nil {
			return nil, err
		}
		scheme := "http"
		if webConfigEnablesTLS(webConfigFile) {
			scheme = "https"
		}
		raw = fmt.Sprintf("%s://%s:%s/", scheme, hostname, port)
	}
	if strings.HasPrefix(raw, `"`) || strings.HasPrefix(raw, "'") || strings.HasSuffix(raw, `"`) || strings.HasSuffix(raw, "'") {
		return nil, errors.New("URL must not begin or end with quotes")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	p := strings.TrimRight(u.Path, "/")
	if p != "" && !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	u.Path = p
	return u, nil
}

// RoutePrefix defaults the route prefix to the external URL's path and
// normalises it to "/" or "/path".
func RoutePrefix(prefix string, externalURL *url.URL) string {
	if prefix == "" {
		prefix = externalURL.Path
	}
	return "/" + strings.Trim(prefix, "/")
}

func webConfigEnablesTLS(path string) bool {
	if path == "" {
		return false
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var c toolkit.Config
	if yaml.Unmarshal(data, &c) != nil {
		return false
	}
	return c.TLSConfig.IsEnabled()
}

func compileCORS(s string) (*regexp.Regexp, error) {
	re, err := regexp.Compile("^(?s:" + s + ")$")
	if err != nil {
		return nil, fmt.Errorf("invalid --web.cors.origin %q: %w", s, err)
	}
	return re, nil
}
