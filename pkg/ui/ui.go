// Package ui serves miniprom's expression browser: the single-page app that
// Vite builds into dist/ and the Go build embeds. The bundle is not committed;
// without it the handler serves a page that says how to build it, so a fresh
// clone still compiles and runs.
package ui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// dist holds the Vite output. "all:" keeps the committed dist/.keep, which is
// what lets go:embed compile before the UI has been built.
//
//go:embed all:dist
var dist embed.FS

// Pages are the client-side routes, at Prometheus's own paths so bookmarks and
// habits carry over. Each one gets index.html; the app picks the page from the
// last path segment.
var pages = map[string]bool{
	"/query":       true,
	"/graph":       true,
	"/targets":     true,
	"/rules":       true,
	"/alerts":      true,
	"/status":      true,
	"/flags":       true,
	"/config":      true,
	"/tsdb-status": true,
	// Service discovery and Alertmanager discovery, at Prometheus 3's paths.
	"/service-discovery":      true,
	"/alertmanager-discovery": true,
}

// contentSecurityPolicy keeps the pages to this server's own scripts and
// API. Inline styles are allowed because CodeMirror injects its stylesheet
// and uPlot positions its cursor with style attributes.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'"

const (
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheNone      = "no-cache"
	// Unhashed files other than index.html (the favicon) may be a little stale.
	cacheShort = "public, max-age=3600"
)

// Handler serves the UI with the route prefix already stripped: the page
// paths, /assets/..., /favicon.svg and /favicon.ico. Anything else is a 404.
// A non-empty pageTitle (--web.page-title) is every page's document title,
// as in Prometheus; empty keeps miniprom's own per-page titles.
func Handler(pageTitle string) http.Handler {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		// fs.Sub only fails on an invalid path name, and "dist" is valid.
		panic(err)
	}
	h, err := newHandler(sub, pageTitle)
	if err != nil {
		// The embedded files are fixed at build time; reading them cannot fail.
		panic(err)
	}
	return h
}

// asset is one embedded file. Its gzip form is made on the first request
// that accepts it and kept, so start-up does no compression (it would cost
// tens of milliseconds) and later requests do none either.
type asset struct {
	body        []byte
	contentType string
	etag        string
	cache       string

	gzOnce sync.Once
	gz     []byte // nil when gzip would not help
}

// gzipped returns the compressed body, or nil when compression does not help.
func (a *asset) gzipped() []byte {
	a.gzOnce.Do(func() {
		if compressible(a.contentType) {
			a.gz = gzipped(a.body)
		}
	})
	return a.gz
}

type handler struct {
	index  *asset
	assets map[string]*asset // by URL path, e.g. "/assets/index-abc123.js"
}

func newHandler(fsys fs.FS, pageTitle string) (*handler, error) {
	h := &handler{assets: map[string]*asset{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("read embedded UI file %q: %w", p, err)
		}
		cache := cacheShort
		if strings.HasPrefix(p, "assets/") {
			// Vite puts a content hash in every file name under assets/.
			cache = cacheImmutable
		}
		h.assets["/"+p] = newAsset(p, body, cache)
		return nil
	})
	if err != nil {
		return nil, err
	}
	index := []byte(notBuiltPage)
	if idx, ok := h.assets["/index.html"]; ok {
		index = idx.body
		// index.html is reached through the page paths only.
		delete(h.assets, "/index.html")
	}
	if pageTitle != "" {
		index = withPageTitle(index, pageTitle)
	}
	h.index = newAsset("index.html", index, cacheNone)
	return h, nil
}

// Placeholders in index.html that withPageTitle fills.
const (
	titleTag     = "<title>miniprom</title>"
	pageTitleTag = `<meta name="page-title" content="" />`
)

// withPageTitle puts --web.page-title into index.html: into <title>, so the
// tab shows it before the script runs, and into the page-title meta tag,
// from which the app keeps it as the title of every page. Prometheus pastes
// the flag into its page unescaped; here it is escaped, so it stays text.
func withPageTitle(index []byte, title string) []byte {
	esc := html.EscapeString(title)
	index = bytes.Replace(index, []byte(titleTag), []byte("<title>"+esc+"</title>"), 1)
	return bytes.Replace(index, []byte(pageTitleTag), []byte(`<meta name="page-title" content="`+esc+`" />`), 1)
}

func newAsset(name string, body []byte, cache string) *asset {
	sum := sha256.Sum256(body)
	a := &asset{
		body:        body,
		contentType: contentType(name),
		etag:        `"` + hex.EncodeToString(sum[:8]) + `"`,
		cache:       cache,
	}
	return a
}

func contentType(name string) string {
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func compressible(ct string) bool {
	return strings.HasPrefix(ct, "text/") ||
		strings.Contains(ct, "javascript") ||
		strings.Contains(ct, "json") ||
		strings.Contains(ct, "svg")
}

// gzipped returns body compressed, or nil when that saves nothing.
func gzipped(body []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
	_, _ = zw.Write(body)                                    // writes to a bytes.Buffer do not fail
	_ = zw.Close()
	if buf.Len() >= len(body) {
		return nil
	}
	return buf.Bytes()
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	a := h.assets[r.URL.Path]
	switch {
	case pages[r.URL.Path]:
		a = h.index
		w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
	case r.URL.Path == "/favicon.ico":
		// Browsers ask for /favicon.ico when a page has no icon link (a
		// JSON response, say); every current browser draws an SVG icon.
		a = h.assets["/favicon.svg"]
	}
	if a == nil {
		http.NotFound(w, r)
		return
	}
	serve(w, r, a)
}

func serve(w http.ResponseWriter, r *http.Request, a *asset) {
	hdr := w.Header()
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("Cache-Control", a.cache)
	hdr.Set("X-Content-Type-Options", "nosniff")
	body, etag := a.body, a.etag
	if gz := a.gzipped(); gz != nil {
		hdr.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			hdr.Set("Content-Encoding", "gzip")
			// Each encoding is a different representation, so a different tag.
			body, etag = gz, strings.TrimSuffix(a.etag, `"`)+`-gz"`
		}
	}
	hdr.Set("ETag", etag)
	// ServeContent answers HEAD, If-None-Match and Range requests; a zero
	// modtime keeps it from sending Last-Modified, which the ETag replaces.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip. An
// explicit "gzip" entry wins over "*", and q=0 refuses.
func acceptsGzip(header string) bool {
	star := false
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		switch strings.ToLower(strings.TrimSpace(coding)) {
		case "gzip":
			return qvalue(params) > 0
		case "*":
			star = qvalue(params) > 0
		}
	}
	return star
}

// qvalue returns the q parameter of one Accept-Encoding entry (default 1).
func qvalue(params string) float64 {
	for _, p := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 0
			}
			return q
		}
	}
	return 1
}

// notBuiltPage stands in for index.html when the binary was built without
// the UI bundle. Links are relative so it works under any route prefix.
const notBuiltPage = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>miniprom</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>miniprom</h1>
<p>This binary was built without the web UI. To include it, build the UI and
then the binary from the repository root:</p>
<pre>make ui
make build</pre>
<p>The HTTP API works without it, for example <a href="./api/v1/status/buildinfo">api/v1/status/buildinfo</a>.</p>
</body>
</html>
`
