// Copyright The Prometheus Authors
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
// http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

// Copied from Prometheus v0.316.0 cmd/prometheus/main.go (UploadMeta and
// exludeBlocksPendingUpload), which --storage.tsdb.delay-compact-file.path
// uses and which is in package main there. Changed: the cache of the last
// read file lives in the returned function, under a mutex, instead of in
// package variables; names are unexported. TestDelayCompactInSync fails
// when upstream's copy changes.

package server

import (
	"encoding/json"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/prometheus/tsdb"
)

// uploadMeta is the file a Thanos sidecar's shipper keeps: the ULIDs of
// the blocks it has uploaded.
type uploadMeta struct {
	Uploaded []string `json:"uploaded"`
}

// excludeBlocksPendingUpload keeps level-1 blocks that uploadMetaPath does
// not list as uploaded out of compaction.
func excludeBlocksPendingUpload(logger *slog.Logger, uploadMetaPath string) tsdb.BlockExcludeFilterFunc {
	var (
		mu       sync.Mutex
		lastMeta *uploadMeta // The content of uploadMetaPath from the last time we've opened it.
		lastTime time.Time   // The timestamp at which we stored lastMeta last time.
	)
	return func(meta *tsdb.BlockMeta) bool {
		if meta.Compaction.Level > 1 {
			// Blocks with level > 1 are assumed to be not uploaded, thus no need to delay those.
			// See `storage.tsdb.delay-compact-file.path` flag for detail.
			return false
		}
		mu.Lock()
		defer mu.Unlock()

		// If we have cached uploadMetaPath content that was stored in the last minute the use it.
		if lastMeta != nil &&
			lastTime.After(time.Now().UTC().Add(time.Minute*-1)) {
			return !slices.Contains(lastMeta.Uploaded, meta.ULID.String())
		}

		// We don't have anything cached or it's older than a minute. Try to open and parse the uploadMetaPath path.
		data, err := os.ReadFile(uploadMetaPath)
		if err != nil {
			logger.Warn("cannot open TSDB upload meta file", slog.String("path", uploadMetaPath), slog.Any("err", err))
			return false
		}

		var m uploadMeta
		if err = json.Unmarshal(data, &m); err != nil {
			logger.Warn("cannot parse TSDB upload meta file", slog.String("path", uploadMetaPath), slog.Any("err", err))
			return false
		}

		// We have parsed the uploadMetaPath file, cache it.
		lastMeta = &m
		lastTime = time.Now().UTC()

		return !slices.Contains(m.Uploaded, meta.ULID.String())
	}
}
