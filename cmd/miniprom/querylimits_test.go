package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// apiAnswer is Prometheus's response envelope.
type apiAnswer struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      json.RawMessage
}

func postQuery(t *testing.T, base, path string, form url.Values) (int, apiAnswer) {
	t.Helper()
	code, body, err := fetch(http.MethodPost, base+path, strings.NewReader(form.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	require.NoError(t, err)
	var a apiAnswer
	require.NoError(t, json.Unmarshal([]byte(body), &a), "body: %.300s", body)
	return code, a
}

// TestQueryLimitsProcess sends a real miniprom process the queries that kill
// or pin Prometheus 3.16 and some that exceed the result budget: each is
// refused with a status and Prometheus's error envelope naming the limit,
// and the process keeps serving.
func TestQueryLimitsProcess(t *testing.T) {
	p := startProc(t, "--query.max-result-points=50", "--query.max-response-bytes=2KiB")

	orChain := func(bytes int) string {
		return "up" + strings.Repeat(" or up", (bytes-2)/6)
	}
	for _, tc := range []struct {
		name, path string
		form       url.Values
		status     int
		errorType  string
		limit      string
	}{
		// Prometheus: out of memory, the process dies.
		{"subquery of 3e12 steps", "/api/v1/query", url.Values{"query": {"count_over_time(up[100y:1ms])"}}, 422, "execution", "--query.max-steps"},
		// Each alone is within the limit; the inner one runs across the outer's range too.
		{"nested subqueries", "/api/v1/query", url.Values{"query": {"max_over_time(rate(up[1d:100ms])[1d:1s])"}}, 422, "execution", "--query.max-steps"},
		// As an instant query it is within the limit; across a day's range it is not.
		{"subquery in a range query", "/api/v1/query_range", url.Values{"query": {"max_over_time(up[12h:50ms])"}, "start": {"0"}, "end": {"86400"}, "step": {"60"}}, 422, "execution", "--query.max-steps"},
		// Prometheus: a core busy for 10+ minutes, not stopped by a disconnect.
		{"1 MB of up or up", "/api/v1/query", url.Values{"query": {orChain(1 << 20)}}, 400, "bad_data", "--query.max-length"},
		{"100 KB of up or up", "/api/v1/query", url.Values{"query": {orChain(100 << 10)}}, 400, "bad_data", "--query.max-operators"},
		{"100k nested parentheses", "/api/v1/query", url.Values{"query": {strings.Repeat("(", 100000) + "up" + strings.Repeat(")", 100000)}}, 400, "bad_data", "--query.max-operators"},
		{"300k nested parentheses", "/api/v1/query", url.Values{"query": {strings.Repeat("(", 150000) + "up" + strings.Repeat(")", 150000)}}, 400, "bad_data", "--query.max-length"},
		{"exemplars query parsed by the API", "/api/v1/query_exemplars", url.Values{"query": {orChain(100 << 10)}}, 400, "bad_data", "--query.max-operators"},
		{"result points", "/api/v1/query_range", url.Values{"query": {"vector(1)"}, "start": {"0"}, "end": {"100"}, "step": {"1"}}, 422, "execution", "--query.max-result-points"},
		{"response bytes", "/api/v1/query_range", url.Values{"query": {`label_replace(vector(1), "x", "` + strings.Repeat("x", 3000) + `", "", "")`}, "start": {"0"}, "end": {"1"}, "step": {"1"}}, 422, "execution", "--query.max-response-bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, a := postQuery(t, p.url, tc.path, tc.form)
			require.Equal(t, tc.status, status, a.Error)
			require.Equal(t, "error", a.Status)
			require.Equal(t, tc.errorType, a.ErrorType)
			require.Contains(t, a.Error, tc.limit)
		})
	}

	// Within the limits, queries work as in Prometheus.
	status, a := postQuery(t, p.url, "/api/v1/query_range", url.Values{"query": {"max_over_time(vector(1)[1h:1m])"}, "start": {"0"}, "end": {"40"}, "step": {"1"}})
	require.Equal(t, http.StatusOK, status, a.Error)
	require.False(t, p.exited())
}

// zeros is an endless form body: "query=up&x=000...".
type zeros struct{ started bool }

func (z *zeros) Read(p []byte) (int, error) {
	n := 0
	if !z.started {
		n = copy(p, "query=up&x=")
		z.started = true
	}
	for i := n; i < len(p); i++ {
		p[i] = '0'
	}
	return len(p), nil
}

// TestLargeFormBodyProcess: a 100 MB form body answers 413 in Prometheus's
// error envelope, whether its length is announced or not (Prometheus 3.16:
// 400 "no expression found").
func TestLargeFormBodyProcess(t *testing.T) {
	p := startProc(t)
	for _, length := range []int64{100 << 20, -1} {
		req, err := http.NewRequest(http.MethodPost, p.url+"/api/v1/query", io.LimitReader(&zeros{}, 100<<20))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.ContentLength = length
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "%s", body)
		var a apiAnswer
		require.NoError(t, json.Unmarshal(body, &a))
		require.Equal(t, "error", a.Status)
		require.Contains(t, a.Error, "larger than")
	}
}
