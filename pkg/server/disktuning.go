package server

import "github.com/miniprom/miniprom/pkg/storage"

// diskTuning is the on-disk TSDB's tuning: the --storage.tsdb.* flags and
// the --enable-feature options that tune it.
func (o *Options) diskTuning() storage.DiskTuning {
	d := o.Tuning.TSDB
	d.MemorySnapshotOnShutdown = o.Features.MemorySnapshotOnShutdown
	d.DelayedCompaction = o.Features.DelayedCompaction
	d.UncachedIO = o.Features.UncachedIO
	d.FastStartup = o.Features.FastStartup
	if o.Tuning.DelayCompactFile != "" && o.StoragePath != "" {
		o.Logger.Info("Compactions will be delayed for blocks not marked as uploaded in the file tracking uploads", "path", o.Tuning.DelayCompactFile)
		d.CompactionExclude = excludeBlocksPendingUpload(o.Logger, o.Tuning.DelayCompactFile)
	}
	return d
}
