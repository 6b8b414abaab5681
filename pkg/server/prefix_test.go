package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/server"
)

func noRedirects(c *http.Client) *http.Client {
	cc := *c
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cc
}

func TestRoutePrefix(t *testing.T) {
	for _, tc := range []struct {
		name, externalURL, routePrefix string
		wantBase, wantHome             string
	}{
		{"external URL path becomes the prefix", "https://example.com/prom/", "", "/prom", "/prom/query"},
		{"explicit prefix behind a path-stripping proxy", "https://example.com/prom/", "/", "", "/prom/query"},
		{"explicit prefix", "https://example.com/", "/inner", "/inner", "/query"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, serverConfig{options: func(o *server.Options) {
				o.ExternalURL, o.RoutePrefix = tc.externalURL, tc.routePrefix
			}})
			host := strings.TrimSuffix(ts.Base, tc.wantBase)
			require.Equal(t, host+tc.wantBase, ts.Base)
			c := noRedirects(ts.Client)

			for _, p := range []string{"/-/healthy", "/-/ready", "/metrics", "/api/v1/labels", "/federate?match[]=up", "/debug/pprof/", "/query", "/version"} {
				resp, err := c.Get(ts.Base + p)
				require.NoError(t, err)
				resp.Body.Close()
				require.Equal(t, http.StatusOK, resp.StatusCode, p)
			}
			resp, err := c.Get(ts.Base + "/")
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusFound, resp.StatusCode)
			require.Equal(t, tc.wantHome, resp.Header.Get("Location"))

			resp, err = c.Get(ts.Base + "/graph?g0.expr=up&g0.tab=1")
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusFound, resp.StatusCode)
			require.Equal(t, tc.wantHome+"?g0.expr=up&g0.tab=1", resp.Header.Get("Location"))

			if tc.wantBase != "" {
				// Outside the prefix: the root redirects in, the rest is 404.
				resp, err = c.Get(host + "/")
				require.NoError(t, err)
				resp.Body.Close()
				require.Equal(t, http.StatusFound, resp.StatusCode)
				require.Equal(t, tc.wantBase, resp.Header.Get("Location"))
				resp, err = c.Get(host + "/api/v1/labels")
				require.NoError(t, err)
				resp.Body.Close()
				require.Equal(t, http.StatusNotFound, resp.StatusCode)
			}
		})
	}
}

func TestExternalURLDefaults(t *testing.T) {
	for _, tc := range []struct {
		name, raw, webConfig, want string
	}{
		{"given", "https://example.com/prom/", "", "https://example.com/prom"},
		{"given without scheme path", "https://example.com", "", "https://example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := server.ExternalURL(tc.raw, "0.0.0.0:9090", tc.webConfig)
			require.NoError(t, err)
			require.Equal(t, tc.want, u.String())
		})
	}
	_, err := server.ExternalURL(`"https://example.com"`, "0.0.0.0:9090", "")
	require.Error(t, err)

	// Derived: https when the web config enables TLS.
	ts := startServer(t, serverConfig{})
	require.Equal(t, "https", ts.ExternalURL().Scheme)
	plain := startServer(t, serverConfig{webConfigYML: "-"})
	require.Equal(t, "http", plain.ExternalURL().Scheme)
	code, _ := plain.get("/-/healthy")
	require.Equal(t, http.StatusOK, code)
}
