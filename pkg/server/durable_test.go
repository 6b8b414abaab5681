package server_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/server"
)

func durable(path string) func(*server.Options) {
	return func(o *server.Options) {
		o.StoragePath = path
		o.EnableRemoteWriteReceiver = true
		o.EnableAdminAPI = true
	}
}

func TestDurableRestartKeepsData(t *testing.T) {
	data := t.TempDir()
	now := time.Now().UnixMilli()

	first := startServer(t, serverConfig{prometheusYML: "global: {}\n", options: durable(data)})
	resp, body := first.postBody("/api/v1/write", rw1Body(t, "kept_metric", now, 7), map[string]string{"Content-Type": rw1ContentType})
	require.Equal(t, http.StatusNoContent, resp.StatusCode, body)
	require.Len(t, first.queryVector("kept_metric"), 1)
	require.NoError(t, first.stop())
	require.DirExists(t, filepath.Join(data, "wal"), "the TSDB writes its WAL in --storage.tsdb.path")

	second := startServer(t, serverConfig{prometheusYML: "global: {}\n", options: durable(data)})
	got := second.queryVector("kept_metric")
	require.Len(t, got, 1, "the sample did not survive the restart")
	require.Equal(t, "7", got[0].Value[1])
	code, r := second.api("/api/v1/status/walreplay")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(r.Data), `"current"`)
}

func TestAdminAPI(t *testing.T) {
	now := time.Now().UnixMilli()
	write := func(ts *testServer, name string) {
		resp, body := ts.postBody("/api/v1/write", rw1Body(t, name, now, 1), map[string]string{"Content-Type": rw1ContentType})
		require.Equal(t, http.StatusNoContent, resp.StatusCode, body)
	}

	for _, tc := range []struct {
		name string
		path string // "" is in memory
	}{{"in memory", ""}, {"on disk", t.TempDir()}} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, serverConfig{prometheusYML: "global: {}\n", options: durable(tc.path)})
			write(ts, "doomed")
			write(ts, "spared")

			code, body := ts.post("/api/v1/admin/tsdb/delete_series?match[]=doomed")
			require.Equal(t, http.StatusNoContent, code, body)
			require.Empty(t, ts.queryVector("doomed"))
			require.Len(t, ts.queryVector("spared"), 1)
			code, body = ts.post("/api/v1/admin/tsdb/clean_tombstones")
			require.Equal(t, http.StatusNoContent, code, body)
			require.Empty(t, ts.queryVector("doomed"))

			code, body = ts.post("/api/v1/admin/tsdb/snapshot")
			var r apiResponse
			require.NoError(t, json.Unmarshal([]byte(body), &r), body)
			if tc.path == "" {
				require.Equal(t, http.StatusInternalServerError, code, body)
				require.Equal(t, "create snapshot: snapshots need on-disk storage (--storage.tsdb.path)", r.Error)
				return
			}
			require.Equal(t, http.StatusOK, code, body)
			var snap struct{ Name string }
			require.NoError(t, json.Unmarshal(r.Data, &snap))
			entries, err := os.ReadDir(filepath.Join(tc.path, "snapshots", snap.Name))
			require.NoError(t, err)
			require.NotEmpty(t, entries, "the snapshot holds the head as a block")
		})
	}

	t.Run("off by default", func(t *testing.T) {
		ts := startServer(t, serverConfig{prometheusYML: "global: {}\n"})
		code, body := ts.post("/api/v1/admin/tsdb/snapshot")
		// Prometheus 3.16 answers errorType "unavailable" with a 500.
		require.Equal(t, http.StatusInternalServerError, code, body)
		require.JSONEq(t, `{"status":"error","errorType":"unavailable","error":"admin APIs disabled"}`, body)
	})
}

// TestDurableRemoteWrite: on disk, the remote write queues tail the TSDB's
// own WAL, as in Prometheus.
func TestDurableRemoteWrite(t *testing.T) {
	receiver := startServer(t, serverConfig{
		prometheusYML: "global: {}\n",
		options:       func(o *server.Options) { o.EnableRemoteWriteReceiver = true },
	})
	data := t.TempDir()
	sender := startServer(t, serverConfig{
		prometheusYML: selfScrapeConfig + "remote_write:\n  - url: " + receiver.Base + "/api/v1/write\n    tls_config:\n      ca_file: receiver-ca.crt\n",
		files:         map[string]string{"receiver-ca.crt": string(receiver.CA.PEM)},
		options:       func(o *server.Options) { o.StoragePath = data },
	})
	sender.waitForSelfScrape()
	receiver.eventually(func() bool { return len(receiver.queryVector(`up{job="miniprom"}`)) == 1 }, "up never reached the receiver")
	matches, err := filepath.Glob(filepath.Join(data, "wal", "0*"))
	require.NoError(t, err)
	require.NotEmpty(t, matches)
}
