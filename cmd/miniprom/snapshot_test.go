package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
)

// remoteWriteHours writes series series of name, a sample every 15s for
// hours up to end, oldest first, ten minutes of every series a request.
func remoteWriteHours(t *testing.T, base, name string, series, hours int, end time.Time) {
	t.Helper()
	r := rand.New(rand.NewPCG(uint64(series), uint64(hours)))
	start := end.Add(-time.Duration(hours) * time.Hour)
	for from := start; from.Before(end); from = from.Add(10 * time.Minute) {
		req := &prompb.WriteRequest{}
		for i := range series {
			ts := prompb.TimeSeries{Labels: []prompb.Label{{Name: "__name__", Value: name}, {Name: "i", Value: fmt.Sprint(i)}}}
			for at := from; at.Before(from.Add(10*time.Minute)) && at.Before(end); at = at.Add(15 * time.Second) {
				ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: at.UnixMilli(), Value: r.Float64() * 1000})
			}
			req.Timeseries = append(req.Timeseries, ts)
		}
		status, body := postWrite(t, base, "application/x-protobuf", req)
		require.Equal(t, http.StatusNoContent, status, body)
	}
}

// answers are the instant and range query answers a restart must keep.
func answers(t *testing.T, base, name string, end time.Time) []string {
	t.Helper()
	var out []string
	for _, q := range []struct {
		path string
		form url.Values
	}{
		{"/api/v1/query", url.Values{"query": {"count_over_time(" + name + "[1d])"}, "time": {fmt.Sprint(end.Unix())}}},
		{"/api/v1/query", url.Values{"query": {"count(" + name + ")"}, "time": {fmt.Sprint(end.Unix())}}},
		{"/api/v1/query_range", url.Values{
			"query": {"sum(rate(" + name + "[5m]))"},
			"start": {fmt.Sprint(end.Add(-5 * time.Hour).Unix())}, "end": {fmt.Sprint(end.Unix())}, "step": {"60"},
		}},
	} {
		status, a := postQuery(t, base, q.path, q.form)
		require.Equal(t, http.StatusOK, status, a.Error)
		out = append(out, sortedResult(t, a.Data))
	}
	return out
}

// sortedResult is a query's data with its series in a fixed order: PromQL
// returns them in the order storage gives, which is creation order in the
// head and label order in blocks.
func sortedResult(t *testing.T, data []byte) string {
	t.Helper()
	var d struct {
		ResultType string            `json:"resultType"`
		Result     []json.RawMessage `json:"result"`
	}
	require.NoError(t, json.Unmarshal(data, &d))
	slices.SortFunc(d.Result, func(a, b json.RawMessage) int { return bytes.Compare(a, b) })
	out, err := json.Marshal(d)
	require.NoError(t, err)
	return string(out)
}

// stop sends sig and waits for the exit.
func (p *proc) stop(t *testing.T, sig os.Signal) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(sig))
	p.wait(t)
}

func (p *proc) wait(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(2 * time.Minute):
		t.Fatal("no exit two minutes after being asked")
	}
}

// TestSnapshotRestart: a few hours of a few hundred series written before
// SIGTERM answer the same queries, byte for byte, after a start with the
// same snapshot directory.
func TestSnapshotRestart(t *testing.T) {
	dir := t.TempDir()
	flags := []string{"--web.enable-remote-write-receiver", "--storage.memory.snapshot-dir=" + dir}
	end := time.Now().Truncate(time.Minute)
	p := startProc(t, flags...)
	remoteWriteHours(t, p.url, "restart_test", 200, 4, end)
	before := answers(t, p.url, "restart_test", end)
	require.Contains(t, before[1], `"200"`, "all series are held")
	p.stop(t, syscall.SIGTERM)
	require.NoError(t, p.err, "exit status; log:\n%s", p.logs.all())
	require.Equal(t, 1, p.logs.count(`msg="Snapshot written"`), p.logs.all())

	p = startProc(t, flags...)
	require.Equal(t, before, answers(t, p.url, "restart_test", end))
	require.Equal(t, 1, p.logs.count(`msg="Snapshot loaded"`), p.logs.all())
}

