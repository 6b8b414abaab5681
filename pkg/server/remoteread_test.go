package server_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/server"
)

// TestRemoteReadFromRealPrometheus keeps recent samples in miniprom and
// reads older ones back from Debian's Prometheus through remote_read, the
// pairing with a long-term store: queries see both, merged; read_recent and
// required_matchers decide when the remote is asked, and a reload changes
// that.
func TestRemoteReadFromRealPrometheus(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "prometheus.yml", "global: {}\n")
	addr := startDebianPrometheus(t, dir, "--web.enable-remote-write-receiver")
	plain := &http.Client{Timeout: 10 * time.Second}

	// The long-term store holds two samples from three hours ago.
	now := time.Now()
	old := now.Add(-3 * time.Hour).UnixMilli()
	for _, ts := range []int64{old, old + 60_000} {
		resp, err := plain.Post("http://"+addr+"/api/v1/write", rw1ContentType, bytes.NewReader(rw1Body(t, "archived_metric", ts, 1)))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
	}

	config := func(extra string) string {
		return fmt.Sprintf("global: {}\nremote_read:\n  - url: http://%s/api/v1/read\n    read_recent: true\n%s", addr, extra)
	}
	ts := startServer(t, serverConfig{
		prometheusYML: config(""),
		options:       func(o *server.Options) { o.EnableRemoteWriteReceiver = true },
	})
	// miniprom holds one recent sample of the same series.
	resp, body := ts.postBody("/api/v1/write", rw1Body(t, "archived_metric", now.UnixMilli(), 1), map[string]string{"Content-Type": rw1ContentType})
	require.Equal(t, http.StatusNoContent, resp.StatusCode, body)

	count := func() string {
		got := ts.queryVector(fmt.Sprintf("count_over_time(archived_metric[4h] @ %d)", now.Unix()+1))
		if len(got) == 0 {
			return "none"
		}
		return got[0].Value[1].(string)
	}
	require.Equal(t, "3", count(), "two samples read back, one local, merged")

	// A required matcher the query lacks keeps the remote out of it.
	writeFile(t, ts.Dir, "prometheus.yml", config("    required_matchers: {tier: archive}\n"))
	require.NoError(t, ts.Reload(context.Background()))
	require.Equal(t, "1", count(), "only the local sample")

	// Without read_recent the remote answers only for times before the
	// oldest local sample: the two old ones.
	writeFile(t, ts.Dir, "prometheus.yml", fmt.Sprintf("global: {}\nremote_read:\n  - url: http://%s/api/v1/read\n", addr))
	require.NoError(t, ts.Reload(context.Background()))
	require.Equal(t, "3", count())
}
