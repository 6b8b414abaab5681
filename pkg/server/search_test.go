package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/server"
)

// TestSearchAPI: with --enable-feature=search-api upstream's search
// endpoints answer from the storage's querier, which has to be a
// storage.Searcher as Prometheus's DB querier is (they answered 503 "search
// not supported by storage" once label lookups went through miniprom's
// cache).
func TestSearchAPI(t *testing.T) {
	ts := startServer(t, serverConfig{
		webConfigYML: "-",
		options: func(o *server.Options) {
			f, err := server.ParseFeatures([]string{"search-api"}, false, promslog.NewNopLogger())
			require.NoError(t, err)
			o.Features = f
		},
	})
	ts.waitForSelfScrape()
	// The answer streams lines: batches of results, then the status.
	search := func(path string) []map[string]any {
		code, body := ts.get(path)
		require.Equal(t, 200, code, body)
		var all []map[string]any
		var status string
		dec := json.NewDecoder(strings.NewReader(body))
		for dec.More() {
			var line struct {
				Results []map[string]any `json:"results"`
				Status  string           `json:"status"`
			}
			require.NoError(t, dec.Decode(&line), body)
			all = append(all, line.Results...)
			status = line.Status
		}
		require.Equal(t, "success", status, body)
		return all
	}
	require.Contains(t, search("/api/v1/search/label_values?label=job"), map[string]any{"value": "miniprom"})
	require.Contains(t, search("/api/v1/search/label_names?search=instan"), map[string]any{"name": "instance"})
}