// TestSnapshotAfterKill: a process killed with SIGKILL writes nothing; the
// next start has what the clean shutdown before it (/-/quit) wrote.
func TestSnapshotAfterKill(t *testing.T) {
	dir := t.TempDir()
	flags := []string{"--web.enable-remote-write-receiver", "--web.enable-lifecycle", "--storage.memory.snapshot-dir=" + dir}
	end := time.Now().Truncate(time.Minute)
	p := startProc(t, flags...)
	remoteWriteHours(t, p.url, "kept", 10, 3, end)
	kept := answers(t, p.url, "kept", end)
	resp, err := http.Post(p.url+"/-/quit", "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	p.wait(t)
	require.NoError(t, p.err, "exit status; log:\n%s", p.logs.all())

	p = startProc(t, flags...)
	lost := prompb.TimeSeries{Labels: []prompb.Label{{Name: "__name__", Value: "lost"}}, Samples: []prompb.Sample{{Value: 1, Timestamp: time.Now().UnixMilli()}}}
	status, body := postWrite(t, p.url, "application/x-protobuf", &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{lost}})
	require.Equal(t, http.StatusNoContent, status, body)
	require.NotEqual(t, "[]", seriesOf(t, p.url, "lost"))
	require.NoError(t, p.cmd.Process.Kill())
	p.wait(t)

	p = startProc(t, flags...)
	require.Equal(t, kept, answers(t, p.url, "kept", end))
	require.Equal(t, "[]", seriesOf(t, p.url, "lost"))
}

func seriesOf(t *testing.T, base, name string) string {
	t.Helper()
	status, a := postQuery(t, base, "/api/v1/series", url.Values{"match[]": {name}, "start": {"0"}})
	require.Equal(t, http.StatusOK, status, a.Error)
	return string(a.Data)
}

// TestSnapshotTruncated: a snapshot block with a truncated chunks file is
// logged as an error naming it and moved aside, and the server serves what
// is left.
func TestSnapshotTruncated(t *testing.T) {
	dir := t.TempDir()
	flags := []string{"--web.enable-remote-write-receiver", "--storage.memory.snapshot-dir=" + dir}
	end := time.Now().Truncate(time.Minute)
	p := startProc(t, flags...)
	remoteWriteHours(t, p.url, "trunc", 20, 5, end)
	p.stop(t, syscall.SIGTERM)
	require.NoError(t, p.err, "exit status; log:\n%s", p.logs.all())
	chunks, err := filepath.Glob(filepath.Join(dir, "current", "*", "chunks", "000001"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(chunks), 2, "blocks and the head's block")
	slices.Sort(chunks)
	fi, err := os.Stat(chunks[0])
	require.NoError(t, err)
	require.NoError(t, os.Truncate(chunks[0], fi.Size()/2))
	block := filepath.Dir(filepath.Dir(chunks[0]))

	p = startProc(t, flags...)
	require.Equal(t, 1, p.logs.count(`level=ERROR`), p.logs.all())
	require.Positive(t, p.logs.count(block), p.logs.all())
	aside, err := os.ReadDir(filepath.Join(dir, "aside"))
	require.NoError(t, err)
	require.Len(t, aside, 1)
	require.Contains(t, aside[0].Name(), "corrupt-"+filepath.Base(block))
	got := answers(t, p.url, "trunc", end)
	require.Contains(t, got[1], `"20"`, "the series of the other blocks are served")
}

// TestSnapshotDiskFull: a snapshot directory on a 512 KiB tmpfs holds a
// small snapshot; the next, too big, fails, the previous one stays intact
// and is what the next start loads, and the process exits 1 after a
// complete shutdown. The tmpfs is mounted in a private mount namespace, so
// the test re-runs itself under unshare(1) as root.
func TestSnapshotDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := os.Getenv("MINIPROM_SNAPSHOT_TMPFS")
	if dir == "" {
		if os.Geteuid() != 0 {
			t.Skip("needs root to mount a small tmpfs in a private mount namespace")
		}
		unshare, err := exec.LookPath("unshare")
		if err != nil {
			t.Skip("needs unshare(1)")
		}
		self, err := os.Executable()
		require.NoError(t, err)
		dir = t.TempDir()
		cmd := exec.Command(unshare, "--mount", "--propagation", "private", "sh", "-c",
			`mount -t tmpfs -o size=512k tmpfs "$0" && exec "$1" -test.run '^TestSnapshotDiskFull$' -test.v`, dir, self)
		cmd.Env = append(os.Environ(), "MINIPROM_SNAPSHOT_TMPFS="+dir)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Contains(t, string(out), "--- PASS: TestSnapshotDiskFull")
		return
	}

	flags := []string{"--web.enable-remote-write-receiver", "--storage.memory.snapshot-dir=" + dir}
	end := time.Now().Truncate(time.Minute)
	p := startProc(t, flags...)
	// Older than what the second process writes: the head takes no sample
	// older than the blocks loaded at start.
	remoteWriteHours(t, p.url, "small", 2, 1, end.Add(-2*time.Hour))
	require.Equal(t, 1, p.logs.count("its snapshots do not survive a reboot"), "a tmpfs is not a disk; log:\n%s", p.logs.all())
	small := answers(t, p.url, "small", end)
	p.stop(t, syscall.SIGTERM)
	require.NoError(t, p.err, "exit status; log:\n%s", p.logs.all())
	written := treeSums(t, dir)
	require.NotEmpty(t, written)

	p = startProc(t, flags...)
	// About 2 MB of chunks: random values do not compress.
	remoteWriteHours(t, p.url, "big", 300, 2, end)
	p.stop(t, syscall.SIGTERM)
	var exit *exec.ExitError
	require.ErrorAs(t, p.err, &exit, "the failed snapshot shows in the exit status; log:\n%s", p.logs.all())
	require.Equal(t, 1, exit.ExitCode())
	require.Equal(t, 1, p.logs.count(`msg="Snapshot failed; the previous snapshot, if any, is kept"`), p.logs.all())
	require.Positive(t, p.logs.count("no space left on device"), p.logs.all())
	require.Equal(t, 1, p.logs.count(`msg="Shut down with errors"`), p.logs.all())
	require.Equal(t, written, treeSums(t, dir), "the previous snapshot is intact, nothing else is left")
	entries, err := os.ReadDir(p.tmp)
	require.NoError(t, err)
	require.Empty(t, entries, "the memory directory is removed")

	p = startProc(t, flags...)
	require.Equal(t, small, answers(t, p.url, "small", end))
}

