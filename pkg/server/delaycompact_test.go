package server

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/stretchr/testify/require"
)

func TestExcludeBlocksPendingUpload(t *testing.T) {
	// Two blocks that differ in their ULID's last byte.
	block := func(id byte, level int) *tsdb.BlockMeta {
		m := &tsdb.BlockMeta{}
		m.ULID[15] = id
		m.Compaction.Level = level
		return m
	}
	const uploaded, pending = 1, 2
	path := filepath.Join(t.TempDir(), "thanos.shipper.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"version":1,"uploaded":["`+block(uploaded, 1).ULID.String()+`"]}`), 0o600))
	exclude := excludeBlocksPendingUpload(promslog.NewNopLogger(), path)
	require.False(t, exclude(block(uploaded, 1)), "an uploaded block is compacted")
	require.True(t, exclude(block(pending, 1)), "a block not uploaded yet waits")
	require.False(t, exclude(block(pending, 2)), "compacted blocks are never shipped, so never wait")

	missing := excludeBlocksPendingUpload(promslog.NewNopLogger(), filepath.Join(t.TempDir(), "none.json"))
	require.False(t, missing(block(pending, 1)), "without the file nothing waits")
}

// TestDelayCompactInSync fails when upstream's copy of delaycompact.go
// changes (after a Prometheus upgrade): re-sync the copy, then the hash.
func TestDelayCompactInSync(t *testing.T) {
	const want = "2039a0497bd36d6c57cb079c47bfb54bf2db643f9e9f9453f1bbf1f74bb98d62"
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/prometheus/prometheus").Output()
	require.NoError(t, err)
	src, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "cmd", "prometheus", "main.go"))
	require.NoError(t, err)
	text := string(src)
	start := strings.Index(text, "type UploadMeta struct")
	fn := strings.Index(text, "func exludeBlocksPendingUpload")
	require.True(t, start >= 0 && fn > start, "upstream no longer has UploadMeta and exludeBlocksPendingUpload")
	end := fn + strings.Index(text[fn:], "\n}\n") + len("\n}\n")
	sum := sha256.Sum256([]byte(text[start:end]))
	require.Equal(t, want, hex.EncodeToString(sum[:]), "upstream's code behind --storage.tsdb.delay-compact-file.path changed:\n%s", text[start:end])
}
