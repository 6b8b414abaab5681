package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// upstreamFlag is one of Prometheus's flags as its source declares it.
type upstreamFlag struct {
	def    string // the literal Default(...), if any
	isBool bool
}

// prometheusFlagSet reads Prometheus 3.16's flags from its source in the
// module cache: names and defaults of the documented flags from the
// generated reference docs/command-line/prometheus.md, and every flag's
// name, literal default and type from cmd/prometheus/main.go.
func prometheusFlagSet(t *testing.T) (documented map[string]string, all map[string]upstreamFlag) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/prometheus/prometheus").Output()
	require.NoError(t, err)
	dir := strings.TrimSpace(string(out))
	md, err := os.ReadFile(filepath.Join(dir, "docs", "command-line", "prometheus.md"))
	require.NoError(t, err)
	documented = parseFlagTable(string(md))
	src, err := os.ReadFile(filepath.Join(dir, "cmd", "prometheus", "main.go"))
	require.NoError(t, err)
	all = map[string]upstreamFlag{}
	for k, v := range documented {
		all[k] = upstreamFlag{def: v, isBool: v == "true" || v == "false"}
	}
	decl := regexp.MustCompile(`(?:a\.Flag\(|Flag\(a,)\s*"([a-z0-9.-]+)"`)
	def := regexp.MustCompile(`\.\s*Default\("([^"]*)"\)`)
	ms := decl.FindAllSubmatchIndex(src, -1)
	for i, m := range ms {
		end := len(src)
		if i+1 < len(ms) {
			end = ms[i+1][0]
		}
		stmt, name := string(src[m[1]:end]), string(src[m[2]:m[3]])
		f := all[name]
		if d := def.FindStringSubmatch(stmt); d != nil && f.def == "" {
			f.def = d[1]
		}
		f.isBool = f.isBool || strings.Contains(stmt, "BoolVar(") || strings.Contains(stmt, ".Bool()")
		all[name] = f
	}
	// kingpin's own flags, which Prometheus leaves out of its flag list.
	delete(all, "help")
	delete(all, "version")
	delete(documented, "help")
	delete(documented, "version")
	require.Greater(t, len(all), 70, "found too few flags in %s; has the source layout changed?", dir)
	return documented, all
}

// parseFlagTable reads documentcli's markdown table: flag name and default.
func parseFlagTable(md string) map[string]string {
	row := regexp.MustCompile(`(?m)^\| (?:<code[^>]*>-h</code>, )?<code class="text-nowrap">--([a-z0-9.-]+)</code>.*\| (?:` + "`" + `([^` + "`" + `]*)` + "`" + `)? \|$`)
	flags := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(md, -1) {
		flags[m[1]] = m[2]
	}
	return flags
}

// Where miniprom's documented defaults differ from Prometheus's, on purpose.
var intendedDefaultDifferences = map[string]string{
	// Empty means in memory, miniprom's point; a directory means on disk.
	"storage.tsdb.path": "",
}

// TestFlagDocumentationIsPrometheus compares miniprom's
// --write-documentation with Prometheus 3.16's reference: the same
// documented flags with the same defaults.
func TestFlagDocumentationIsPrometheus(t *testing.T) {
	documented, _ := prometheusFlagSet(t)
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"--write-documentation"}, &stdout, &stderr), stderr.String())
	ours := parseFlagTable(stdout.String())
	delete(ours, "help")
	delete(ours, "version")
	for _, f := range newCommandLine(io.Discard, io.Discard).own {
		require.Contains(t, ours, f)
		delete(ours, f)
	}
	require.ElementsMatch(t, keys(documented), keys(ours))
	for name, def := range documented {
		if want, ok := intendedDefaultDifferences[name]; ok {
			def = want
		}
		assert.Equal(t, def, ours[name], "default of --%s", name)
	}
}

// flagSamples are values for the flags whose default is empty, since an
// empty value is not valid for every type (Prometheus refuses
// --storage.tsdb.retention.time= as well).
var flagSamples = map[string]string{
	"web.config.file":                           "",
	"web.external-url":                          "http://localhost:9090/",
	"web.route-prefix":                          "/",
	"web.user-assets":                           "assets",
	"storage.tsdb.retention.time":               "15d",
	"storage.tsdb.retention.size":               "512MB",
	"storage.tsdb.delay-compact-file.path":      "",
	"storage.tsdb.max-block-duration":           "31d",
	"storage.tsdb.max-block-chunk-segment-size": "512MB",
	"storage.tsdb.wal-segment-size":             "128MB",
	"storage.agent.wal-segment-size":            "128MB",
	"storage.agent.wal-truncate-frequency":      "2h",
	"enable-feature":                            "promql-experimental-functions",
	"storage.agent.wal-compression-type":        "snappy",
	"storage.tsdb.wal-compression-type":         "snappy",
}