// treeSums maps each file under dir to its SHA-256.
func treeSums(t *testing.T, dir string) map[string]string {
	t.Helper()
	sums := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		sums[strings.TrimPrefix(path, dir)] = hex.EncodeToString(sum[:])
		return nil
	}))
	return sums
}

// TestSnapshotFlagsRefused: snapshot flags that cannot work stop the start
// with a message naming them.
func TestSnapshotFlagsRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags []string
		want  string
	}{
		{"with on-disk storage", []string{"--storage.memory.snapshot-dir=" + t.TempDir(), "--storage.tsdb.path=" + t.TempDir()}, "with --storage.tsdb.path the TSDB keeps its data on disk itself"},
		{"interval with on-disk storage", []string{"--storage.memory.snapshot-interval=1m", "--storage.tsdb.path=" + t.TempDir()}, "with --storage.tsdb.path"},
		{"interval without a directory", []string{"--storage.memory.snapshot-interval=1m"}, "--storage.memory.snapshot-interval needs --storage.memory.snapshot-dir"},
		{"chunks in the heap", []string{"--storage.memory.snapshot-dir=" + t.TempDir(), "--storage.memory.dir=heap"}, "not in the Go heap"},
		{"a directory that cannot be made", []string{"--storage.memory.snapshot-dir=/proc/miniprom-snapshot"}, "--storage.memory.snapshot-dir=/proc/miniprom-snapshot"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var stdout, stderr bytes.Buffer
			code := run(append([]string{
				"--config.file=" + write(t, dir, "prometheus.yml", "scrape_configs: []\n"),
				"--web.listen-address=127.0.0.1:0",
			}, tc.flags...), &stdout, &stderr)
			require.Equal(t, 1, code, stderr.String())
			require.Contains(t, stderr.String(), tc.want)
			require.NotContains(t, stderr.String(), "Listening on")
		})
	}
}
