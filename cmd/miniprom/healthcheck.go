package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// healthcheck is `miniprom healthcheck`: it asks a running miniprom's
// /-/healthy (or any URL) over TLS and exits 0 on a 200, 1 otherwise. The
// container image has no shell, curl or wget, so Compose's healthcheck
// runs the binary itself. The client is the one scrape jobs use
// (prometheus/common's HTTP client config), so --ca-file and friends mean
// what tls_config's fields mean in prometheus.yml. Every failure exits 1:
// Docker reserves 2.
func healthcheck(args []string, stdout, stderr io.Writer) int {
	var (
		url      string
		timeout  = model.Duration(5 * time.Second)
		tls      config.TLSConfig
		user     string
		passFile string
	)
	a := kingpin.New("miniprom healthcheck", "Exit 0 if a miniprom at --url answers 200, 1 otherwise (for container health checks).").
		UsageWriter(stdout).ErrorWriter(stderr)
	a.HelpFlag.Short('h')
	a.Flag("url", "URL to GET.").Default("https://localhost:9090/-/healthy").StringVar(&url)
	a.Flag("timeout", "Give up after this long.").Default("5s").SetValue(&timeout)
	a.Flag("ca-file", "CA certificate to verify the server with (tls_config.ca_file); default: the system's.").StringVar(&tls.CAFile)
	a.Flag("cert-file", "Client certificate, for a web config that asks for one (tls_config.cert_file).").StringVar(&tls.CertFile)
	a.Flag("key-file", "Client key (tls_config.key_file).").StringVar(&tls.KeyFile)
	a.Flag("server-name", "Name to verify the server's certificate for (tls_config.server_name).").StringVar(&tls.ServerName)
	a.Flag("basic-auth.username", "User name, for a web config with basic_auth_users.").StringVar(&user)
	a.Flag("basic-auth.password-file", "File holding the password.").StringVar(&passFile)
	exited := false
	a.Terminate(func(int) { exited = true })
	if _, err := a.Parse(args); err != nil {
		fmt.Fprintf(stderr, "healthcheck: %s\n", err)
		return 1
	}
	if exited { // --help
		return 0
	}

	cfg := config.HTTPClientConfig{TLSConfig: tls, FollowRedirects: true, EnableHTTP2: true}
	if user != "" || passFile != "" {
		cfg.BasicAuth = &config.BasicAuth{Username: user, PasswordFile: passFile}
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "healthcheck: %s\n", err)
		return 1
	}
	client, err := config.NewClientFromConfig(cfg, "healthcheck")
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: %s\n", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(timeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: %s\n", err)
		return 1
	}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: %s\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "healthcheck: GET %s: %s: %s\n", url, resp.Status, body)
		return 1
	}
	fmt.Fprintf(stdout, "%s", body)
	return 0
}
