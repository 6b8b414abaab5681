package api

import (
	"net/http"

	"github.com/prometheus/common/route"

	"github.com/miniprom/miniprom/pkg/querycache"
)

// Wrapper is what miniprom puts around one of upstream's route handlers.
type Wrapper func(http.HandlerFunc) http.HandlerFunc

// Register adds the API's routes to r, which must be mounted at /api/v1
// under the route prefix. compress is the HTTP layer's pooled gzip, for the
// routes that table marks.
func (a *API) Register(r *route.Router, compress func(http.HandlerFunc) http.HandlerFunc) {
	wrappers := a.wrappers(compress)
	a.v1.Register(r.WithInstrumentation(func(name string, h http.HandlerFunc) http.HandlerFunc {
		ws := wrappers[name]
		for i := len(ws) - 1; i >= 0; i-- {
			h = ws[i](h)
		}
		return h
	}))
}

// wrappers is every wrapper miniprom puts around upstream's /api/v1 routes,
// by the name upstream registers each route under (its path below /api/v1);
// the first wrapper of a route is the outermost. Routes not listed are
// upstream's as they are.
//
// compress goes on the routes that upstream registers behind its
// CompressionHandler and that dashboards call on every load or refresh.
// Others (remote read and write, OTLP, server-sent events) have their own
// encodings or need to flush, and keep upstream's handling.
func (a *API) wrappers(compress Wrapper) map[string][]Wrapper {
	w := map[string][]Wrapper{
		"/query":              {compress},
		"/query_range":        {compress, statsRequested},
		"/query_exemplars":    {compress},
		"/labels":             {compress},
		"/label/:name/values": {compress},
		"/series":             {compress},
		"/metadata":           {compress},
		"/targets":            {compress},
		"/rules":              {compress},
		"/alerts":             {compress},
		"/format_query":       {compress},
		"/parse_query":        {compress},
	}
	// With a receiver off, upstream answers 404 on its route.
	if a.receiver != nil {
		w["/write"] = []Wrapper{a.receiver.checkRemoteWrite}
	}
	if a.otlp != nil {
		w["/otlp/v1/metrics"] = []Wrapper{a.otlp.checkOTLP}
	}
	return w
}

// statsRequested tells the results cache which range queries answer with
// statistics (stats=); the cache decides what that means for it.
func statsRequested(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("stats") != "" {
			r = r.WithContext(querycache.StatsRequested(r.Context()))
		}
		h(w, r)
	}
}
