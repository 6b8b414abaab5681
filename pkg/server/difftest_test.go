package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/server"
)

// dtSeedEnv replays a run of TestDifferentialDashboards: the test logs the
// seed it used.
const dtSeedEnv = "MINIPROM_DIFFTEST_SEED"

const (
	dtHistory = 4 * time.Hour // the data written before the first refresh
	dtRefresh = 30 * time.Second
	dtRounds  = 8
	dtHosts   = 9
)

// TestDifferentialDashboards asks random dashboard panels, each a range
// query refreshed with its window slid forward, of miniprom (results cache
// on, as by default) and of a real Prometheus 3.16. Between refreshes both
// get the same remote-written samples: new steps, new series backfilled
// behind the newest sample (created out of label order), stale markers and
// admin deletes. Every answer must be the same after decoding: status,
// series, values as the strings they are sent as, warnings and infos.
func TestDifferentialDashboards(t *testing.T) {
	ref := os.Getenv(refPrometheusEnv)
	if ref == "" {
		t.Skipf("set %s to a Prometheus 3.16 binary (.ci/run builds one)", refPrometheusEnv)
	}
	seed := rand.Uint64()
	if s := os.Getenv(dtSeedEnv); s != "" {
		var err error
		seed, err = strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "%s", dtSeedEnv)
	}
	t.Logf("seed %d (%s=%d replays this run)", seed, dtSeedEnv, seed)

	mini := startServer(t, serverConfig{prometheusYML: "global: {}\n", webConfigYML: "-", options: func(o *server.Options) {
		o.EnableRemoteWriteReceiver = true
		o.EnableAdminAPI = true
	}})
	prom := startReferencePrometheus(t, ref, "global: {}\n", "--web.enable-remote-write-receiver", "--web.enable-admin-api")
	d := &dtRun{t: t, w: newDTWorld(seed), bases: []string{prom, mini.Base}, client: &http.Client{Timeout: time.Minute}}

	// The newest sample stays near now, where the heads accept samples,
	// and the head keeps its first block boundary through every round (see
	// dtNewest), so both servers hold the same blocks whenever they answer.
	require.Less(t, dtHeadSpan+dtRounds*dtRefresh, 3*time.Hour, "the rounds would make the head compactable")
	began := time.Now()
	newest, headMin := dtNewest(time.Now())
	d.writeHistory(newest.Add(-dtHistory), newest)
	d.waitForHeadMin(headMin)
	t.Logf("history written in %s", time.Since(began))

	at := newest.Add(-90 * time.Minute)
	var panels []*dtPanel
	for _, tpl := range slices.Concat(dtTemplates, dtTemplates) {
		panels = append(panels, newDTPanel(d.w.rng, tpl, newest, at, dtRefresh))
		t.Logf("panel %s: %s, sliding by %s", tpl.name, panels[len(panels)-1], panels[len(panels)-1].slide)
	}
	for round := 0; round <= dtRounds; round++ {
		if round > 0 {
			d.change(round)
			for _, p := range panels {
				p.start, p.end = p.start.Add(p.slide), p.end.Add(p.slide)
			}
		}
		for _, p := range panels {
			d.compare(round, p)
		}
	}
	d.waitForHeadMin(headMin) // no compaction moved the blocks meanwhile

	hits := mini.metricValue("miniprom_query_cache_steps_total", map[string]string{"result": "hit"})
	t.Logf("%d range queries compared, %d differ; %d hosts (%d backfilled); miniprom took %.0f steps from its results cache",
		d.compared, d.differ, len(d.w.hosts), len(d.w.hosts)-dtHosts, hits)
	require.Positive(t, hits, "no answer came from the results cache: the test did not test it")
}

// dtHeadSpan is how far the newest sample of the history is from the head's
// first block boundary. With the rounds' samples too it stays under 3h, past
// which the TSDB compacts it, so no compaction reaches the two servers at
// different moments in the middle of a round.
const dtHeadSpan = 2*time.Hour + 40*time.Minute

// dtNewest returns where the history ends, near now, and where the head
// starts once both servers have compacted it: the first 2h block boundary
// at most 3h before the newest sample (tsdb's Head.compactable). Both are
// the same distance from a block boundary in every run, so a seed replays
// a run whatever the time of day.
func dtNewest(now time.Time) (newest, headMin time.Time) {
	headMin = now.Add(-10*time.Minute - dtHeadSpan).Truncate(2 * time.Hour)
	return headMin.Add(dtHeadSpan), headMin
}

// dtRun is one run of the differential test: the data and the servers, the
// reference first.
type dtRun struct {
	t      *testing.T
	w      *dtWorld
	bases  []string
	client *http.Client

	compared, differ int
}

