package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/miniprom/miniprom/pkg/devcert"
	"github.com/miniprom/miniprom/pkg/server"
)

// clientWithCert returns an HTTPS client that trusts the server's CA and
// presents pair.
func clientWithCert(t *testing.T, ts *testServer, pair *devcert.Pair) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(ts.CA.Cert)
	cfg := &tls.Config{RootCAs: pool}
	if pair != nil {
		cert, err := tls.X509KeyPair(pair.CertPEM, pair.KeyPEM)
		require.NoError(t, err)
		cfg.Certificates = []tls.Certificate{cert}
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
}

func TestMutualTLS(t *testing.T) {
	clientCA, err := devcert.NewCA("client CA", time.Hour)
	require.NoError(t, err)
	otherCA, err := devcert.NewCA("other CA", time.Hour)
	require.NoError(t, err)
	ts := startServer(t, serverConfig{
		webConfigYML: defaultWebConfig + `
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: client-ca.crt
  client_allowed_sans: [allowed.example]
`,
		files: map[string]string{"client-ca.crt": string(clientCA.PEM)},
	})
	allowed, err := clientCA.Client("allowed.example", time.Hour)
	require.NoError(t, err)
	otherSAN, err := clientCA.Client("denied.example", time.Hour)
	require.NoError(t, err)
	wrongCA, err := otherCA.Client("allowed.example", time.Hour)
	require.NoError(t, err)

	for _, tc := range []struct {
		name string
		pair *devcert.Pair
		ok   bool
	}{
		{"signed by the client CA with an allowed SAN", allowed, true},
		{"no client certificate", nil, false},
		{"SAN not allowed", otherSAN, false},
		{"signed by another CA", wrongCA, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := clientWithCert(t, ts, tc.pair).Get(ts.Base + "/api/v1/label/job/values")
			if !tc.ok {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
		})
	}
}

func TestBasicAuth(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	require.NoError(t, err)
	ts := startServer(t, serverConfig{
		webConfigYML: defaultWebConfig + "basic_auth_users:\n  alice: " + string(hash) + "\n",
	})
	for _, tc := range []struct {
		name, user, pass string
		code             int
	}{
		{"no credentials", "", "", http.StatusUnauthorized},
		{"wrong password", "alice", "nope", http.StatusUnauthorized},
		{"unknown user", "bob", "s3cret", http.StatusUnauthorized},
		{"right credentials", "alice", "s3cret", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, ts.Base+"/api/v1/labels", nil)
			require.NoError(t, err)
			if tc.user != "" {
				req.SetBasicAuth(tc.user, tc.pass)
			}
			resp, err := ts.Client.Do(req)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, tc.code, resp.StatusCode)
			if tc.code == http.StatusUnauthorized {
				require.Equal(t, `Basic`, resp.Header.Get("WWW-Authenticate"))
				require.NotContains(t, string(body), "success")
			}
		})
	}
}

func TestPlainHTTPToTLSPortGetsNoData(t *testing.T) {
	ts := startServer(t, serverConfig{})
	resp, err := http.Get("http://" + ts.Addr().String() + "/api/v1/label/job/values")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.NotContains(t, string(body), "success")
	// The handshake failure is in the structured log, not on bare stderr.
	ts.eventually(func() bool {
		return strings.Contains(ts.logs.String(), `level=WARN`) &&
			strings.Contains(ts.logs.String(), "TLS handshake error") &&
			strings.Contains(ts.logs.String(), "component=web")
	}, "TLS handshake error not logged through slog")
}

