package main

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/server"
)

// TestFlagDefaultsAreServerDefaults: the flags take their defaults from
// server.DefaultOptions (TestFlagDocumentationIsPrometheus then checks them
// against Prometheus's), except --storage.remote.read-sample-limit, whose
// default is spelled "5e7" as Prometheus spells it; it must still be the
// server's.
func TestFlagDefaultsAreServerDefaults(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"--write-documentation"}, &stdout, &stderr), stderr.String())
	ours := parseFlagTable(stdout.String())
	v, err := strconv.ParseFloat(ours["storage.remote.read-sample-limit"], 64)
	require.NoError(t, err)
	require.Equal(t, server.DefaultTuning().RemoteReadSampleLimit, int(v))
}
