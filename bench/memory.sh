#!/usr/bin/env bash
# What holding a day of samples costs: miniprom (in memory), Prometheus 3.16
# and VictoriaMetrics, the same samples in each, side by side in one run.
#
#   bench/memory.sh                  # 24h of 10,000 series at 15s (57.6M samples)
#   SERIES=2000 HOURS=6 bench/memory.sh
#
# Each server is filled alone through remote write 1.0 by bench/cmd/rwgen
# (time order, 10-minute blocks), so its ingest rate is its own. Then, for
# each: "held in memory" is RssAnon + RssFile from /proc/PID/status plus the
# bytes of its files on RAM-backed filesystems (miniprom's private directory
# on /dev/shm); RssShmem is left out because those pages are the same tmpfs
# files, already counted. Data a server keeps on a disk is reported apart
# and is not memory. Measured after the backfill and again after a query
# has read the whole day. count_over_time over the day must be equal in all
# three, or the run fails.
set -euo pipefail
cd "$(dirname "$0")/.."

SERIES=${SERIES:-10000}
HOURS=${HOURS:-24}
. bench/peers.sh
[ -d /dev/shm ] || { echo "no /dev/shm" >&2; exit 1; }

bench_setup
go build -o "$work/rwgen" ./bench/cmd/rwgen
echo "global: {}" > "$work/prometheus.yml"

disk() { [ -n "$1" ] && du -sm "$1" | cut -f1 || echo 0; }
count() { # BASE END: samples held over the day, summed over every series
  # count_over_time drops the metric name, so a sum over several names
  # would collide: count each name apart.
  local names total=0 n
  names=$(curl -sf --cacert "$ca" "$1/api/v1/label/__name__/values" |
    python3 -c 'import json,sys; print(" ".join(n for n in json.load(sys.stdin)["data"] if n.startswith("rwgen_")))')
  for name in $names; do
    n=$(curl -sf --cacert "$ca" "$1/api/v1/query" --data-urlencode "query=sum(count_over_time(${name}[${HOURS}h]))" \
      --data-urlencode "time=$(( $2 / 1000 ))" | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(int(float(r[0]["value"][1])) if r else 0)')
    total=$((total + n))
  done
  echo "$total"
}

# qms BASE END: milliseconds for one query reading a day of 1,000 series
# (rwgen_metric_001_total), the best of 3.
qms() {
  local best=999999 t
  for _ in 1 2 3; do
    t=$(curl -sf -o /dev/null -w '%{time_total}' --cacert "$ca" "$1/api/v1/query" \
      --data-urlencode "query=sum(rate(rwgen_metric_001_total[${HOURS}h]))" --data-urlencode "time=$(( $2 / 1000 ))")
    t=$(awk -v t="$t" 'BEGIN{printf "%d", t*1000}')
    [ "$t" -lt "$best" ] && best=$t
  done
  echo "$best"
}

declare -A base ready_ms ingest rate memdir diskdir
start_server() { # NAME PORT CMD...
  local name=$1 port=$2; shift 2
  local t0; t0=$(ms)
  "$@" 2>"$work/$name.log" &
  pids+=($!); eval "pid_$name=$!"
  base[$name]=https://127.0.0.1:$port
  local health=/-/ready; [ "$name" = victoriametrics ] && health=/health
  wait_ready "${base[$name]}$health" "$!"
  ready_ms[$name]=$(( $(ms) - t0 ))
}

start_server miniprom 29390 "$MINI" --config.file="$work/prometheus.yml" --web.config.file="$work/web.yml" \
  --web.listen-address=127.0.0.1:29390 --web.enable-remote-write-receiver --storage.tsdb.retention.time=2d \
  --storage.memory.dir="$shm" --log.level=warn
memdir[miniprom]=$shm diskdir[miniprom]=""
start_server prometheus 29391 "$REF" --config.file="$work/prometheus.yml" --web.config.file="$work/web.yml" \
  --web.listen-address=127.0.0.1:29391 --web.enable-remote-write-receiver \
  --storage.tsdb.path="$work/prom-data" --storage.tsdb.retention.time=2d --log.level=warn
memdir[prometheus]="" diskdir[prometheus]=$work/prom-data
names=(miniprom prometheus)
if [ -x "$VM" ]; then
  start_server victoriametrics 29392 "$VM" -httpListenAddr=127.0.0.1:29392 -storageDataPath="$work/vm-data" \
    -retentionPeriod=2d -tls -tlsCertFile="$cert" -tlsKeyFile="$key" -loggerLevel=WARN
  memdir[victoriametrics]="" diskdir[victoriametrics]=$work/vm-data
  names+=(victoriametrics)
else
  echo "no VictoriaMetrics at $VM: comparing miniprom and Prometheus only" >&2
fi

# Every server gets the same samples, ending at the same time, though
# each is written in turn.
end=$(( $(date +%s) * 1000 ))
samples=$(( SERIES * HOURS * 240 ))
for n in "${names[@]}"; do
  echo "writing ${HOURS}h of $SERIES series at 15s to $n ..." >&2
  t0=$(ms)
  end=$("$work/rwgen" -ca "$ca" -series "$SERIES" -duration "${HOURS}h" -interval 15s -end "$end" -url "${base[$n]}/api/v1/write")
  ingest[$n]=$(( $(ms) - t0 ))
  rate[$n]=$(( samples * 1000 / ingest[$n] ))
done
# VictoriaMetrics makes fresh samples searchable after a short delay.
for n in "${names[@]}"; do
  tries=0
  until [ "$(count "${base[$n]}" "$end")" = "$samples" ]; do
    tries=$((tries + 1)); [ $tries -lt 240 ] || { echo "$n never held $samples samples" >&2; exit 1; }
    sleep 0.5
  done
done

declare -A held_after held_queried qlat
for n in "${names[@]}"; do
  pid_var=pid_$n; held_after[$n]=$(held "${!pid_var}" "${memdir[$n]}")
done
for n in "${names[@]}"; do
  got=$(count "${base[$n]}" "$end")
  qlat[$n]=$(qms "${base[$n]}" "$end")
  [ "$got" = "$samples" ] || { echo "$n counted $got samples, want $samples" >&2; exit 1; }
  pid_var=pid_$n; held_queried[$n]=$(held "${!pid_var}" "${memdir[$n]}")
done

printf '\n%s series x %sh at 15s = %s samples, same in each (count_over_time equal)\n\n' "$SERIES" "$HOURS" "$samples"
printf '%-16s %10s %10s %9s %9s %12s %10s %9s\n' server held_MB queried_MB B/sample disk_MB ingest_s/s query_ms ready_ms
for n in "${names[@]}"; do
  printf '%-16s %10s %10s %9s %9s %12s %10s %9s\n' "$n" "${held_after[$n]}" "${held_queried[$n]}" \
    "$(awk -v m="${held_queried[$n]}" -v s="$samples" 'BEGIN{printf "%.2f", m*1048576/s}')" \
    "$(disk "${diskdir[$n]}")" "${rate[$n]}" "${qlat[$n]}" "${ready_ms[$n]}"
done
printf '\nratios miniprom / other (memory held after the query, lower is better; ingest, higher is better):\n'
for n in "${names[@]}"; do
  [ "$n" = miniprom ] && continue
  awk -v a="${held_queried[miniprom]}" -v b="${held_queried[$n]}" -v ra="${rate[miniprom]}" -v rb="${rate[$n]}" -v n="$n" \
    'BEGIN{printf "  vs %-16s memory %.2fx   ingest %.2fx\n", n, a/b, ra/rb}'
done
