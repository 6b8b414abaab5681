package storage

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// pin is a piece of upstream source the label cache's exactness rests on:
// the function starting with start in file (under the prometheus module),
// its text's hash, and what to re-check when it changed.
type pin struct {
	file, start, sha256, recheck string
}

// headHookPins are the head's calls of its series lifecycle hooks and the
// postings changes around them, which headGen (headgen.go) relies on.
var headHookPins = []pin{
	{"tsdb/head.go", "func (h *Head) getOrCreateWithOptionalID(",
		"180f1d95a4160cbf4340136648200ae742179c41202f88cb2507cc59092c1fcc",
		"PostCreation must still come after h.postings.Add: headGen counts a series once a computation can see it"},
	{"tsdb/head.go", "func (s *stripeSeries) postCreation(",
		"62425a223e065abde8e1697614e0efd835ec6e169e64eef6f7e471b7acd84924",
		"postCreation must still call PostCreation and nothing else"},
	{"tsdb/head.go", "func (h *Head) gc() (",
		"e13b6650e380fe63eb48a69fb2bdec6db0080026556e6db011df289b80fdc4f8",
		"the gc must still announce deletions (h.series.gc, through iterForDeletion) before h.postings.Delete: headGen keeps a deletion pending until the postings no longer hold it"},
	{"tsdb/head.go", "func (s *stripeSeries) gc(",
		"5f0b1a40cfed27214c9fcfcfa2d559f88744881dfddb1e91354e954ccd36852d",
		"the gc must still announce every series it deletes through iterForDeletion"},
	{"tsdb/head.go", "func (h *Head) gcSeries(",
		"168f3e40ac9455ea09b37b6722863190a330eb6fef7ca81b4e181de2e2f70551",
		"series truncation must still announce deletions (h.series.gcSeries, through iterForDeletion) before h.postings.Delete, as the gc does"},
	{"tsdb/head.go", "func (s *stripeSeries) gcSeries(",
		"f7bef7f48654547c3693443fe8b9a42baacc70ffab10f2f6ff749f1252bf641e",
		"series truncation must still announce every series it deletes through iterForDeletion"},
	{"tsdb/head.go", "func (h *Head) deleteSeriesByID(",
		"e6f26868ce7089b4b758da555026c0a8b03301979b74c00679e72e0407542b56",
		"WAL replay's deletion must still call PostDeletion with every deleted series, after or before h.postings.Delete"},
	{"tsdb/head.go", "func (s *stripeSeries) iterForDeletion(",
		"96d3affdfc73dce80d150bd62a7bb2a437a04ff69bfbf09382a893a55c7db293",
		"PostDeletion must still be called with every deleted series, one call per stripe"},
	{"tsdb/head.go", "func (h *Head) resetInMemoryState(",
		"3ed917d4a093243fe0b38e9b6be7cf5f0425195f35085b5af288831282db979f",
		"a reset must still announce all series deleted before it replaces the postings"},
	{"tsdb/index/postings.go", "func (p *MemPostings) Delete(",
		"01eddd7c29a02f3df032c9b0751222d448e4718655fe45f85e397ae7edff27e0",
		"the all-series postings must still lose the deleted series in one step, after the postings of their labels: headGen's prune reads the all-series list alone; and the lists of values must still be updated after it (lookup.fromPostings)"},
	{"tsdb/index/postings.go", "func (p *MemPostings) Add(",
		"94432afd748c313d1f25e4452172538328fb54776e9eff14e0615511a924efbf",
		"a series must still enter all its postings and the lists of values under one lock"},
	{"tsdb/index/postings.go", "func (p *MemPostings) LabelValues(",
		"2e936cd4ac9d49c0d14b36396ee8918a256cbea638170981175aada2e0bddf58",
		"the head's values must still be handed out as a copy the caller owns: headCache.sorted keeps it"},
}

// querierPins are tsdb.DB.Querier's choice of blocks and head, which
// labelQuerier.view mirrors.
var querierPins = []pin{
	{"tsdb/db.go", "func (db *DB) Querier(",
		"a47b9e8213436f2eeb4f5ae8cf9b61e8d2bcbdde814d2a016b7d34e5ec1af479",
		"labelQuerier.view must still choose the same blocks (OverlapsClosedInterval) and the same head (maxt >= MinTime, left out when IsQuerierCollidingWithTruncation says close and not reopen); out-of-order data must still be the only other way in"},
	{"tsdb/head.go", "func (h *Head) IsQuerierCollidingWithTruncation(",
		"0e2fd1f9c910e92da0ebeee38333c75c46f29b601916a3b4ed6c091f753f35be",
		"labelQuerier.view must still leave the head out exactly when the DB's querier closes its head querier and opens none"},
}

// TestUpstreamHeadHooksInSync fails when the upstream code headGen relies
// on changes (after a Prometheus upgrade): re-check what the failure
// says, then update the hash.
func TestUpstreamHeadHooksInSync(t *testing.T) { checkPins(t, headHookPins) }

// TestUpstreamQuerierInSync fails when tsdb.DB.Querier changes: re-check
// labelQuerier.view against it, then update the hash.
func TestUpstreamQuerierInSync(t *testing.T) { checkPins(t, querierPins) }

// An edited copy of pinned text fails the check.
func TestUpstreamPinCatchesAnEdit(t *testing.T) {
	p := headHookPins[0]
	text, err := upstreamFunc(prometheusDir(t), p.file, p.start)
	require.NoError(t, err)
	require.NoError(t, p.check(text))
	// PostCreation moved before the series enters the postings.
	edited := strings.Replace(text, "\th.postings.Add(storage.SeriesRef(id), lset)\n", "", 1)
	edited = strings.Replace(edited, "h.series.postCreation(lset)\n", "h.series.postCreation(lset)\n\th.postings.Add(storage.SeriesRef(id), lset)\n", 1)
	require.NotEqual(t, text, edited)
	require.ErrorContains(t, p.check(edited), "PostCreation must still come after")
}

func checkPins(t *testing.T, pins []pin) {
	dir := prometheusDir(t)
	for _, p := range pins {
		t.Run(p.start, func(t *testing.T) {
			text, err := upstreamFunc(dir, p.file, p.start)
			require.NoError(t, err)
			require.NoError(t, p.check(text))
		})
	}
}

func (p pin) check(text string) error {
	sum := sha256.Sum256([]byte(text))
	if got := hex.EncodeToString(sum[:]); got != p.sha256 {
		return fmt.Errorf("upstream's %s in %s changed (sha256 %s, pinned %s). Re-check: %s.\n%s", p.start, p.file, got, p.sha256, p.recheck, text)
	}
	return nil
}

// prometheusDir is the prometheus module's source in the module cache.
func prometheusDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/prometheus/prometheus").Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}

// upstreamFunc is the text of the top-level function starting with start,
// up to its closing brace.
func upstreamFunc(dir, file, start string) (string, error) {
	src, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return "", err
	}
	text := string(src)
	i := strings.Index(text, "\n"+start)
	if i < 0 {
		return "", fmt.Errorf("upstream's %s has no %q any more", file, start)
	}
	text = text[i+1:]
	end := strings.Index(text, "\n}\n")
	if end < 0 {
		return "", fmt.Errorf("no end of %q in upstream's %s", start, file)
	}
	return text[:end+len("\n}\n")], nil
}
