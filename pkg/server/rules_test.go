package server_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// recordingRules and alertingRules live in two files picked up by one glob.
const recordingRules = `
groups:
  - name: recording
    interval: 1s
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
`

const alertingRules = `
groups:
  - name: alerting
    interval: 1s
    rules:
      - alert: MinipromUp
        expr: up{job="miniprom"} == 1
        for: 2s
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.instance }} is up"
`

const rulesConfig = selfScrapeConfig + "rule_files: [rules-*.yml]\n"

func startWithRules(t *testing.T) *testServer {
	t.Helper()
	return startServer(t, serverConfig{
		prometheusYML: rulesConfig,
		options:       lifecycleOn,
		files:         map[string]string{"rules-recording.yml": recordingRules, "rules-alerting.yml": alertingRules},
	})
}

// rulesAPI mirrors /api/v1/rules as Prometheus 3.16 renders it.
type rulesAPI struct {
	Groups []struct {
		Name           string  `json:"name"`
		File           string  `json:"file"`
		Interval       float64 `json:"interval"`
		LastEvaluation string  `json:"lastEvaluation"`
		Rules          []struct {
			Type           string            `json:"type"`
			Name           string            `json:"name"`
			Query          string            `json:"query"`
			Health         string            `json:"health"`
			State          string            `json:"state"`
			Duration       float64           `json:"duration"`
			Labels         map[string]string `json:"labels"`
			LastEvaluation string            `json:"lastEvaluation"`
			Alerts         []struct {
				State       string            `json:"state"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"alerts"`
		} `json:"rules"`
	} `json:"groups"`
}

func TestRulesEvaluate(t *testing.T) {
	ts := startWithRules(t)
	ts.waitForSelfScrape()
	instance := ts.Addr().String()

	ts.eventually(func() bool { return len(ts.queryVector("job:up:sum")) == 1 }, "recording rule never wrote job:up:sum")
	rec := ts.queryVector("job:up:sum")[0]
	require.Equal(t, map[string]string{"__name__": "job:up:sum", "job": "miniprom"}, rec.Metric)
	require.Equal(t, "1", rec.Value[1])

	// The alert goes pending, then fires after its 2s "for".
	ts.eventually(func() bool {
		return len(ts.queryVector(`ALERTS{alertname="MinipromUp",alertstate="firing"}`)) == 1
	}, "MinipromUp never fired")
	alerts := ts.queryVector(`ALERTS{alertname="MinipromUp"}`)
	require.Equal(t, map[string]string{
		"__name__": "ALERTS", "alertname": "MinipromUp", "alertstate": "firing",
		"instance": instance, "job": "miniprom", "severity": "page",
	}, alerts[len(alerts)-1].Metric)
	forState := ts.queryVector(`ALERTS_FOR_STATE{alertname="MinipromUp"}`)
	require.Len(t, forState, 1)
	require.Equal(t, map[string]string{
		"__name__": "ALERTS_FOR_STATE", "alertname": "MinipromUp",
		"instance": instance, "job": "miniprom", "severity": "page",
	}, forState[0].Metric)

	t.Run("api/v1/rules", func(t *testing.T) {
		got := ts.rules("")
		require.Len(t, got.Groups, 2)
		byName := map[string]int{}
		for i, g := range got.Groups {
			byName[g.Name] = i
			require.Equal(t, 1.0, g.Interval, g.Name)
			require.NotEmpty(t, g.LastEvaluation, g.Name)
		}
		alerting := got.Groups[byName["alerting"]]
		require.Equal(t, filepath.Join(ts.Dir, "rules-alerting.yml"), alerting.File)
		require.Len(t, alerting.Rules, 1)
		ar := alerting.Rules[0]
		require.Equal(t, "alerting", ar.Type)
		require.Equal(t, "MinipromUp", ar.Name)
		require.Equal(t, `up{job="miniprom"} == 1`, ar.Query)
		require.Equal(t, "ok", ar.Health)
		require.Equal(t, "firing", ar.State)
		require.Equal(t, 2.0, ar.Duration)
		require.Len(t, ar.Alerts, 1)
		require.Equal(t, instance+" is up", ar.Alerts[0].Annotations["summary"])

		rr := got.Groups[byName["recording"]].Rules[0]
		require.Equal(t, "recording", rr.Type)
		require.Equal(t, "job:up:sum", rr.Name)
		require.Equal(t, "ok", rr.Health)

		// Filters as in Prometheus: by type and by rule name.
		only := ts.rules("?type=record")
		require.Len(t, only.Groups, 1)
		require.Equal(t, "recording", only.Groups[0].Name)
		only = ts.rules("?rule_name[]=MinipromUp")
		require.Len(t, only.Groups, 1)
		require.Equal(t, "MinipromUp", only.Groups[0].Rules[0].Name)
		code, r := ts.api("/api/v1/rules?type=bogus")
		require.Equal(t, http.StatusBadRequest, code)
		require.Equal(t, "bad_data", r.ErrorType)
	})

	t.Run("api/v1/alerts", func(t *testing.T) {
		code, r := ts.api("/api/v1/alerts")
		require.Equal(t, http.StatusOK, code)
		var data struct {
			Alerts []struct {
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
				State       string            `json:"state"`
				ActiveAt    time.Time         `json:"activeAt"`
				Value       string            `json:"value"`
			} `json:"alerts"`
		}
		require.NoError(t, json.Unmarshal(r.Data, &data))
		require.Len(t, data.Alerts, 1)
		a := data.Alerts[0]
		require.Equal(t, "firing", a.State)
		require.Equal(t, "MinipromUp", a.Labels["alertname"])
		require.Equal(t, "page", a.Labels["severity"])
		require.Equal(t, instance+" is up", a.Annotations["summary"])
		require.Equal(t, "1e+00", a.Value)
		require.WithinDuration(t, time.Now(), a.ActiveAt, time.Minute)
	})
}

func TestBadRuleFileKeepsOldRules(t *testing.T) {
	ts := startWithRules(t)
	ts.eventually(func() bool { return len(ts.queryVector("job:up:sum")) == 1 }, "recording rule never ran")

	writeFile(t, ts.Dir, "rules-recording.yml", "groups:\n  - name: recording\n    rules:\n      - record: broken\n        expr: sum(\n")
	code, body := ts.post("/-/reload")
	require.Equal(t, http.StatusInternalServerError, code)
	require.Contains(t, body, "recording.yml")
	require.Equal(t, 0.0, ts.metricValue("prometheus_config_last_reload_successful", nil))

	// Both old groups stay, and the old recording rule keeps evaluating.
	got := ts.rules("")
	require.Len(t, got.Groups, 2)
	before := got.Groups[0].LastEvaluation
	ts.eventually(func() bool { return ts.rules("").Groups[0].LastEvaluation != before }, "old rules stopped evaluating")
	for _, g := range ts.rules("").Groups {
		for _, r := range g.Rules {
			require.NotEqual(t, "broken", r.Name)
		}
	}

	// A fixed file reloads, and the new rule replaces the old one.
	writeFile(t, ts.Dir, "rules-recording.yml", `
groups:
  - name: recording
    interval: 1s
    rules:
      - record: job:up:count
        expr: count by (job) (up)
`)
	code, body = ts.post("/-/reload")
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, 1.0, ts.metricValue("prometheus_config_last_reload_successful", nil))
	ts.eventually(func() bool { return len(ts.queryVector("job:up:count")) == 1 }, "new recording rule never ran")
}
