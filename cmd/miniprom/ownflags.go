package main

// ownFlags are the flags miniprom has and Prometheus has not. --help shows
// them; /api/v1/status/flags leaves them out, as it lists exactly
// Prometheus's flags and clients compare it with theirs.
func ownFlags() []string {
	return append([]string{"query.cache-size", "storage.label-cache.head", "storage.max-series", "storage.memory.dir",
		"storage.memory.snapshot-dir", "storage.memory.snapshot-interval"}, queryLimitFlagNames()...)
}
