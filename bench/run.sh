#!/usr/bin/env bash
# Benchmarks miniprom against a reference Prometheus, side by side, on the
# same machine and the same self-scrape workload, and prints ratios.
#
#   bench/run.sh                 # 10 minutes of self-scraping each (in parallel)
#   DURATION=60 bench/run.sh     # shorter
#
# The reference is $MINIPROM_REF_PROMETHEUS, else the one .ci/run builds in
# ~/.cache/miniprom/ref-v0.316.0, else /tmp/ref/prometheus (build it with:
# GOBIN=/tmp/ref go install github.com/prometheus/prometheus/cmd/prometheus@v0.316.0).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-600}
INTERVAL=${INTERVAL:-5s}
REF=${MINIPROM_REF_PROMETHEUS:-$HOME/.cache/miniprom/ref-v0.316.0/prometheus}
[ -x "$REF" ] || REF=/tmp/ref/prometheus
MINI=${MINIPROM_BIN:-bin/miniprom}
[ -x "$MINI" ] || make build >/dev/null
[ -x "$REF" ] || { echo "no reference Prometheus at $REF" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
go run ./cmd/devcert -dir "$work/certs" -hosts 127.0.0.1,localhost >/dev/null

# Both serve TLS with the same certificate and scrape themselves over HTTPS.
cat > "$work/web.yml" <<YML
tls_server_config:
  cert_file: $work/certs/server.crt
  key_file: $work/certs/server.key
YML
config() { # $1 port
  cat <<YML
global:
  scrape_interval: $INTERVAL
scrape_configs:
  - job_name: self
    scheme: https
    tls_config: {ca_file: $work/certs/ca.crt}
    static_configs: [{targets: ["127.0.0.1:$1"]}]
YML
}
config 19090 > "$work/mini.yml"
config 19091 > "$work/ref.yml"

now_ms() { date +%s%3N; }
wait_ready() { # $1 port $2 start ms $3 pid -> prints ms to ready; gives up if the server died
  local start=$2 n=0
  until curl -sf --cacert "$work/certs/ca.crt" "https://127.0.0.1:$1/-/ready" >/dev/null; do
    kill -0 "$3" 2>/dev/null || { echo "server on port $1 died at start:" >&2; tail -5 "$work"/*.log >&2; exit 1; }
    n=$((n + 1)); [ $n -lt 6000 ] || { echo "server on port $1 never ready" >&2; exit 1; }
    sleep 0.01
  done
  echo $(( $(now_ms) - start ))
}
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

t0=$(now_ms)
"$MINI" --config.file="$work/mini.yml" --web.config.file="$work/web.yml" \
  --web.listen-address=127.0.0.1:19090 --log.level=warn 2>"$work/mini.log" &
mini_pid=$!; pids+=("$mini_pid")
mini_ready=$(wait_ready 19090 "$t0" "$mini_pid")

t0=$(now_ms)
"$REF" --config.file="$work/ref.yml" --web.config.file="$work/web.yml" \
  --web.listen-address=127.0.0.1:19091 --storage.tsdb.path="$work/ref-data" --log.level=warn 2>"$work/ref.log" &
ref_pid=$!; pids+=("$ref_pid")
ref_ready=$(wait_ready 19091 "$t0" "$ref_pid")

sleep 5
mini_idle=$(rss_kb "$mini_pid"); ref_idle=$(rss_kb "$ref_pid")

echo "scraping for ${DURATION}s ..." >&2
sleep "$DURATION"
mini_rss=$(rss_kb "$mini_pid"); ref_rss=$(rss_kb "$ref_pid")

qps() { # $1 port $2 query path
  wrk -t2 -c8 -d10s "https://127.0.0.1:$1$2" 2>/dev/null | awk '/Requests\/sec/ {print $2}'
}
q='/api/v1/query?query=sum(rate(prometheus_http_requests_total%5B1m%5D))'
mini_qps=$(qps 19090 "$q"); ref_qps=$(qps 19091 "$q")
mini_series=$(curl -s --cacert "$work/certs/ca.crt" "https://127.0.0.1:19090/api/v1/query?query=prometheus_tsdb_head_series" | sed -E 's/.*,"([0-9]+)"\].*/\1/')
ref_series=$(curl -s --cacert "$work/certs/ca.crt" "https://127.0.0.1:19091/api/v1/query?query=prometheus_tsdb_head_series" | sed -E 's/.*,"([0-9]+)"\].*/\1/')

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f", a / b }'; }
printf '%-34s %14s %14s %8s\n' "metric" "miniprom" "prometheus" "ratio"
row() { printf '%-34s %14s %14s %8s\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"; }
row "start to /-/ready (ms)" "$mini_ready" "$ref_ready"
row "RSS idle (KiB)" "$mini_idle" "$ref_idle"
row "RSS after ${DURATION}s scraping (KiB)" "$mini_rss" "$ref_rss"
row "head series" "$mini_series" "$ref_series"
row "query req/s (wrk, 8 conns)" "$mini_qps" "$ref_qps"
row "binary size (bytes)" "$(stat -c %s "$MINI")" "$(stat -c %s "$REF")"
