package server_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/miniprom/miniprom/pkg/server"
)

// TestWebConfigChangeWarns: removing basic_auth_users from the web config
// while running switches authentication off at once (exporter-toolkit reads
// the file per request); the operator now hears about it in the log and in
// miniprom_web_config_changes_total. A TLS change is reported the same way.
func TestWebConfigChangeWarns(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	require.NoError(t, err)
	ts := startServer(t, serverConfig{
		webConfigYML: defaultWebConfig + "basic_auth_users:\n  alice: " + string(hash) + "\n",
		options:      func(o *server.Options) { o.WebConfigCheckInterval = 20 * time.Millisecond },
	})
	// Safe to poll: no require inside.
	changes := func(setting string) float64 {
		mfs, err := ts.Registry().Gather()
		if err != nil {
			return -1
		}
		for _, mf := range mfs {
			if mf.GetName() != "miniprom_web_config_changes_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				if m.GetLabel()[0].GetValue() == setting {
					return m.GetCounter().GetValue()
				}
			}
		}
		return -1
	}
	require.Zero(t, changes("authentication"))

	writeFile(t, ts.Dir, "web.yml", defaultWebConfig)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, 1.0, changes("authentication"))
		assert.Contains(c, ts.logs.String(), "authentication is OFF")
	}, 20*time.Second, 20*time.Millisecond)
	require.Zero(t, changes("tls"))

	writeFile(t, ts.Dir, "web.yml", defaultWebConfig+"  min_version: TLS13\n")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, 1.0, changes("tls"))
		assert.Contains(c, ts.logs.String(), "tls_server_config changed")
	}, 20*time.Second, 20*time.Millisecond)
}