// writeHistory writes every host's samples in [from, to], a request per
// 20 minutes in time order, so the heads accept them all.
func (d *dtRun) writeHistory(from, to time.Time) {
	d.w.origin = from
	for i := range dtHosts {
		d.w.addHost(fmt.Sprintf("host-%d", i+1), dtZones[i%len(dtZones)])
	}
	for begin := from; !begin.After(to); begin = begin.Add(20 * time.Minute) {
		var b dtBatch
		for at := begin; at.Before(begin.Add(20*time.Minute)) && !at.After(to); at = at.Add(dtInterval) {
			for _, h := range d.w.liveHosts() {
				b.add(at, d.w.scrape(h, at))
			}
		}
		d.write(&b)
	}
	d.w.newest = to
}

// change is what happens between two refreshes: sometimes a backfilled
// host, a stale host or an admin delete (always a backfill in the first
// round, so every run has series out of label order), then new steps.
func (d *dtRun) change(round int) {
	w := d.w
	next := w.newest.Add(dtInterval)
	var b dtBatch
	what := w.rng.IntN(8)
	if round == 1 {
		what = 0
	}
	if len(w.liveHosts()) <= 5 && (what == 2 || what == 3) {
		what = 7 // keep enough hosts
	}
	switch what {
	case 0, 1: // a host backfilled from a while before the newest sample
		zone := dtZone(w.rng)
		h := w.addHost(w.backfillName(zone), zone)
		back := time.Duration(3+w.rng.IntN(48)) * time.Minute
		for at := w.newest.Add(-back); !at.After(w.newest); at = at.Add(dtInterval) {
			b.add(at, w.scrape(h, at))
		}
		d.t.Logf("round %d: %s in zone %s backfilled from %s before the newest sample", round, h.name, h.zone, back)
	case 2: // a host goes away
		h := pick(w.rng, w.liveHosts()...)
		b.add(next, w.staleMarkers(h, next))
		d.t.Logf("round %d: %s stale at %d", round, h.name, next.Unix())
	case 3: // a host is deleted
		h := pick(w.rng, w.liveHosts()...)
		h.gone = true
		d.deleteSeries(round, url.Values{"match[]": {fmt.Sprintf(`{host=%q}`, h.name)}})
	case 4: // a zone's samples in ten minutes are deleted
		from := w.newest.Add(-time.Duration(15+w.rng.IntN(4*60+15)) * time.Minute)
		d.deleteSeries(round, url.Values{
			"match[]": {fmt.Sprintf(`{zone=%q}`, dtZone(w.rng))},
			"start":   {fmt.Sprint(from.Unix())},
			"end":     {fmt.Sprint(from.Add(10 * time.Minute).Unix())},
		})
	default: // only new steps
	}
	for at := next; at.Before(next.Add(dtRefresh)); at = at.Add(dtInterval) {
		for _, h := range w.liveHosts() {
			b.add(at, w.scrape(h, at))
		}
		w.newest = at
	}
	d.write(&b)
}

// write sends b to every server.
func (d *dtRun) write(b *dtBatch) {
	d.t.Helper()
	body, err := b.body()
	require.NoError(d.t, err)
	for _, base := range d.bases {
		req, err := http.NewRequest(http.MethodPost, base+"/api/v1/write", bytes.NewReader(body))
		require.NoError(d.t, err)
		req.Header.Set("Content-Type", rw1ContentType)
		req.Header.Set("Content-Encoding", "snappy")
		req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
		code, msg := d.do(req)
		require.Equal(d.t, http.StatusNoContent, code, "remote write of %d samples to %s: %s", b.samples(), base, msg)
	}
}

func (d *dtRun) deleteSeries(round int, v url.Values) {
	d.t.Helper()
	d.t.Logf("round %d: admin delete %s", round, v.Encode())
	for _, base := range d.bases {
		req, err := http.NewRequest(http.MethodPost, base+"/api/v1/admin/tsdb/delete_series?"+v.Encode(), nil)
		require.NoError(d.t, err)
		code, msg := d.do(req)
		require.Equal(d.t, http.StatusNoContent, code, "delete on %s: %s", base, msg)
	}
}

