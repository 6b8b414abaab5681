package ui

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

var builtFS = fstest.MapFS{
	"index.html":              {Data: []byte(`<!doctype html><script type="module" src="./assets/index-abc123.js"></script>`)},
	"assets/index-abc123.js":  {Data: []byte(strings.Repeat("console.log('miniprom');\n", 100))},
	"assets/index-abc123.css": {Data: []byte(strings.Repeat("body{margin:0}\n", 100))},
	"favicon.svg":             {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`)},
	".keep":                   {Data: nil},
}

func get(t *testing.T, h http.Handler, method, target, acceptEncoding string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatalf("gzip reader: %v", err)
		}
		r = zr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}

func TestHandler(t *testing.T) {
	h, err := newHandler(builtFS, "")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, method, path, acceptEncoding string
		wantStatus                         int
		wantType, wantCache, wantEncoding  string
		wantBody                           string
	}{
		{name: "query page", path: "/query", wantStatus: 200, wantType: "text/html; charset=utf-8", wantCache: "no-cache", wantBody: "index-abc123.js"},
		{name: "graph page is the query page", path: "/graph", wantStatus: 200, wantType: "text/html; charset=utf-8", wantCache: "no-cache", wantBody: "index-abc123.js"},
		{name: "tsdb status page", path: "/tsdb-status", wantStatus: 200, wantType: "text/html; charset=utf-8", wantCache: "no-cache"},
		{name: "service discovery page", path: "/service-discovery", wantStatus: 200, wantType: "text/html; charset=utf-8", wantCache: "no-cache"},
		{name: "alertmanager discovery page", path: "/alertmanager-discovery", wantStatus: 200, wantType: "text/html; charset=utf-8", wantCache: "no-cache"},
		{name: "hashed script", path: "/assets/index-abc123.js", wantStatus: 200, wantType: "text/javascript; charset=utf-8", wantCache: "public, max-age=31536000, immutable", wantBody: "console.log"},
		{name: "hashed script gzipped", path: "/assets/index-abc123.js", acceptEncoding: "br, gzip, deflate", wantStatus: 200, wantType: "text/javascript; charset=utf-8", wantEncoding: "gzip", wantBody: "console.log"},
		{name: "gzip refused with q=0", path: "/assets/index-abc123.css", acceptEncoding: "gzip;q=0, *", wantStatus: 200, wantType: "text/css; charset=utf-8", wantEncoding: ""},
		{name: "gzip through star", path: "/assets/index-abc123.css", acceptEncoding: "*", wantStatus: 200, wantEncoding: "gzip"},
		{name: "favicon", path: "/favicon.svg", wantStatus: 200, wantType: "image/svg+xml", wantCache: "public, max-age=3600"},
		{name: "favicon.ico is the SVG icon", path: "/favicon.ico", wantStatus: 200, wantType: "image/svg+xml", wantBody: "<svg"},
		{name: "head", method: http.MethodHead, path: "/query", wantStatus: 200, wantType: "text/html; charset=utf-8"},
		{name: "index.html is not a page", path: "/index.html", wantStatus: 404},
		{name: "root is the web package's redirect", path: "/", wantStatus: 404},
		{name: "unknown page", path: "/nope", wantStatus: 404},
		{name: "page subpath", path: "/query/x", wantStatus: 404},
		{name: "missing asset", path: "/assets/gone-123.js", wantStatus: 404},
		{name: "hidden placeholder", path: "/.keep", wantStatus: 404},
		{name: "post", method: http.MethodPost, path: "/query", wantStatus: 405},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			resp := get(t, h, method, tc.path, tc.acceptEncoding)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if tc.wantType != "" && resp.Header.Get("Content-Type") != tc.wantType {
				t.Errorf("Content-Type = %q, want %q", resp.Header.Get("Content-Type"), tc.wantType)
			}
			if tc.wantCache != "" && resp.Header.Get("Cache-Control") != tc.wantCache {
				t.Errorf("Cache-Control = %q, want %q", resp.Header.Get("Cache-Control"), tc.wantCache)
			}
			if got := resp.Header.Get("Content-Encoding"); tc.wantStatus == 200 && got != tc.wantEncoding {
				t.Errorf("Content-Encoding = %q, want %q", got, tc.wantEncoding)
			}
			if csp := resp.Header.Get("Content-Security-Policy"); (tc.wantType == "text/html; charset=utf-8") != strings.Contains(csp, "script-src 'self'") {
				t.Errorf("Content-Security-Policy = %q: want one on pages only", csp)
			}
			if got := body(t, resp); !strings.Contains(got, tc.wantBody) {
				t.Errorf("body %.80q does not contain %q", got, tc.wantBody)
			}
		})
	}
}

func TestHandlerConditionalGet(t *testing.T) {
	h, err := newHandler(builtFS, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, enc := range []string{"", "gzip"} {
		first := get(t, h, http.MethodGet, "/assets/index-abc123.js", enc)
		etag := first.Header.Get("ETag")
		if etag == "" {
			t.Fatalf("encoding %q: no ETag", enc)
		}
		req := httptest.NewRequest(http.MethodGet, "/assets/index-abc123.js", nil)
		req.Header.Set("Accept-Encoding", enc)
		req.Header.Set("If-None-Match", etag)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotModified {
			t.Errorf("encoding %q: If-None-Match status = %d, want 304", enc, rec.Code)
		}
	}
}

func TestHandlerWithoutBundle(t *testing.T) {
	h, err := newHandler(fstest.MapFS{".keep": {Data: nil}}, "")
	if err != nil {
		t.Fatal(err)
	}
	resp := get(t, h, http.MethodGet, "/query", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	if got := body(t, resp); !strings.Contains(got, "make ui") {
		t.Errorf("placeholder page does not say how to build the UI: %q", got)
	}
}

// TestEmbedded checks the real embedded bundle, built or not: either way the
// query page must be served, and carry --web.page-title.
func TestEmbedded(t *testing.T) {
	resp := get(t, Handler(""), http.MethodGet, "/query", "gzip")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	if got := body(t, resp); !bytes.Contains([]byte(got), []byte("<html")) {
		t.Errorf("query page is not HTML: %.200q", got)
	}
	got := body(t, get(t, Handler("Lab"), http.MethodGet, "/query", ""))
	if !strings.Contains(got, "<title>Lab</title>") {
		t.Errorf("query page does not have the page title in <title>: %q", got)
	}
	if _, err := fs.Stat(dist, "dist/index.html"); err == nil && !strings.Contains(got, `<meta name="page-title" content="Lab" />`) {
		// Without it the app would title its pages "Query · miniprom".
		t.Errorf("the built index.html has lost its page-title meta tag: %q", got)
	}
}

func TestPageTitle(t *testing.T) {
	index := "<!doctype html><head>" + pageTitleTag + titleTag + `</head><script type="module" src="./assets/index-abc123.js"></script>`
	fsys := fstest.MapFS{"index.html": {Data: []byte(index)}}
	for _, tc := range []struct {
		name, title, want string
	}{
		{"none keeps miniprom's", "", pageTitleTag + titleTag},
		{"plain", "Lab Prometheus", `<meta name="page-title" content="Lab Prometheus" /><title>Lab Prometheus</title>`},
		{"markup stays text", `<b>"Lab" & co</b>`,
			`<meta name="page-title" content="&lt;b&gt;&#34;Lab&#34; &amp; co&lt;/b&gt;" /><title>&lt;b&gt;&#34;Lab&#34; &amp; co&lt;/b&gt;</title>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := newHandler(fsys, tc.title)
			if err != nil {
				t.Fatal(err)
			}
			for _, page := range []string{"/query", "/targets"} {
				if got := body(t, get(t, h, http.MethodGet, page, "")); !strings.Contains(got, tc.want) {
					t.Errorf("%s: body %q does not contain %q", page, got, tc.want)
				}
			}
		})
	}
}
