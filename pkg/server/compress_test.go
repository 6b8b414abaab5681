package server_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// The API and federation compress as Prometheus does (miniprom only pools
// the gzip writers): the encoding the client asked for first, Vary once,
// and the same content as uncompressed.
func TestResponseCompression(t *testing.T) {
	ts := startServer(t, serverConfig{})
	ts.waitForSelfScrape()
	for _, path := range []string{
		"/api/v1/label/job/values",
		"/api/v1/query?query=up&time=1",
		"/api/v1/status/buildinfo",
		"/federate?match[]=up",
	} {
		t.Run(path, func(t *testing.T) {
			plainResp, plain := ts.getEncoded(path, "identity")
			require.Equal(t, http.StatusOK, plainResp.StatusCode)
			require.Empty(t, plainResp.Header.Get("Content-Encoding"))
			require.NotEmpty(t, plain)
			for _, tc := range []struct{ accept, want string }{
				{"gzip", "gzip"},
				{"br, gzip;q=1, deflate", "deflate"}, // "gzip;q=1" is not the token gzip, for Prometheus either
				{"deflate, gzip", "deflate"},
				{"gzip, deflate", "gzip"},
			} {
				resp, body := ts.getEncoded(path, tc.accept)
				require.Equal(t, tc.want, resp.Header.Get("Content-Encoding"), tc.accept)
				vary := 0
				for _, v := range resp.Header.Values("Vary") {
					if v == "Accept-Encoding" {
						vary++
					}
				}
				require.Equal(t, 1, vary, "Vary: Accept-Encoding once, for %s", tc.accept)
				if path == "/federate?match[]=up" {
					// Sample values move on with every scrape.
					require.Contains(t, body, `up{instance=`)
					continue
				}
				require.Equal(t, plain, body, tc.accept)
			}
		})
	}
}