func TestTLSVersionsAndHeaders(t *testing.T) {
	ts := startServer(t, serverConfig{
		webConfigYML: defaultWebConfig + `
http_server_config:
  headers:
    X-Frame-Options: deny
    Strict-Transport-Security: max-age=31536000
`,
	})
	pool := x509.NewCertPool()
	pool.AddCert(ts.CA.Cert)

	// TLS 1.1 is refused: the default minimum is TLS 1.2.
	_, err := tls.Dial("tcp", ts.Addr().String(), &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11, MinVersion: tls.VersionTLS10})
	require.Error(t, err)
	conn, err := tls.Dial("tcp", ts.Addr().String(), &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS12})
	require.NoError(t, err)
	require.Equal(t, uint16(tls.VersionTLS12), conn.ConnectionState().Version)
	conn.Close()

	resp, err := ts.Client.Get(ts.Base + "/-/healthy")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, "deny", resp.Header.Get("X-Frame-Options"))
	require.Equal(t, "max-age=31536000", resp.Header.Get("Strict-Transport-Security"))
}

func TestCertificateRotationWithoutRestart(t *testing.T) {
	ts := startServer(t, serverConfig{})
	serial := func() string {
		conn, err := tls.Dial("tcp", ts.Addr().String(), &tls.Config{InsecureSkipVerify: true})
		require.NoError(t, err)
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	before := serial()
	rotated, err := ts.CA.Server([]string{"127.0.0.1"}, time.Hour)
	require.NoError(t, err)
	writeFile(t, ts.Dir, "server.key", string(rotated.KeyPEM))
	writeFile(t, ts.Dir, "server.crt", string(rotated.CertPEM))
	ts.eventually(func() bool { return serial() != before }, "new certificate never served")
	code, _ := ts.get("/-/healthy")
	require.Equal(t, http.StatusOK, code)
}

func TestConnectionLimit(t *testing.T) {
	ts := startServer(t, serverConfig{options: func(o *server.Options) { o.MaxConnections = 2 }})
	pool := x509.NewCertPool()
	pool.AddCert(ts.CA.Cert)
	handshake := func() error {
		d := &net.Dialer{Timeout: time.Second}
		conn, err := tls.DialWithDialer(d, "tcp", ts.Addr().String(), &tls.Config{RootCAs: pool})
		if err == nil {
			conn.Close()
		}
		return err
	}
	// Two idle connections take both slots: the server does not accept a
	// third, so its handshake cannot finish, until a slot is freed.
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", ts.Addr().String())
		require.NoError(t, err)
		held = append(held, c)
	}
	require.Error(t, handshake(), "a third connection was served beyond --web.max-connections")
	for _, c := range held {
		c.Close()
	}
	ts.eventually(func() bool { return handshake() == nil }, "connections never served after the slots were freed")
}

func TestTLSMinVersionAndCipherSuites(t *testing.T) {
	ts := startServer(t, serverConfig{webConfigYML: defaultWebConfig + `
  min_version: TLS12
  max_version: TLS12
  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]
`})
	pool := x509.NewCertPool()
	pool.AddCert(ts.CA.Cert)
	dial := func(cfg *tls.Config) (*tls.Conn, error) {
		cfg.RootCAs = pool
		return tls.Dial("tcp", ts.Addr().String(), cfg)
	}
	_, err := dial(&tls.Config{MinVersion: tls.VersionTLS13})
	require.Error(t, err, "TLS 1.3 accepted despite max_version TLS12")
	_, err = dial(&tls.Config{CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}, MaxVersion: tls.VersionTLS12})
	require.Error(t, err, "a cipher suite outside cipher_suites was accepted")
	conn, err := dial(&tls.Config{MaxVersion: tls.VersionTLS12})
	require.NoError(t, err)
	require.Equal(t, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, conn.ConnectionState().CipherSuite)
	conn.Close()
}

// TestUnservableWebConfigStops: cipher suites HTTP/2 cannot use pass
// exporter-toolkit's validation but cannot be served; Run stops with an
// error naming the web config, and the port does not hang on to clients.
func TestUnservableWebConfigStops(t *testing.T) {
	ts := newServer(t, serverConfig{webConfigYML: defaultWebConfig + `
  max_version: TLS12
  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]
`})
	err := ts.Run(context.Background())
	require.Error(t, err)
	require.Contains(t, err.Error(), "web.yml")
	require.Contains(t, err.Error(), "cipher")
	_, err = net.DialTimeout("tcp", ts.Addr().String(), time.Second)
	require.Error(t, err, "listener left open")
}
