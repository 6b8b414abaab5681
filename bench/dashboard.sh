#!/usr/bin/env bash
# Times a Grafana dashboard against miniprom, Prometheus 3.16 and
# VictoriaMetrics holding the same samples, side by side, and prints ratios
# to Prometheus (bench/cmd/dashbench): panel queries on first load and on
# refresh (window slid by 30s, median of 7), instant queries, label names
# and values with and without match[]. miniprom's answers must equal
# Prometheus's (values to 9 significant digits), or the run fails.
#
#   bench/dashboard.sh                  # 24h of 10,000 series at 15s
#   SERIES=2000 HOURS=6 bench/dashboard.sh
#
# The samples are written by bench/cmd/rwgen through remote write, to all
# three at once. The reference is $MINIPROM_REF_PROMETHEUS, else
# ~/.cache/miniprom/ref-v0.316.0/prometheus, else /tmp/ref/prometheus;
# VictoriaMetrics is $MINIPROM_VICTORIAMETRICS, else the Debian package's
# /usr/bin/victoria-metrics (skipped if absent).
set -euo pipefail
cd "$(dirname "$0")/.."

SERIES=${SERIES:-10000}
HOURS=${HOURS:-24}
. bench/peers.sh

bench_setup
go build -o "$work/rwgen" ./bench/cmd/rwgen
go build -o "$work/dashbench" ./bench/cmd/dashbench
echo "global: {}" > "$work/prometheus.yml"

wait_ready() { # $1 URL
  until curl -sf --cacert "$ca" "$1" >/dev/null; do sleep 0.1; done
}

"$MINI" --config.file="$work/prometheus.yml" --web.config.file="$work/web.yml" \
  --web.listen-address=127.0.0.1:19190 --web.enable-remote-write-receiver \
  --storage.tsdb.retention.time=2d --log.level=warn 2>"$work/mini.log" &
pids+=($!)
"$REF" --config.file="$work/prometheus.yml" --web.config.file="$work/web.yml" \
  --web.listen-address=127.0.0.1:19191 --web.enable-remote-write-receiver \
  --storage.tsdb.path="$work/ref-data" --log.level=warn 2>"$work/ref.log" &
pids+=($!)
urls=(-url https://127.0.0.1:19190/api/v1/write -url https://127.0.0.1:19191/api/v1/write)
servers=(-server miniprom=https://127.0.0.1:19190 -server prometheus=https://127.0.0.1:19191)
wait_ready https://127.0.0.1:19190/-/ready
wait_ready https://127.0.0.1:19191/-/ready
if [ -x "$VM" ]; then
  "$VM" -httpListenAddr=127.0.0.1:19192 -storageDataPath="$work/vm-data" -retentionPeriod=2d \
    -tls -tlsCertFile="$cert" -tlsKeyFile="$key" -loggerLevel=WARN 2>"$work/vm.log" &
  pids+=($!)
  urls+=(-url https://127.0.0.1:19192/api/v1/write)
  servers+=(-server victoriametrics=https://127.0.0.1:19192)
  wait_ready https://127.0.0.1:19192/health
else
  echo "no VictoriaMetrics at $VM: comparing miniprom and Prometheus only" >&2
fi

echo "writing ${HOURS}h of $SERIES series at 15s to each server ..." >&2
end=$("$work/rwgen" -ca "$ca" -series "$SERIES" -duration "${HOURS}h" -interval 15s -id-label "${urls[@]}")

# Every server must have made every series searchable before timing.
count_query="/api/v1/query?query=count(%7Bjob%3D%22rwgen%22%7D)&time=$((end / 1000))"
for base in $(printf '%s\n' "${servers[@]}" | sed -n 's/.*=//p'); do
  until curl -sf --cacert "$ca" "$base$count_query" | grep -q "\"$SERIES\""; do sleep 0.5; done
done

"$work/dashbench" -ca "$ca" -end "$end" "${servers[@]}"
