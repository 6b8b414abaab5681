package web

import (
	"context"
	"log/slog"
	"os"
	"reflect"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	toolkit "github.com/prometheus/exporter-toolkit/web"
	"go.yaml.in/yaml/v2"
)

// DefaultWebConfigCheckInterval is how often the web config file is checked
// for changes.
const DefaultWebConfigCheckInterval = 10 * time.Second

// webConfigWatch tells the operator when the web config file's
// authentication or TLS settings change while miniprom runs.
// exporter-toolkit reads the file again on every request and new
// connection, so such an edit takes effect at once, and removing
// basic_auth_users would otherwise switch authentication off silently.
type webConfigWatch struct {
	path    string
	logger  *slog.Logger
	changes *prometheus.CounterVec
	last    webConfigView
}

// webConfigView is the part of a web config the watch compares.
type webConfigView struct {
	valid bool
	tls   toolkit.TLSConfig
	users map[string]string
}

func newWebConfigWatch(path string, logger *slog.Logger, reg prometheus.Registerer) *webConfigWatch {
	w := &webConfigWatch{
		path:   path,
		logger: logger,
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "miniprom_web_config_changes_total",
			Help: "Changes to the web config file's authentication or TLS settings seen while running; they take effect at once.",
		}, []string{"setting"}),
	}
	for _, s := range []string{"authentication", "tls", "validity"} {
		w.changes.WithLabelValues(s)
	}
	if reg != nil {
		reg.MustRegister(w.changes)
	}
	w.last = w.read()
	return w
}

func (w *webConfigWatch) read() webConfigView {
	data, err := os.ReadFile(w.path)
	if err != nil {
		return webConfigView{}
	}
	var c toolkit.Config
	if yaml.UnmarshalStrict(data, &c) != nil {
		return webConfigView{}
	}
	v := webConfigView{valid: true, tls: c.TLSConfig, users: map[string]string{}}
	for u, h := range c.Users {
		v.users[u] = string(h)
	}
	return v
}

// run checks the file every interval until ctx ends.
func (w *webConfigWatch) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.check()
		}
	}
}

func (w *webConfigWatch) check() {
	now := w.read()
	old := w.last
	w.last = now
	if now.valid != old.valid {
		w.changes.WithLabelValues("validity").Inc()
		if !now.valid {
			w.logger.Warn("The web config file is now unreadable or invalid: new connections and requests will fail", "file", w.path)
		} else {
			w.logger.Warn("The web config file is valid again", "file", w.path)
		}
	}
	if !now.valid || !old.valid {
		return
	}
	if !reflect.DeepEqual(now.users, old.users) {
		w.changes.WithLabelValues("authentication").Inc()
		switch {
		case len(now.users) == 0:
			w.logger.Warn("The web config file no longer has basic_auth_users: authentication is OFF from now on", "file", w.path)
		case len(old.users) == 0:
			w.logger.Warn("The web config file now has basic_auth_users: authentication is on from now on", "file", w.path, "users", len(now.users))
		default:
			w.logger.Warn("The web config file's basic_auth_users changed; they apply from now on", "file", w.path, "users", len(now.users))
		}
	}
	if !reflect.DeepEqual(now.tls, old.tls) {
		w.changes.WithLabelValues("tls").Inc()
		w.logger.Warn("The web config file's tls_server_config changed; it applies to new connections from now on", "file", w.path)
	}
}