func (d *dtRun) do(req *http.Request) (int, []byte) {
	d.t.Helper()
	resp, err := d.client.Do(req)
	require.NoError(d.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(d.t, err)
	return resp.StatusCode, body
}

// waitForHeadMin waits until every server's head starts at min: both have
// compacted the same blocks.
func (d *dtRun) waitForHeadMin(min time.Time) {
	d.t.Helper()
	for _, base := range d.bases {
		require.EventuallyWithT(d.t, func(c *assert.CollectT) {
			resp, err := d.client.Get(base + "/api/v1/status/tsdb")
			if !assert.NoError(c, err) {
				return
			}
			defer resp.Body.Close()
			var r struct {
				Data struct {
					HeadStats struct {
						MinTime int64 `json:"minTime"`
					} `json:"headStats"`
				} `json:"data"`
			}
			if assert.NoError(c, json.NewDecoder(resp.Body).Decode(&r)) {
				assert.Equal(c, min.UnixMilli(), r.Data.HeadStats.MinTime, "where the head of %s starts", base)
			}
		}, 60*time.Second, 50*time.Millisecond)
	}
}

// compare asks every server the panel's query and reports each answer that
// differs from the reference's.
func (d *dtRun) compare(round int, p *dtPanel) {
	d.t.Helper()
	v := url.Values{"query": {p.expr}, "start": {fmt.Sprint(p.start.Unix())}, "end": {fmt.Sprint(p.end.Unix())},
		"step": {fmt.Sprint(p.step.Seconds())}}
	var answers []dtAnswer
	for _, base := range d.bases {
		req, err := http.NewRequest(http.MethodGet, base+"/api/v1/query_range?"+v.Encode(), nil)
		require.NoError(d.t, err)
		code, body := d.do(req)
		answers = append(answers, decodeDTAnswer(d.t, code, body))
	}
	d.compared++
	want, got := answers[0], answers[1]
	if reflect.DeepEqual(want, got) {
		return
	}
	d.differ++
	d.t.Errorf("round %d, panel %s: %s\n%s", round, p.template, p, dtDiff(want, got))
}

// dtAnswer is a query_range answer decoded with its numbers kept as sent.
type dtAnswer struct {
	Code      int
	Status    string   `json:"status"`
	ErrorType string   `json:"errorType"`
	Error     string   `json:"error"`
	Data      dtData   `json:"data"`
	Warnings  []string `json:"warnings"`
	Infos     []string `json:"infos"`
}

type dtData struct {
	ResultType string     `json:"resultType"`
	Result     []dtSeries `json:"result"`
}

type dtSeries struct {
	Metric     map[string]string `json:"metric"`
	Values     [][2]any          `json:"values"`
	Histograms [][2]any          `json:"histograms"`
}

func decodeDTAnswer(t *testing.T, code int, body []byte) dtAnswer {
	t.Helper()
	a := dtAnswer{Code: code}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&a), "%s", body)
	// Upstream lists annotations from a map: their order is random.
	slices.Sort(a.Warnings)
	slices.Sort(a.Infos)
	return a
}

// dtDiff says where two answers differ: the first few differing points, or
// what else differs.
func dtDiff(want, got dtAnswer) string {
	if want.Code != got.Code || want.Status != got.Status || want.Error != got.Error {
		return fmt.Sprintf("Prometheus: %d %s %s\nminiprom:   %d %s %s", want.Code, want.Status, want.Error, got.Code, got.Status, got.Error)
	}
	var b strings.Builder
	if !reflect.DeepEqual(want.Warnings, got.Warnings) || !reflect.DeepEqual(want.Infos, got.Infos) {
		fmt.Fprintf(&b, "annotations:\n  Prometheus: warnings %q infos %q\n  miniprom:   warnings %q infos %q\n", want.Warnings, want.Infos, got.Warnings, got.Infos)
	}
	if len(want.Data.Result) != len(got.Data.Result) {
		fmt.Fprintf(&b, "%d series from Prometheus, %d from miniprom\n", len(want.Data.Result), len(got.Data.Result))
	}
	shown, differ := 0, 0
	for i := range min(len(want.Data.Result), len(got.Data.Result)) {
		ws, gs := want.Data.Result[i], got.Data.Result[i]
		if !reflect.DeepEqual(ws.Metric, gs.Metric) {
			fmt.Fprintf(&b, "series %d: Prometheus %v, miniprom %v\n", i, ws.Metric, gs.Metric)
			break
		}
		if len(ws.Values) != len(gs.Values) || len(ws.Histograms) != len(gs.Histograms) {
			fmt.Fprintf(&b, "%v: %d points from Prometheus, %d from miniprom\n", ws.Metric, len(ws.Values), len(gs.Values))
		}
		for j := range min(len(ws.Values), len(gs.Values)) {
			if ws.Values[j] == gs.Values[j] {
				continue
			}
			differ++
			if shown < 5 {
				shown++
				fmt.Fprintf(&b, "%v: Prometheus %v, miniprom %v\n", ws.Metric, ws.Values[j], gs.Values[j])
			}
		}
	}
	if !reflect.DeepEqual(want.Data.Result, got.Data.Result) {
		fmt.Fprintf(&b, "points that differ: %d\n", differ)
	}
	return b.String()
}
