package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSIGTERMDuringLongQuery: SIGTERM while a long query runs cancels it and
// exits 0 with nothing left in $TMPDIR, 20 times out of 20. Before, the
// engine and storage were closed under the running query after the drain
// timeout: SIGSEGV in 4 of 10 tries, otherwise exit 1 with "context
// deadline exceeded".
func TestSIGTERMDuringLongQuery(t *testing.T) {
	for i := range 20 {
		t.Run(fmt.Sprint("try ", i), func(t *testing.T) {
			p := startProc(t)
			// About a minute of CPU with little memory: 10,000 steps over
			// 40 series, each a second or two (upstream's engine checks for
			// cancellation between series). A different query each time, so
			// no cache answers it.
			series := []string{"vector(1)"}
			for j := range 39 {
				series = append(series, fmt.Sprintf(`label_replace(vector(1), "s", "%d", "", "")`, j))
			}
			q := url.Values{
				"query": {fmt.Sprintf("quantile_over_time(0.%d, (%s)[1h:1s])", 100+i, strings.Join(series, " or "))},
				"start": {"0"}, "end": {"10000"}, "step": {"1"},
			}
			answered := make(chan struct{})
			go func() {
				defer close(answered)
				resp, err := http.PostForm(p.url+"/api/v1/query_range", q)
				if err == nil {
					resp.Body.Close()
				}
			}()
			require.EventuallyWithT(t, func(c *assert.CollectT) {
				n, err := metricValue(p.url, "prometheus_engine_queries")
				assert.NoError(c, err)
				assert.Equal(c, "1", n)
			}, 30*time.Second, 10*time.Millisecond, "the query never ran")

			require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
			select {
			case <-p.done:
			case <-time.After(time.Minute):
				t.Fatal("no exit a minute after SIGTERM")
			}
			require.NoError(t, p.err, "exit status; log:\n%s", p.logs.all())
			require.Zero(t, p.logs.count("deadline exceeded"))
			<-answered
			entries, err := os.ReadDir(p.tmp)
			require.NoError(t, err)
			require.Empty(t, entries, "temp state left behind")
		})
	}
}

// TestSignalsDuringStartUp: SIGHUP and SIGTERM while the server is being
// built (storage opening, a WAL replay in durable mode) are handled: the
// SIGHUP does not kill the process, the SIGTERM ends it with exit 0 and
// nothing left behind. Before, both were registered after server.New and
// their default action killed the process.
func TestSignalsDuringStartUp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	p := startRaw(t)
	starting := regexp.MustCompile(`msg="Starting miniprom"`)
	require.Eventually(t, func() bool { return p.logs.find(starting) != nil || p.exited() }, 30*time.Second, time.Millisecond)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		t.Fatal("no exit a minute after SIGTERM")
	}
	require.NoError(t, p.err, "exit status; log:\n%s", p.logs.all())
	entries, err := os.ReadDir(p.tmp)
	require.NoError(t, err)
	require.Empty(t, entries, "temp state left behind")
}
