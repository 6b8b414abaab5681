#!/usr/bin/env bash
# What --storage.memory.snapshot-dir costs for a day of samples: the time
# from SIGTERM to exit (the snapshot written at shutdown, to a directory on
# a disk), its bytes on disk, and the time of the next start, which loads
# it. The same queries must answer the same before and after, or the run
# fails.
#
#   bench/snapshot.sh                  # 24h of 10,000 series at 15s (57.6M samples)
#   SERIES=2000 HOURS=6 bench/snapshot.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SERIES=${SERIES:-10000}
HOURS=${HOURS:-24}
# No Prometheus runs here: peers.sh only lends its set-up.
MINIPROM_REF_PROMETHEUS=${MINIPROM_REF_PROMETHEUS:-/bin/true}
. bench/peers.sh
[ -d /dev/shm ] || { echo "no /dev/shm" >&2; exit 1; }

bench_setup
go build -o "$work/rwgen" ./bench/cmd/rwgen
echo "global: {}" > "$work/prometheus.yml"
snap=$work/snapshot # $work is on a disk
base=https://127.0.0.1:29393
ms() { date +%s%3N; }

start() { # LOG: start miniprom on the snapshot directory; sets pid, ready_ms
  local t0; t0=$(ms)
  "$MINI" --config.file="$work/prometheus.yml" --web.config.file="$work/web.yml" \
    --web.listen-address=127.0.0.1:29393 --web.enable-remote-write-receiver --storage.tsdb.retention.time=2d \
    --storage.memory.dir="$shm" --storage.memory.snapshot-dir="$snap" 2>"$work/$1.log" &
  pid=$!; pids+=("$pid")
  until curl -sf --cacert "$ca" "$base/-/ready" >/dev/null; do
    kill -0 "$pid" 2>/dev/null || { echo "miniprom died at start:" >&2; tail -5 "$work/$1.log" >&2; exit 1; }
    sleep 0.05
  done
  ready_ms=$(( $(ms) - t0 ))
}
stop() { # sets stop_ms: SIGTERM to exit
  local t0; t0=$(ms)
  kill -TERM "$pid"
  wait "$pid" || { echo "miniprom exited $? at shutdown:" >&2; tail -5 "$work"/*.log >&2; exit 1; }
  stop_ms=$(( $(ms) - t0 ))
}
answer() { # END: a day of one metric counted, and the series held
  for q in "sum(count_over_time(rwgen_metric_001_total[${HOURS}h]))" 'count({__name__=~"rwgen_.+"})'; do
    curl -sf --cacert "$ca" "$base/api/v1/query" --data-urlencode "query=$q" --data-urlencode "time=$(( $1 / 1000 ))" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["result"][0]["value"][1])'
  done | paste -sd' '
}
logged() { # LOG MSG KEY: a key of a log line
  grep "msg=\"$2\"" "$work/$1.log" | tail -1 | sed -n "s/.* $3=\([^ ]*\).*/\1/p"
}

start first
echo "writing ${HOURS}h of $SERIES series at 15s ..." >&2
end=$("$work/rwgen" -ca "$ca" -series "$SERIES" -duration "${HOURS}h" -interval 15s -url "$base/api/v1/write")
before=$(answer "$end")
stop
first_stop=$stop_ms
bytes=$(du -sb "$snap/current" | cut -f1)
start second
second_ready=$ready_ms
after=$(answer "$end")
[ "$before" = "$after" ] || { echo "answers differ after the restart: $before / $after" >&2; exit 1; }
stop

samples=$(( SERIES * HOURS * 240 ))
printf '\n%s series x %sh at 15s = %s samples; answers equal after the restart (%s)\n\n' "$SERIES" "$HOURS" "$samples" "$after"
printf 'shutdown with snapshot (SIGTERM to exit)   %6d ms  (snapshot %s)\n' "$first_stop" "$(logged first 'Snapshot written' duration)"
printf 'snapshot on disk                           %6d MB  (%.2f bytes/sample)\n' $(( bytes / 1048576 )) "$(awk -v b="$bytes" -v s="$samples" 'BEGIN{print b/s}')"
printf 'start with the snapshot (to /-/ready)      %6d ms  (load %s)\n' "$second_ready" "$(logged second 'Snapshot loaded' duration)"
printf 'second shutdown (all in blocks)            %6d ms  (snapshot %s)\n' "$stop_ms" "$(logged second 'Snapshot written' duration)"