// TestEveryPrometheusFlagParses runs miniprom once per Prometheus 3.16 flag,
// given with its default value (or a sample, flagSamples), and a missing
// config file: each run must get past the command line and fail on the
// config file, never with a parse error.
func TestEveryPrometheusFlagParses(t *testing.T) {
	_, all := prometheusFlagSet(t)
	missing := filepath.Join(t.TempDir(), "missing.yml")
	for _, name := range flagNames(all) {
		f := all[name]
		value, ok := f.def, true
		if value == "" && f.isBool {
			value = "false"
		}
		if value == "" {
			value, ok = flagSamples[name]
		}
		require.True(t, ok, "--%s has no default: add a sample value to flagSamples", name)
		args := []string{"--" + name + "=" + value, "--config.file=" + missing}
		switch {
		case name == "config.file":
			args = args[1:]
		case f.isBool && value == "true":
			args[0] = "--" + name
		case f.isBool: // kingpin takes --no-<flag>, not --<flag>=false
			args[0] = "--no-" + name
		}
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(args, &stdout, &stderr)
			require.NotContains(t, stderr.String(), "Error parsing command line arguments")
			require.Equal(t, 1, code, stderr.String())
			require.Contains(t, stderr.String(), "missing.yml", "got as far as the config file")
		})
	}
}

func TestIgnoredFlagIsLoggedOnce(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{
		"--web.console.templates=consoles", "--storage.tsdb.min-block-duration=2h",
		"--config.file=" + filepath.Join(t.TempDir(), "missing.yml"),
	}, &stdout, &stderr)
	require.Equal(t, 1, code)
	log := stderr.String()
	for _, f := range []string{"--web.console.templates", "--storage.tsdb.min-block-duration"} {
		require.Equal(t, 1, strings.Count(log, "flag="+f), log)
	}
	require.Contains(t, log, "ignored")
	// Flags left at their defaults are not reported.
	require.NotContains(t, log, "--web.console.libraries")
}

func TestEnableFeature(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		wantCode    int
		wantLog     string
	}{
		{"unknown names the feature", "promql-experimental-functions,no-such-feature", 1, `unknown feature \"no-such-feature\"`},
		{"storage format refused", "histograms-st-encoding", 1, `feature \"histograms-st-encoding\" in --enable-feature is not supported by miniprom`},
		{"xor2 accepted", "xor2-encoding", 1, "changes the default for the storage.tsdb.chunk_encoding.floats config setting to xor2"},
		{"exclusive OTLP delta modes", "otlp-deltatocumulative,otlp-native-delta-ingestion", 1, "at the same time"},
		{"known is logged", "promql-experimental-functions", 1, "Experimental PromQL functions enabled."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run([]string{"--enable-feature=" + tc.value, "--config.file=" + filepath.Join(t.TempDir(), "missing.yml")}, &stdout, &stderr)
			require.Equal(t, tc.wantCode, code)
			require.Contains(t, stderr.String(), tc.wantLog)
		})
	}
}

func TestAgentModeRefused(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.Equal(t, 1, run([]string{"--agent", "--config.file=x.yml"}, &stdout, &stderr))
	require.Contains(t, stderr.String(), "no agent mode")
}

// TestStatusFlagsIsPrometheusSet starts miniprom in-process and checks that
// /api/v1/status/flags lists exactly Prometheus 3.16's flags, without
// kingpin's help-long, help-man and completion-* flags.
func TestStatusFlagsIsPrometheusSet(t *testing.T) {
	_, all := prometheusFlagSet(t)
	dir := t.TempDir()
	cfg := write(t, dir, "prometheus.yml", "global:\n  scrape_interval: 1m\n")
	stderr := &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run([]string{
			"--config.file=" + cfg, "--web.listen-address=127.0.0.1:0", "--web.enable-lifecycle",
			"--storage.tsdb.min-block-duration=2h",
		}, &bytes.Buffer{}, stderr)
	}()
	listening := regexp.MustCompile(`msg="Listening on".* address=(127\.0\.0\.1:\d+)`)
	var addr string
	require.Eventually(t, func() bool {
		m := listening.FindStringSubmatch(stderr.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	}, 30*time.Second, 20*time.Millisecond, "never listened")
	t.Cleanup(func() {
		resp, err := http.Post("http://"+addr+"/-/quit", "", nil)
		if err == nil {
			resp.Body.Close()
		}
		<-done
	})

	_, raw, err := fetch(http.MethodGet, "http://"+addr+"/api/v1/status/flags", nil, nil)
	require.NoError(t, err)
	var body struct {
		Data map[string]string `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(raw), &body))
	require.ElementsMatch(t, flagNames(all), keys(body.Data))
	require.Equal(t, "2h", body.Data["storage.tsdb.min-block-duration"])
	require.Equal(t, "30s", body.Data["config.auto-reload-interval"])

	// And against a real Prometheus 3.16's answer, when there is one.
	ref := os.Getenv("MINIPROM_REF_PROMETHEUS")
	if ref == "" {
		return
	}
	refPort := freeLoopbackPort(t)
	cmd := exec.Command(ref, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address=127.0.0.1:"+refPort)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var refFlags struct {
		Data map[string]string `json:"data"`
	}
	require.Eventually(t, func() bool {
		code, raw, err := fetch(http.MethodGet, "http://127.0.0.1:"+refPort+"/api/v1/status/flags", nil, nil)
		return err == nil && code == http.StatusOK && json.Unmarshal([]byte(raw), &refFlags) == nil
	}, 60*time.Second, 100*time.Millisecond, "Prometheus never answered")
	require.ElementsMatch(t, keys(refFlags.Data), keys(body.Data))
}

func keys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// lockedBuffer is a bytes.Buffer safe for a writer and a reader.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func flagNames(m map[string]upstreamFlag) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func freeLoopbackPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}
