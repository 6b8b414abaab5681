package server_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/devcert"
)

// victoriaMetrics is a real single-node VictoriaMetrics on loopback, serving
// HTTPS with its own CA and basic auth. It receives remote write at
// /api/v1/write.
type victoriaMetrics struct {
	*peer
	addr   string
	caPEM  []byte
	client *http.Client
}

const vmUser, vmPassword = "vm", "vm-s3cret"

func startVictoriaMetrics(t testing.TB) *victoriaMetrics {
	t.Helper()
	bin := peerBinary(t, "/usr/bin/victoria-metrics", "victoria-metrics")
	dir := t.TempDir()
	ca, err := devcert.NewCA("victoriametrics test CA", time.Hour)
	require.NoError(t, err)
	pair, err := ca.Server([]string{"127.0.0.1"}, time.Hour)
	require.NoError(t, err)
	certFile, keyFile, err := pair.Write(dir, "vm")
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	vm := &victoriaMetrics{
		addr:   "127.0.0.1:" + freePort(t),
		caPEM:  ca.PEM,
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
	}
	vm.peer = startPeer(t, "victoria-metrics", bin, []string{
		"-httpListenAddr=" + vm.addr,
		"-storageDataPath=" + filepath.Join(dir, "data"),
		"-tls", "-tlsCertFile=" + certFile, "-tlsKeyFile=" + keyFile,
		"-httpAuth.username=" + vmUser, "-httpAuth.password=" + vmPassword,
		"-retentionPeriod=1",
		"-search.disableCache",
		"-loggerLevel=WARN",
	}, vm.ready)
	return vm
}

func (vm *victoriaMetrics) ready() bool {
	req, _ := http.NewRequest(http.MethodGet, "https://"+vm.addr+"/health", nil)
	req.SetBasicAuth(vmUser, vmPassword)
	resp, err := vm.client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// terminate stops VictoriaMetrics gracefully, so what it acknowledged is
// flushed to disk, and waits for it to exit.
func (vm *victoriaMetrics) terminate() {
	require.NoError(vm.t, vm.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-vm.done:
	case <-time.After(30 * time.Second):
		vm.t.Fatal("victoria-metrics did not stop within 30s")
	}
	vm.cmd = nil
}

// export returns the raw sample timestamps (ms) of every series matching
// match, keyed by the series' labels in JSON.
func (vm *victoriaMetrics) export(match string) (map[string][]int64, error) {
	q := url.Values{"match[]": {match}}
	req, _ := http.NewRequest(http.MethodGet, "https://"+vm.addr+"/api/v1/export?"+q.Encode(), nil)
	req.SetBasicAuth(vmUser, vmPassword)
	resp, err := vm.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, errStatus(resp.StatusCode)
	}
	out := map[string][]int64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var line struct {
			Metric     map[string]string `json:"metric"`
			Timestamps []int64           `json:"timestamps"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return nil, err
		}
		key, _ := json.Marshal(line.Metric)
		out[string(key)] = append(out[string(key)], line.Timestamps...)
	}
	return out, sc.Err()
}

type errStatus int

func (e errStatus) Error() string { return "HTTP status " + strconv.Itoa(int(e)) }
