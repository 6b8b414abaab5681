// Package web is miniprom's HTTP layer: it places the API, the UI, the
// health and lifecycle endpoints, self-metrics, federation and pprof under
// the route prefix, and serves them through exporter-toolkit, which brings
// TLS, client certificates, basic auth and response headers from the web
// config file.
package web

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"net/url"
	"path"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/route"
)

// appName is how the health endpoints name the server. It is Prometheus's
// wording, so health checks written for Prometheus keep matching.
const appName = "Prometheus Server"

// Options configure the handler.
type Options struct {
	Logger *slog.Logger
	// ExternalURL is where users reach the server; redirects use its path.
	ExternalURL *url.URL
	// RoutePrefix is where every endpoint lives, "/" or "/path".
	RoutePrefix string

	// API registers the /api/v1 routes; it puts the given pooled gzip
	// around the routes it names.
	API interface {
		Register(r *route.Router, compress func(http.HandlerFunc) http.HandlerFunc)
	}
	// Federate serves /federate.
	Federate http.Handler
	// UI serves the expression browser's pages and assets, with the route
	// prefix stripped.
	UI http.Handler

	Ready           *Readiness
	EnableLifecycle bool
	// Reload applies the config file again and reports the outcome.
	Reload func(context.Context) error
	// Quit asks the server to shut down.
	Quit func()

	// Version is served as JSON at /version, as Prometheus does.
	Version any
	// UserAssets is --web.user-assets: a directory served at /user/;
	// empty serves nothing there.
	UserAssets string

	Gatherer   prometheus.Gatherer
	Registerer prometheus.Registerer
}

// MaxRequestBodyBytes bounds every request body (form-encoded queries,
// remote write and OTLP payloads); larger requests fail with 413 or 400
// instead of being read into memory.
const MaxRequestBodyBytes = 32 << 20

// uiPages are the expression browser's pages, at Prometheus's own paths.
var uiPages = []string{
	"/query", "/targets", "/rules", "/alerts", "/status", "/flags", "/config", "/tsdb-status",
	"/service-discovery", "/alertmanager-discovery",
}

// New returns the handler for every endpoint.
func New(o Options) http.Handler {
	m := newMetrics(o.Registerer)
	gz := &gzipPool{}
	prefix := "/" + strings.Trim(o.RoutePrefix, "/")
	if prefix == "/" {
		prefix = ""
	}
	readyf := o.Ready.Wrap

	root := route.New()
	if prefix != "" {
		root.Get("/", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, prefix, http.StatusFound)
		})
	}
	router := root.WithPrefix(prefix).WithInstrumentation(m.instrument)

	router.Get("/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, path.Join(o.ExternalURL.Path, "/query"), http.StatusFound)
	})
	// Prometheus 3 moved the graph page to /query; old links keep working.
	router.Get("/graph", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, path.Join(o.ExternalURL.Path, "/query")+"?"+r.URL.RawQuery, http.StatusFound)
	})
	ui := http.StripPrefix(prefix, o.UI)
	for _, p := range uiPages {
		router.Get(p, ui.ServeHTTP)
	}
	router.Get("/assets/*filepath", ui.ServeHTTP)
	for _, p := range []string{"/favicon.svg", "/favicon.ico"} {
		router.Get(p, ui.ServeHTTP)
	}

	router.Get("/version", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(o.Version)
	})
	// Instrumented as Prometheus's /metrics is: promhttp_metric_handler_*.
	router.Get("/metrics", promhttp.InstrumentMetricHandler(o.Registerer, promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{})).ServeHTTP)
	router.Get("/federate", readyf(gz.handler(o.Federate)))
	if o.UserAssets != "" {
		router.Get("/user/*filepath", route.FileServe(o.UserAssets))
	}

	lifecycle(router, o)
	router.Get("/debug/*subpath", serveDebug)
	router.Post("/debug/*subpath", serveDebug)

	router.Get("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "%s is Healthy.\n", appName)
	})
	router.Head("/-/healthy", func(http.ResponseWriter, *http.Request) {})
	router.Get("/-/ready", readyf(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "%s is Ready.\n", appName)
	}))
	router.Head("/-/ready", readyf(func(http.ResponseWriter, *http.Request) {}))

	mux := http.NewServeMux()
	mux.Handle("/", root)
	av1 := route.New().WithInstrumentation(m.instrumentWithPrefix("/api/v1"))
	o.API.Register(av1, gz.api)
	mux.Handle(prefix+"/api/v1/", http.StripPrefix(prefix+"/api/v1", av1))
	return limitBody(mux, MaxRequestBodyBytes)
}

// lifecycle adds /-/reload and /-/quit: live with --web.enable-lifecycle,
// 403 otherwise, as in Prometheus.
func lifecycle(router *route.Router, o Options) {
	reload := func(w http.ResponseWriter, r *http.Request) {
		if err := o.Reload(r.Context()); err != nil {
			http.Error(w, fmt.Sprintf("failed to reload config: %s", err), http.StatusInternalServerError)
		}
	}
	var quitOnce sync.Once
	quit := func(w http.ResponseWriter, _ *http.Request) {
		first := false
		quitOnce.Do(func() { first = true })
		if !first {
			fmt.Fprint(w, "Termination already in progress.")
			return
		}
		fmt.Fprint(w, "Requesting termination... Goodbye!")
		o.Quit()
	}
	if !o.EnableLifecycle {
		forbidden := func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte("Lifecycle API is not enabled."))
		}
		reload, quit = forbidden, forbidden
	}
	for p, h := range map[string]http.HandlerFunc{"/-/reload": reload, "/-/quit": quit} {
		router.Post(p, h)
		router.Put(p, h)
		router.Get(p, func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusMethodNotAllowed)
			w.Write([]byte("Only POST or PUT requests allowed"))
		})
	}
}

// serveDebug serves Go's profiles at /debug/pprof, as Prometheus does.
func serveDebug(w http.ResponseWriter, req *http.Request) {
	subpath := route.Param(req.Context(), "subpath")
	if subpath == "/pprof" {
		http.Redirect(w, req, req.URL.Path+"/", http.StatusMovedPermanently)
		return
	}
	name, ok := strings.CutPrefix(subpath, "/pprof/")
	if !ok {
		http.NotFound(w, req)
		return
	}
	switch name {
	case "cmdline":
		pprof.Cmdline(w, req)
	case "profile":
		pprof.Profile(w, req)
	case "symbol":
		pprof.Symbol(w, req)
	case "trace":
		pprof.Trace(w, req)
	default:
		req.URL.Path = "/debug/pprof/" + name
		pprof.Index(w, req)
	}
}
